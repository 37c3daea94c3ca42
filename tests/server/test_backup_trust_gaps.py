"""Issue 31, the gaps a fault review found: `backup list` reads each file's sha256 (so list,
verify and prune name the same damaged backups), and the temp file of a SIGKILLed `backup run`
is an orphan that list and verify show alike and `prune --orphans` removes, never a live
writer's (real servers, real directories, real signals)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from rediscope.core.localserver import LocalServer
from rediscope.exitcodes import ExitStatus
from tests.helpers import assert_valid_json_output, invoke

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
