"""Issue 31, gaps a fault review found in `backup restore`: a directory restores its newest
*intact* backup (retention's rule), saying which newer ones it passed over and why, and a
--db-map for a db the backup does not hold is a usage error before anything is written."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from rediscope.core.localserver import LocalServer
from rediscope.exitcodes import ExitStatus
from tests.helpers import load_json, run_cli, server_in
from tests.helpers.restore import held, restore_cli

pytestmark = pytest.mark.once  # which backup and which dbs: rediscope's own side


@pytest.fixture
def writer(tmp_path: Path) -> Iterator[LocalServer]:
    with server_in(tmp_path / "writer") as server:
        yield server


@pytest.fixture
def target(tmp_path: Path) -> Iterator[LocalServer]:
    with server_in(tmp_path / "target") as server:
        yield server


def _backups(dest: Path) -> list[dict[str, Any]]:
    r = run_cli("backup", "list", str(dest), "--format", "json")
    assert r.exit_code == 0, r.stderr
    backups: list[dict[str, Any]] = load_json(r.stdout)["backups"]
    return backups


def _three_generations(writer: LocalServer, dest: Path) -> list[dict[str, Any]]:
    """Three backups of WRITER, `gen` 1, 2, 3 in them (newest first in the list)."""
    c = writer.client()
    c.mset({f"k:{i}": "v" * 60 for i in range(2000)})
    for gen in (1, 2, 3):
        c.set("gen", gen)
        r = run_cli("backup", "run", str(dest), "-p", str(writer.port))
        assert r.exit_code == 0, r.stderr
    c.close()
    backups = _backups(dest)
    assert len(backups) == 3
    return backups


def _flip_middle_byte(path: Path) -> None:
    raw = bytearray(path.read_bytes())
    raw[len(raw) // 2] ^= 0xFF
    path.write_bytes(bytes(raw))


def _gen(server: LocalServer) -> str | None:
    c = server.client()
    try:
        value = c.get("gen")
        return None if value is None else value.decode()
    finally:
        c.close()


def test_a_directory_restores_its_newest_intact_backup_and_says_what_it_passed_over(
    writer: LocalServer, target: LocalServer, tmp_path: Path
) -> None:
    dest = tmp_path / "bk"
    dest.mkdir()
    newest, middle, oldest = _three_generations(writer, dest)
    _flip_middle_byte(dest / newest["files"][0])

    code, out, err = restore_cli(dest, target.port, "--dry-run", "--format", "json")
    assert code == 0, err
    assert load_json(out)["source"] == [str(dest / middle["files"][0])]
    code, out, err = restore_cli(dest, target.port, "--yes", "--format", "json")
    assert code == 0, err
    doc = load_json(out)
    (line,) = [x for x in err.splitlines() if "passed over" in x]
    assert newest["base"] in line and "sha256 mismatch" in line, line
    assert doc["passed_over"] == [
        {
            "base": newest["base"],
            "reason": f"damaged: {newest['files'][0]}: sha256 mismatch (the manifest's)",
        }
    ]
    assert doc["source"] == [str(dest / middle["files"][0])]
    assert _gen(target) == "2"  # the middle backup's data, not the damaged newest's
    assert held(target) == {"db0": doc["restored"]} == {"db0": 2001}

    # the middle one truncated too: two passed over, the oldest restored
    with (dest / middle["files"][0]).open("r+b") as fh:
        fh.truncate(100)
    target.client().flushall()
    code, out, err = restore_cli(dest, target.port, "--yes", "--format", "json")
    assert code == 0, err
    doc = load_json(out)
    assert [p["base"] for p in doc["passed_over"]] == [newest["base"], middle["base"]]
    assert _gen(target) == "1" and held(target) == {"db0": doc["restored"]}

    # none intact: refused in one line, exit 1, nothing written (the dry run exits alike)
    (dest / f"{oldest['files'][0]}.sha256").unlink()
    target.client().flushall()
    for extra in ("--dry-run", "--yes"):
        code, out, err = restore_cli(dest, target.port, extra)
        assert code == ExitStatus.ERROR, err
        errors = [x for x in err.splitlines() if x.startswith("rediscope: error:")]
        assert len(errors) == 1 and "no intact backup" in errors[0], err
        assert newest["base"] in errors[0] and "nothing was written" in errors[0]
    assert held(target) == {}
    # nothing was deleted: every backup is still listed, the damaged ones as damaged
    assert [b["state"] for b in _backups(dest)] == ["damaged", "damaged", "damaged"]


def test_a_named_backup_file_is_restored_as_named_with_its_own_checks(
    writer: LocalServer, target: LocalServer, tmp_path: Path
) -> None:
    dest = tmp_path / "bk"
    dest.mkdir()
    newest, middle, _ = _three_generations(writer, dest)
    _flip_middle_byte(dest / newest["files"][0])
    code, _, err = restore_cli(dest / newest["files"][0], target.port, "--yes")
    assert code == ExitStatus.ERROR and "nothing was written" in err, err
    assert "passed over" not in err and held(target) == {}
    code, _, err = restore_cli(dest / newest["base"], target.port, "--yes")  # named: as named
    assert code == ExitStatus.ERROR and "nothing was written" in err, err
    assert held(target) == {}
    code, out, err = restore_cli(dest / middle["files"][0], target.port, "--yes", "-f", "json")
    assert code == 0 and "passed over" not in err, err
    assert load_json(out)["passed_over"] == [] and _gen(target) == "2"
    # the target's name (not one backup's): its newest intact backup, as for the directory
    target.client().flushall()
    name = newest["base"].rsplit("-", 1)[0]
    code, out, err = restore_cli(dest / name, target.port, "--yes", "-f", "json")
    assert code == 0 and "passed over 1 newer backup(s)" in err, err
    assert [p["base"] for p in load_json(out)["passed_over"]] == [newest["base"]]
    assert _gen(target) == "2"


def test_db_map_from_a_db_the_backup_lacks_is_a_usage_error_before_any_write(
    writer: LocalServer, target: LocalServer, tmp_path: Path
) -> None:
    c = writer.client()
    c.mset({f"a:{i}": i for i in range(300)})
    c.select(2)  # type: ignore[no-untyped-call]
    c.mset({f"b:{i}": i for i in range(200)})
    c.close()
    dest = tmp_path / "bk"
    dest.mkdir()
    r = run_cli("backup", "run", str(dest), "-p", str(writer.port))
    assert r.exit_code == 0, r.stderr
    (file,) = dest.glob("*.rdb.gz")
    bare = tmp_path / "bare"  # the same file with no manifest: its dbs known by a first pass
    bare.mkdir()
    (bare / "copy.rdb.gz").write_bytes(file.read_bytes())
    for source in (dest, file, bare / "copy.rdb.gz"):
        for extra in (("5:1", "--dry-run"), ("5:1", "--yes"), ("0:0,5:1,7:3", "--yes")):
            code, _, err = restore_cli(source, target.port, "--db-map", *extra)
            assert code == ExitStatus.USAGE, (source, extra, err)
            errors = [x for x in err.splitlines() if x.startswith("rediscope: error:")]
            assert len(errors) == 1, err
            lacking = "5" if extra[0] == "5:1" else "5, 7"
            assert f"the backup has no keys in db {lacking} (" in errors[0], err
            assert "it has keys in dbs 0, 2" in errors[0] and "nothing was written" in errors[0]
        assert held(target) == {}
    code, out, err = restore_cli(file, target.port, "--db-map", "2:1", "--yes", "-f", "json")
    assert code == 0, err
    assert held(target) == {"db0": 300, "db1": 200} and load_json(out)["restored"] == 500
