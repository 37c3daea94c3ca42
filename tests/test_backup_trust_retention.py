"""Issue 31, items 1-3: retention never deletes an intact backup because of a damaged, missing,
foreign or future-dated one (real servers, real directories)."""

from __future__ import annotations

import json
import shutil
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest

from rediscope.core.backup import BackupInfo, RetentionPolicy, plan_prune
from rediscope.core.localserver import LocalServer
from rediscope.exitcodes import ExitStatus
from tests.conftest import assert_valid_json_output, invoke


def _run(port: int, dest: Path, *extra: str) -> None:
    res = invoke("backup", "run", str(dest), "-p", str(port), *extra)
    assert res.exit_code == 0, res.stderr


def _list(dest: Path) -> list[dict[str, Any]]:
    res = invoke("backup", "list", str(dest), "--format", "json")
    backups: list[dict[str, Any]] = assert_valid_json_output(res, "backup list")["backups"]
    return backups


def _damage(path: Path, how: str) -> None:
    if how == "truncated":
        with path.open("r+b") as fh:
            fh.truncate(50)
    elif how == "deleted":
        path.unlink()
    else:  # one byte flipped in the middle: the size is right, only a read finds it
        raw = bytearray(path.read_bytes())
        raw[len(raw) // 2] ^= 0xFF
        path.write_bytes(bytes(raw))


@pytest.mark.parametrize("how", ["truncated", "deleted", "flipped"])
def test_a_damaged_newest_backup_never_makes_prune_delete_the_intact_ones(
    plain: LocalServer, tmp_path: Path, how: str
) -> None:
    plain.client().mset({f"k{i}": "v" * 50 for i in range(2000)})
    for _ in range(3):
        _run(plain.port, tmp_path)
    newest, middle, oldest = _list(tmp_path)
    _damage(tmp_path / newest["files"][0], how)
    dry = invoke("backup", "prune", str(tmp_path), "--keep-last", "1", "--dry-run", "-f", "json")
    doc = assert_valid_json_output(dry, "backup prune")
    kept = {b["base"]: b["keep"] for b in doc["kept"]}
    assert kept[middle["base"]] == ["last"]  # the newest intact one counts, not the damaged one
    assert kept[newest["base"]] == ["damaged: not counted"]
    assert [(b["base"], b["reason"]) for b in doc["removed"]] == [
        (oldest["base"], "no --keep-* rule keeps it")
    ]
    res = invoke("backup", "prune", str(tmp_path), "--keep-last", "1", "-f", "json")
    assert res.exit_code == 0, res.stderr
    left = {b["base"]: b["state"] for b in _list(tmp_path)}
    assert left[middle["base"]] == "ok" and oldest["base"] not in left
    # what is left restores: verify reads the intact one as ok
    res = invoke("backup", "verify", str(tmp_path / middle["files"][0]))
    assert res.exit_code == 0, res.stderr
    # run prunes the same way: the newest intact backup of the target is never deleted
    _damage(tmp_path / middle["files"][0], how)
    _run(plain.port, tmp_path, "--keep-last", "1")
    states = [b["state"] for b in _list(tmp_path)]
    assert states[0] == "ok" and len(states) >= 1


def test_retention_is_per_target(plain: LocalServer, tmp_path: Path) -> None:
    dest = tmp_path / "b"
    dest.mkdir()
    plain.client().set("a", 1)
    _run(plain.port, dest)
    (tmp_path / "other").mkdir()
    other = LocalServer(dir=tmp_path / "other").start()
    try:
        other.client().set("b", 2)
        for _ in range(2):
            _run(other.port, dest, "--keep-last", "1")
        names = sorted(b["base"].rsplit("-", 1)[0] for b in _list(dest))
        assert names == sorted([f"127.0.0.1-{plain.port}", f"127.0.0.1-{other.port}"])
        res = invoke("backup", "prune", str(dest), "--keep-last", "1", "-f", "json")
        assert res.json()["removed"] == [] and len(_list(dest)) == 2
    finally:
        other.cleanup()


def _clone_dated(dest: Path, base: str, when: datetime) -> str:
    """An intact copy of backup BASE named as if taken at WHEN (a set copied from a host whose
    clock was ahead): files, sidecars and manifest renamed consistently."""
    new = f"{base.rsplit('-', 1)[0]}-{when:%Y%m%dT%H%M%SZ}"
    manifest = json.loads((dest / f"{base}.manifest.json").read_text())
    for entry in manifest["files"]:
        name = entry["file"].replace(base, new)
        shutil.copy(dest / entry["file"], dest / name)
        (dest / f"{name}.sha256").write_text(f"{entry['sha256']}  {name}\n")
        entry["file"] = name
    manifest["base"] = new
    (dest / f"{new}.manifest.json").write_text(json.dumps(manifest))
    return new


def test_a_backup_dated_in_the_future_is_reported_and_never_displaces_a_new_one(
    plain: LocalServer, tmp_path: Path
) -> None:
    plain.client().set("a", 1)
    _run(plain.port, tmp_path)
    first = _list(tmp_path)[0]["base"]
    future = _clone_dated(tmp_path, first, datetime.now(timezone.utc) + timedelta(days=3))
    res = invoke("backup", "run", str(tmp_path), "-p", str(plain.port), "--keep-last", "1",
                 "--format", "json")  # fmt: skip
    doc = assert_valid_json_output(res, "backup run")
    assert f"{future} is dated in the future" in " ".join(doc["notes"])
    assert doc["pruned"] == [first]  # the older intact one goes, the one just written stays
    listing = {b["base"]: b for b in _list(tmp_path)}
    assert future in listing and listing[future]["state"] == "future" and first not in listing
    assert listing[future]["age_s"] < 0 and "in the future" in listing[future]["problems"][0]
    written_now = [b for b in listing.values() if b["base"] != future]
    assert len(written_now) == 1 and written_now[0]["state"] == "ok"  # kept: the newest intact
    table = invoke("backup", "list", str(tmp_path))
    assert "FUTURE" in table.stdout and "in the future" in table.stderr
    age = invoke(
        "health", "-p", str(plain.port), "--window", "0", "--checks", "backup_age",
        "--backup-dir", str(tmp_path), "--format", "json",
    )  # fmt: skip
    check = age.json()["checks"][0]
    assert age.exit_code == 1 and check["status"] == "WARNING"
    assert written_now[0]["base"] in check["message"] and "in the future" in check["message"]


def _b(name: str, stamp: str, verified: bool = True) -> BackupInfo:
    when = datetime.strptime(stamp, "%Y-%m-%d %H:%M").replace(tzinfo=timezone.utc)
    base = f"{name}-{when:%Y%m%dT%H%M%SZ}"
    return BackupInfo(
        base=base,
        name=name,
        time=when,
        manifest=f"{base}.manifest.json",
        files=(f"{base}.rdb.gz",),
        bytes=1,
        bytes_raw=2,
        rdb_version=10,
        keys=1,
        verified=verified,
        mode="standalone",
    )


def test_plan_reads_only_the_backups_a_rule_would_count() -> None:
    stamps = [f"2026-03-0{d} 10:00" for d in range(1, 8)]
    backups = [_b("r", s) for s in stamps]
    bad = backups[-1].base  # the newest reads as damaged
    read: list[str] = []

    def check(b: BackupInfo) -> tuple[str, ...]:
        read.append(b.base)
        return ("sha256 mismatch",) if b.base == bad else ()

    now = datetime(2026, 4, 1, tzinfo=timezone.utc)
    plan = plan_prune(backups, RetentionPolicy(last=2), now, check)
    assert read == [backups[6].base, backups[5].base, backups[4].base]
    assert plan.keep == {
        backups[6].base: ("damaged: not counted",),
        backups[5].base: ("last",),
        backups[4].base: ("last",),
    }
    assert plan.found == {bad: ("sha256 mismatch",)}
    # another target in the same directory is planned on its own
    plan = plan_prune([*backups, _b("s", "2026-01-01 10:00")], RetentionPolicy(last=1), now)
    assert "s-20260101T100000Z" in plan.keep and backups[6].base in plan.keep


def test_prune_with_nothing_to_do_still_refuses_without_a_rule(tmp_path: Path) -> None:
    res = invoke("backup", "prune", str(tmp_path))
    assert res.exit_code == ExitStatus.USAGE and "refusing" in res.stderr
