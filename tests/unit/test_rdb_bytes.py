"""The RDB reader on files written byte by byte and on the legacy files in tests/data: what it
reads from each record, and one clear error for a damaged one. No server."""

from __future__ import annotations

from pathlib import Path

import pytest

from rediscope.core.rdbfile.check import crc64
from rediscope.core.rdbfile.reader import RdbCorrupt
from tests.helpers import invoke
from tests.helpers.rdb import (
    LEGACY,
    module_id,
    rdb_file,
    rdb_len,
    rdb_str,
    read_file,
)


def test_a_ziplist_that_fails_its_integrity_check_names_the_key_and_offset() -> None:
    with pytest.raises(RdbCorrupt) as err:
        read_file(LEGACY / "corrupt_ziplist.rdb")
    assert err.value.key is not None and err.value.offset > 9
    assert "byte" in str(err.value) and err.value.key.decode() in str(err.value)


def test_empty_collections_are_left_out_as_a_server_drops_them() -> None:
    info, keys = read_file(LEGACY / "corrupt_empty_keys.rdb")
    assert keys == {} and info.keys_empty == info.keys > 0


def test_module_values_are_reported_by_module_name(tmp_path: Path) -> None:
    module = (
        rdb_len(1)
        + rdb_len(42)
        + rdb_len(5)
        + rdb_str("payload")
        + rdb_len(4)
        + b"\x00" * 8
        + rdb_len(0)
    )
    value = b"\x07" + rdb_str("doc:1") + b"\x81" + module_id("ReJSON-RL", 3).to_bytes(8, "big")
    path = rdb_file(
        tmp_path, b"REDIS0011", value + module + b"\x00" + rdb_str("after") + rdb_str("v")
    )
    info, keys = read_file(path)
    assert keys[(0, b"doc:1")]["type"] == "ReJSON-RL" and info.modules == {"ReJSON-RL": 1}
    assert keys[(0, b"after")]["type"] == "string"  # the value was skipped exactly
    doc = invoke("bigkeys", "--rdb", str(path), "--format", "json").json()
    assert {t["type"] for t in doc["by_type"]} == {"ReJSON-RL", "string"}


def test_type_22_is_valkeys_hash_under_valkey_magic_and_redis_pre_ga_hash_under_redis(
    tmp_path: Path,
) -> None:
    never, later = (
        (-1).to_bytes(8, "little", signed=True),
        (4_000_000_000_000).to_bytes(8, "little"),
    )
    valkey = (
        b"\x16"
        + rdb_str("h")
        + rdb_len(2)
        + rdb_str("a")
        + rdb_str("1")
        + never
        + rdb_str("b")
        + rdb_str("2")
        + later
    )
    slot_import = (
        b"\xf3" + rdb_str("j" * 40) + rdb_len(1) + rdb_len(0) + rdb_len(99)
    )  # Valkey 9, opcode 243
    _, keys = read_file(rdb_file(tmp_path, b"VALKEY080", slot_import + valkey))
    assert (keys[(0, b"h")]["type"], keys[(0, b"h")]["elements"]) == ("hash", 2)
    redis_pre_ga = (
        b"\x16"
        + rdb_str("h")
        + rdb_len(3)
        + b"".join(
            rdb_len(ttl) + rdb_str(f) + rdb_str("v") for ttl, f in ((0, "a"), (5, "b"), (0, "c"))
        )
    )
    _, keys = read_file(rdb_file(tmp_path, b"REDIS0012", redis_pre_ga))
    assert (keys[(0, b"h")]["type"], keys[(0, b"h")]["elements"]) == ("hash", 3)


def test_crc64_check_value() -> None:
    assert crc64(b"123456789") == 0xE9C6D914C4B8D9CA
    assert crc64(b"6789", crc64(b"12345")) == 0xE9C6D914C4B8D9CA
