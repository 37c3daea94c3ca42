"""The compiled RDB loop (_fast.c) against the Python reader, on the legacy files in tests/data
and on files written byte by byte: the same rows, facts and errors. No server."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from rediscope.core.rdbfile import compiled
from rediscope.core.rdbfile.check import crc64
from tests.helpers import invoke, load_json
from tests.helpers.rdb import (
    LEGACY,
    rdb_file,
    rdb_str,
    read_both,
    str_aux,
)


def test_the_compiled_loop_is_built() -> None:
    """CI builds it from the sdist's C source (pip install -e .): a missing compiler there is a
    failure. Elsewhere the reader falls back to Python, with the same results."""
    if not os.environ.get("CI") and not compiled.FAST:
        pytest.skip("the compiled RDB loop is not built here (no C compiler at install)")
    assert compiled.FAST


@pytest.mark.parametrize("name", sorted(p.name for p in LEGACY.glob("*.rdb")))
def test_both_paths_read_the_legacy_files_the_same(name: str, tmp_path: Path) -> None:
    data = (LEGACY / name).read_bytes()
    fast, slow = read_both(data, tmp_path)
    assert fast == slow


def test_fields_beyond_64_bits_are_left_to_python(tmp_path: Path) -> None:
    """A hostile ctime (the clock TTLs are taken from) and a set claiming 2^62 elements, out of
    what the compiled loops take: the same report or error as the Python reader, no crash."""
    ctime = str_aux("ctime", "9" * 30)
    body = (
        b"\x00"
        + rdb_str("k")
        + rdb_str("v")
        + b"\x02"
        + rdb_str("s")
        + b"\x81"
        + (2**62).to_bytes(8, "big")
    )
    path = rdb_file(tmp_path, b"REDIS0011", body)
    fast, slow = read_both(path.read_bytes(), tmp_path)
    assert fast == slow
    assert fast[2] is not None and fast[2][2] == b"s"  # the error names the set
    result = invoke("memory", "--rdb", str(path), "--format", "json")
    assert result.exit_code == 1 and "Traceback" not in result.stderr
    huge_clock = rdb_file(tmp_path, b"REDIS0011", b"\x00" + rdb_str("k") + rdb_str("v"))
    data = huge_clock.read_bytes().replace(b"\xfe\x00", ctime + b"\xfe\x00", 1)
    huge_clock.write_bytes(data[:-8] + crc64(data[:-8]).to_bytes(8, "little"))
    result = invoke("memory", "--rdb", str(huge_clock), "--format", "json")
    assert result.exit_code == 0, result.stderr
    assert load_json(result.stdout)["scan"]["keys_scanned"] == 1


def test_a_compact_value_whose_entries_overrun_it_is_a_clean_error(tmp_path: Path) -> None:
    """Found by fuzzing both paths: a zipmap too long to count from its header, whose entries
    run past its end, was an IndexError traceback."""
    path = rdb_file(tmp_path, b"REDIS0003", b"\x09" + rdb_str("zm") + rdb_str(b"\xfe\x05ab\xff"))
    fast, slow = read_both(path.read_bytes(), tmp_path)
    assert fast == slow
    assert fast[2] is not None and "past its end" in fast[2][0] and fast[2][2] == b"zm"
    result = invoke("bigkeys", "--rdb", str(path))
    assert result.exit_code == 1 and "Traceback" not in result.stderr
    assert "past its end" in result.stderr and "at byte" in result.stderr
