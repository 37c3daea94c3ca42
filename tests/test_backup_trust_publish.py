"""Issue 31, item 4: publishing is one commit point; a failed run leaves nothing of its backup,
and files without a manifest are orphans that list and verify show alike and prune removes."""

from __future__ import annotations

import contextlib
import os
import subprocess
from collections.abc import Iterator
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest

from rediscope.core.localserver import LocalServer
from rediscope.exitcodes import ExitStatus
from tests.conftest import assert_valid_json_output, invoke


def _json(*args: str) -> tuple[int, dict[str, Any]]:
    res = invoke(*args, "--format", "json")
    return res.exit_code, res.json()


def _leftovers(dest: Path) -> list[str]:
    """Everything in DEST but the lock file."""
    return sorted(p.name for p in dest.iterdir() if p.name != ".rediscope.lock")


def test_a_failure_after_the_first_rename_leaves_nothing_of_the_backup(
    plain: LocalServer, tmp_path: Path
) -> None:
    """Something in the way of the .sha256 (a directory of that name) fails the run after the
    data file was renamed into place: the data file must go again."""
    plain.client().mset({f"k{i}": i for i in range(500)})
    now = datetime.now(timezone.utc)
    blockers = []
    for s in range(-2, 180):  # every name the run can take in the next three minutes
        stamp = now + timedelta(seconds=s)
        blocker = tmp_path / f"w-{stamp:%Y%m%dT%H%M%SZ}.rdb.gz.sha256"
        blocker.mkdir()
        blockers.append(blocker.name)
    res = invoke("backup", "run", str(tmp_path), "-p", str(plain.port), "--name", "w")
    assert res.exit_code == ExitStatus.ERROR
    assert "in the way" in res.stderr and res.stderr.count("\n") == 1, res.stderr
    assert _leftovers(tmp_path) == sorted(blockers)  # no .rdb.gz, no manifest, no temp file
    code, listing = _json("backup", "list", str(tmp_path))
    assert code == 0 and listing["backups"] == [] and listing["orphans"] == []


@contextlib.contextmanager
def _tmpfs(path: Path, size: str) -> Iterator[Path]:
    path.mkdir()
    out = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", f"size={size},mode=0700", "tmpfs", str(path)],
        capture_output=True,
        text=True,
        check=False,
    )
    if out.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {out.stderr.strip()}")
    try:
        yield path
    finally:
        subprocess.run(["umount", "-l", str(path)], check=False)


def test_disk_full_at_any_step_of_publishing_leaves_nothing_half_written(
    plain: LocalServer, tmp_path: Path
) -> None:
    """A 64 KiB tmpfs and data files from well inside to just past it: every run either keeps
    a whole backup (listed, verified) or nothing (no data file, sidecar, manifest, temp)."""
    c = plain.client()
    outcomes = set()
    with _tmpfs(tmp_path / "small", "64k") as dest:
        for size in range(40_000, 66_000, 1_500):
            c.flushall()
            c.set("big", os.urandom(size))  # incompressible
            res = invoke("backup", "run", str(dest), "-p", str(plain.port), "--name", "t")
            _, listing = _json("backup", "list", str(dest))
            assert listing["orphans"] == [], (size, listing["orphans"])
            if res.exit_code == 0:
                assert [b["state"] for b in listing["backups"]] == ["ok"]
                assert invoke("backup", "verify", str(dest)).exit_code == 0
                outcomes.add("kept")
            else:
                assert "disk full" in res.stderr and res.stderr.count("\n") == 1, res.stderr
                assert _leftovers(dest) == [], (size, _leftovers(dest))
                outcomes.add("failed")
            for p in dest.iterdir():
                if p.name != ".rediscope.lock":
                    p.unlink()
    assert outcomes == {"kept", "failed"}


