"""Issue 31, the gaps a fault review found: `backup list` reads each file's sha256 (so list,
verify and prune name the same damaged backups), and the temp file of a SIGKILLed `backup run`
is an orphan that list and verify show alike and `prune --orphans` removes, never a live
writer's (real servers, real directories, real signals)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from rediscope.core.backup.files import TEMP_PREFIX
from rediscope.core.localserver import LocalServer
from rediscope.exitcodes import ExitStatus
from tests.helpers import assert_valid_json_output, invoke, stopped_at_exit, wait_until

pytestmark = pytest.mark.once  # what rediscope does with files on its own side


def _run(port: int, dest: Path) -> None:
    res = invoke("backup", "run", str(dest), "-p", str(port))
    assert res.exit_code == 0, res.stderr


def _json(command: str, *args: str) -> tuple[int, dict[str, Any], str]:
    res = invoke("backup", command, *args, "--format", "json")
    return res.exit_code, assert_valid_json_output(res, f"backup {command}"), res.stderr


def _flip_middle_byte(path: Path) -> None:
    raw = bytearray(path.read_bytes())
    raw[len(raw) // 2] ^= 0xFF
    path.write_bytes(bytes(raw))


def test_list_verify_and_prune_name_the_same_backup_with_a_flipped_byte(
    plain: LocalServer, tmp_path: Path
) -> None:
    plain.client().mset({f"k{i}": "v" * 50 for i in range(2000)})
    for _ in range(3):
        _run(plain.port, tmp_path)
    code, listing, _ = _json("list", str(tmp_path))
    newest, middle, oldest = listing["backups"]
    assert [b["state"] for b in listing["backups"]] == ["ok", "ok", "ok"]
    bad_file = newest["files"][0]
    _flip_middle_byte(tmp_path / bad_file)  # same size: only reading the file finds it

    code, listing, err = _json("list", str(tmp_path))
    assert code == 0
    states = {b["base"]: (b["state"], b["problems"]) for b in listing["backups"]}
    assert states[newest["base"]] == ("damaged", [f"{bad_file}: sha256 mismatch (the manifest's)"])
    assert states[middle["base"]] == ("ok", []) and states[oldest["base"]] == ("ok", [])
    assert f"damaged: {newest['base']}: {bad_file}: sha256 mismatch" in err
    listed_damaged = {b for b, (state, _) in states.items() if state != "ok"}

    code, verified, err = _json("verify", str(tmp_path))
    assert code == ExitStatus.ERROR
    bad = {f["file"] for f in verified["files"] if not f["ok"]}
    assert bad == {bad_file} and bad_file in err
    verify_damaged = {b["base"] for b in listing["backups"] if set(b["files"]) & bad}

    code, deep, _ = _json("list", str(tmp_path), "--verify")
    assert code == ExitStatus.ERROR
    deep_damaged = {b["base"] for b in deep["backups"] if b["state"] != "verified"}

    code, dry, _ = _json("prune", str(tmp_path), "--keep-last", "1", "--dry-run")
    assert code == 0
    kept = {b["base"]: (b["keep"], b["state"]) for b in dry["kept"]}
    assert kept[newest["base"]] == (["damaged: not counted"], "damaged")
    assert kept[middle["base"]] == (["last"], "ok")
    prune_damaged = {b for b, (_, state) in kept.items() if state != "ok"}
    assert listed_damaged == verify_damaged == deep_damaged == prune_damaged == {newest["base"]}
    # nothing intact went anywhere: both intact backups still verify
    for b in (middle, oldest):
        assert invoke("backup", "verify", str(tmp_path / b["files"][0])).exit_code == 0


def test_prune_names_a_damaged_backup_it_removes_as_damaged(
    plain: LocalServer, tmp_path: Path
) -> None:
    plain.client().mset({f"k{i}": "v" * 50 for i in range(2000)})
    for _ in range(3):
        _run(plain.port, tmp_path)
    _, listing, _ = _json("list", str(tmp_path))
    newest, middle, oldest = listing["backups"]
    _flip_middle_byte(tmp_path / oldest["files"][0])
    _, listing, _ = _json("list", str(tmp_path))
    assert {b["base"] for b in listing["backups"] if b["state"] != "ok"} == {oldest["base"]}
    code, verified, _ = _json("verify", str(tmp_path))
    assert code == ExitStatus.ERROR
    assert {f["file"] for f in verified["files"] if not f["ok"]} == {oldest["files"][0]}
    for extra in ("--dry-run", None):
        args = ["prune", str(tmp_path), "--keep-last", "1", *([extra] if extra else [])]
        code, pruned, _ = _json(*args)
        assert code == 0
        states = {b["base"]: b["state"] for b in pruned["removed"]}
        assert states == {middle["base"]: "ok", oldest["base"]: "damaged"}
        assert [b["base"] for b in pruned["kept"]] == [newest["base"]]
    _, listing, _ = _json("list", str(tmp_path))
    assert [(b["base"], b["state"]) for b in listing["backups"]] == [(newest["base"], "ok")]
    # with no rule at all (--orphans alone) the report still reads what it shows
    _flip_middle_byte(tmp_path / newest["files"][0])
    code, pruned, _ = _json("prune", str(tmp_path), "--orphans")
    assert code == 0 and [(b["base"], b["state"]) for b in pruned["kept"]] == [
        (newest["base"], "damaged")
    ]


def test_a_sidecar_that_does_not_match_is_damaged_in_list_too(
    plain: LocalServer, tmp_path: Path
) -> None:
    plain.client().set("a", "1")
    _run(plain.port, tmp_path)
    _, listing, _ = _json("list", str(tmp_path))
    (file,) = listing["backups"][0]["files"]
    (tmp_path / f"{file}.sha256").write_text(f"{'0' * 64}  {file}\n")
    _, listing, _ = _json("list", str(tmp_path))
    assert listing["backups"][0]["state"] == "damaged"
    assert listing["backups"][0]["problems"] == [f"{file}: sha256 mismatch ({file}.sha256)"]
    code, verified, _ = _json("verify", str(tmp_path))
    assert code == ExitStatus.ERROR
    assert verified["files"][0]["problem"] == f"sha256 mismatch ({file}.sha256)"


@pytest.fixture
def slow(tmp_path: Path) -> Iterator[LocalServer]:
    """A server whose SYNC starts at once (diskless, no delay); `rdb-key-save-delay` set by
    the test keeps a transfer going for as long as the test needs it."""
    (tmp_path / "slow").mkdir()
    config = {"repl-diskless-sync": "yes", "repl-diskless-sync-delay": "0"}
    server = LocalServer(dir=tmp_path / "slow", config=config).start()
    yield server
    server.cleanup()


def _backup_proc(port: int, dest: Path) -> subprocess.Popen[str]:
    cmd = [sys.executable, "-m", "rediscope", "backup", "run", str(dest), "-p", str(port)]
    return subprocess.Popen(
        [*cmd, "--timeout", "3600"], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )


def _temps(dest: Path) -> set[str]:
    return {p.name for p in dest.iterdir() if p.name.startswith(TEMP_PREFIX)}


def _orphans(dest: Path) -> tuple[set[str], set[str]]:
    """The orphans `backup list` and `backup verify` show."""
    _, listing, _ = _json("list", str(dest))
    _, verified, _ = _json("verify", str(dest))
    return {o["file"] for o in listing["orphans"]}, {o["file"] for o in verified["orphans"]}


def test_a_sigkilled_runs_temp_file_is_an_orphan_and_a_live_runs_is_never_touched(
    slow: LocalServer, tmp_path: Path
) -> None:
    dest = tmp_path / "b"
    dest.mkdir()
    c = slow.client()
    c.mset({f"k{i}": "v" * 20 for i in range(100)})
    _run(slow.port, dest)  # the intact backup that must survive everything below
    _, listing, _ = _json("list", str(dest))
    (intact,) = listing["backups"]
    c.config_set("rdb-key-save-delay", 1_000_000)  # 1 s per key: a transfer that goes on
    with stopped_at_exit(_backup_proc(slow.port, dest)) as killed:
        wait_until("the run's temp file", lambda: bool(_temps(dest)))
        os.kill(killed.pid, signal.SIGKILL)
        killed.wait()
    (leftover,) = _temps(dest)
    assert f"{TEMP_PREFIX}{killed.pid}-" in leftover
    listed, verified = _orphans(dest)
    assert listed == verified == {leftover}
    res = invoke("backup", "list", str(dest))
    assert "ORPHAN" in res.stdout and f"orphan: {leftover}: temp file of an interrupted run" in (
        res.stderr
    )
    assert "ORPHAN" in invoke("backup", "verify", str(dest)).stdout
    code, done, _ = _json("prune", str(dest), "--orphans")
    assert code == 0 and done["removed_orphans"] == [leftover] and _temps(dest) == set()

    with stopped_at_exit(_backup_proc(slow.port, dest)) as live:
        wait_until("the live run's temp file", lambda: bool(_temps(dest)))
        (writing,) = _temps(dest)
        listed, verified = _orphans(dest)
        assert listed == verified == set()  # a run in progress is no orphan
        # prune waits for the directory's lock: nothing of the live run is touched
        res = invoke("backup", "prune", str(dest), "--orphans")
        assert res.exit_code == ExitStatus.BUSY, res.stderr
        assert f"pid {live.pid}" in res.stderr
        assert _temps(dest) == {writing}
        os.kill(live.pid, signal.SIGKILL)
        live.wait()
    listed, verified = _orphans(dest)
    assert listed == verified == {writing}
    code, dry, _ = _json("prune", str(dest), "--orphans", "--dry-run")
    assert code == 0 and dry["removed_orphans"] == [writing]
    assert _temps(dest) == {writing}
    code, done, _ = _json("prune", str(dest), "--orphans")
    assert code == 0 and done["removed_orphans"] == [writing]
    assert _temps(dest) == set() and _orphans(dest) == (set(), set())
    # the intact backup is still there, whole
    _, listing, _ = _json("list", str(dest))
    assert [(b["base"], b["state"]) for b in listing["backups"]] == [(intact["base"], "ok")]
    assert invoke("backup", "verify", str(dest)).exit_code == 0
    c.close()


def test_a_temp_file_whose_writer_is_alive_is_never_removed_by_prune(
    plain: LocalServer, tmp_path: Path
) -> None:
    """Belt and braces beside the lock: the PID in a temp file's name is checked too."""
    plain.client().set("a", "1")
    _run(plain.port, tmp_path)
    alive = tmp_path / f"{TEMP_PREFIX}{os.getpid()}-abcdefgh"  # this process: alive
    old = tmp_path / f"{TEMP_PREFIX}abcdefgh"  # an older version's name, no PID
    alive.write_bytes(b"")
    old.write_bytes(b"")
    assert _orphans(tmp_path) == ({old.name}, {old.name})
    code, done, _ = _json("prune", str(tmp_path), "--orphans")
    assert code == 0 and done["removed_orphans"] == [old.name]
    assert alive.exists() and not old.exists()
