"""RDB versions ahead of the reader (issue 37 item 5): a file in a version it does not know is
refused with one line naming the version and the likely server, before any key is read; the
type and opcode tables are the ones of the file's magic. Hand-built RDB bytes."""

from __future__ import annotations

from pathlib import Path

import pytest

from rediscope.core.localserver import LocalServer
from rediscope.core.rdbfile.check import crc64
from tests.helpers.cli import run_cli
from tests.helpers.rdb import rdb_len as _len
from tests.helpers.rdb import rdb_str as _str
from tests.helpers.rdb import read_file


def _file(tmp_path: Path, magic: bytes, body: bytes) -> Path:
    """MAGIC, db 0, BODY, EOF and a correct CRC-64: intact, whatever BODY means."""
    data = magic + b"\xfe\x00" + body + b"\xff"
    path = tmp_path / "ahead.rdb"
    path.write_bytes(data + crc64(data).to_bytes(8, "little"))
    return path


#: what Redis 8.6 writes before a key with module metadata: opcode 243 (KEY_META), one class
KEY_META = b"\xf3" + _len(1) + (7).to_bytes(4, "big") + _len(0)
STRING = b"\x00" + _str("k") + _str("v")


@pytest.mark.parametrize("command", ["memory", "bigkeys", "patterns"])
def test_rdb_13_is_refused_naming_the_version_the_server_and_what_still_works(
    tmp_path: Path, command: str
) -> None:
    path = _file(tmp_path, b"REDIS0013", KEY_META + STRING)
    res = run_cli(command, "--rdb", str(path), "--format", "json")
    assert res.exit_code == 1 and res.stdout == ""
    assert res.stderr.count("\n") == 1 and "Traceback" not in res.stderr
    assert res.stderr.startswith(
        "rediscope: error: ahead.rdb: RDB 13: written by Redis 8.6 or newer"
    )
    assert "live scan" in res.stderr


def test_a_valkey_format_past_valkey_9_is_refused_naming_valkey(tmp_path: Path) -> None:
    res = run_cli("memory", "--rdb", str(_file(tmp_path, b"VALKEY081", STRING)))
    assert res.exit_code == 1 and res.stderr.count("\n") == 1
    assert "VALKEY081: written by a Valkey newer than 9.1" in res.stderr


def test_a_later_redis_version_names_the_newest_release_known_to_write_one(tmp_path: Path) -> None:
    res = run_cli("memory", "--rdb", str(_file(tmp_path, b"REDIS0014", STRING)))
    assert res.exit_code == 1 and "RDB 14: written by Redis 8.6 or newer" in res.stderr


def test_the_last_known_versions_are_read(tmp_path: Path) -> None:
    for magic in (b"REDIS0012", b"VALKEY080"):
        info, keys = read_file(_file(tmp_path, magic, STRING))
        assert info.complete and keys[(0, b"k")]["type"] == "string", magic


def test_opcode_243_is_valkeys_slot_import_only_under_valkey_magic(tmp_path: Path) -> None:
    slot_import = b"\xf3" + _str("j" * 40) + _len(1) + _len(0) + _len(99)
    info, keys = read_file(_file(tmp_path, b"VALKEY080", slot_import + STRING))
    assert info.complete and (0, b"k") in keys
    # under REDIS 12 the same byte is a value type no server writes: damage, never Valkey's opcode
    res = run_cli("memory", "--rdb", str(_file(tmp_path, b"REDIS0012", slot_import + STRING)))
    assert res.exit_code == 1 and "unknown value type 243" in res.stderr
    assert "Traceback" not in res.stderr


def test_restore_of_an_rdb_13_file_is_refused_before_the_first_write(
    plain: LocalServer, tmp_path: Path
) -> None:
    path = _file(tmp_path, b"REDIS0013", KEY_META + STRING)
    res = run_cli("backup", "restore", str(path), "--url", plain.url, "--yes")
    assert res.exit_code == 1 and "Traceback" not in res.stderr
    assert "RDB 13" in res.stderr and res.stderr.count("\n") == 1
    assert plain.client().dbsize() == 0