def test_orphans_are_the_same_set_in_list_and_verify_and_prune_removes_them(
    plain: LocalServer, tmp_path: Path
) -> None:
    plain.client().mset({f"k{i}": i for i in range(100)})
    for _ in range(3):
        assert invoke("backup", "run", str(tmp_path), "-p", str(plain.port)).exit_code == 0
    code, listing = _json("backup", "list", str(tmp_path))
    gone, corrupt, intact = listing["backups"]
    (tmp_path / f"{gone['base']}.manifest.json").unlink()  # as an older version left it
    (tmp_path / f"{corrupt['base']}.manifest.json").write_text("{not json")
    res = invoke("backup", "list", str(tmp_path), "--format", "json")
    listing = assert_valid_json_output(res, "backup list")
    assert [b["base"] for b in listing["backups"]] == [intact["base"]]
    orphans = {o["file"]: (o["reason"], o["removable"]) for o in listing["orphans"]}
    data = gone["files"][0]
    assert orphans == {
        data: ("no manifest", True),
        f"{data}.sha256": ("no manifest", True),
        f"{corrupt['base']}.manifest.json": ("unreadable manifest", False),
        corrupt["files"][0]: (f"its manifest {corrupt['base']}.manifest.json is unreadable", False),
        f"{corrupt['files'][0]}.sha256": (
            f"its manifest {corrupt['base']}.manifest.json is unreadable",
            False,
        ),
    }
    table = invoke("backup", "list", str(tmp_path))
    assert "ORPHAN" in table.stdout and "unreadable manifest" in table.stderr
    res = invoke("backup", "verify", str(tmp_path), "--format", "json")
    verified = assert_valid_json_output(res, "backup verify")
    assert {o["file"] for o in verified["orphans"]} == set(orphans)
    assert {f["file"] for f in verified["files"] if f["orphan"]} == {data, corrupt["files"][0]}
    assert "ORPHAN" in invoke("backup", "verify", str(tmp_path)).stdout
    code, dry = _json("backup", "prune", str(tmp_path), "--orphans", "--dry-run")
    assert code == 0 and sorted(dry["removed_orphans"]) == sorted([data, f"{data}.sha256"])
    assert (tmp_path / data).exists()
    code, done = _json("backup", "prune", str(tmp_path), "--orphans")
    assert code == 0 and sorted(done["removed_orphans"]) == sorted([data, f"{data}.sha256"])
    assert not (tmp_path / data).exists() and (tmp_path / corrupt["files"][0]).exists()
    code, listing = _json("backup", "list", str(tmp_path))
    assert len(listing["orphans"]) == 3 and [b["base"] for b in listing["backups"]] == [
        intact["base"]
    ]


def test_a_cluster_run_failing_partway_through_publishing_leaves_no_shard(
    cluster: list[LocalServer], tmp_path: Path
) -> None:
    """The last shard's file name is taken (a directory in the way): the shards already
    renamed into place go again, and nothing of the backup stays."""
    port = str(cluster[0].port)
    first = tmp_path / "first"
    first.mkdir()
    res = invoke("backup", "run", str(first), "-p", port, "--name", "c", "--format", "json")
    assert res.exit_code == 0, res.stderr
    doc = res.json()
    base = doc["manifest"][: -len(".manifest.json")]
    suffix = doc["files"][-1]["file"][len(base) :]  # .<node>.<slots>.rdb.gz of the last shard
    dest = tmp_path / "b"
    dest.mkdir()
    now = datetime.now(timezone.utc)
    blockers = []
    for s in range(-2, 180):
        blocker = dest / f"c-{now + timedelta(seconds=s):%Y%m%dT%H%M%SZ}{suffix}"
        blocker.mkdir()
        blockers.append(blocker.name)
    res = invoke("backup", "run", str(dest), "-p", port, "--name", "c")
    assert res.exit_code == ExitStatus.ERROR and "in the way" in res.stderr, res.stderr
    assert _leftovers(dest) == sorted(blockers)
    _, listing = _json("backup", "list", str(dest))
    assert listing["backups"] == [] and listing["orphans"] == []
