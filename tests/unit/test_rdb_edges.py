"""What `--rdb` says of files that are not what they seem (issue 32 item 15-16): a text file is
not an RDB file, an empty one neither; two RDBs (or gzip members) joined are trailing data, not
a good file; a .zst without its package is one clear line; a file that does not say when it
was written has keys expired by now, and a file whose keys all expired is said to be the file."""

from __future__ import annotations

import gzip
import random
import struct
from pathlib import Path

import pytest

from rediscope.core.rdbfile.layout import (
    REDIS_7_2,
    REDIS_8,
    VALKEY_8_0,
    VALKEY_8_1,
    VALKEY_9,
    Layout,
)
from tests.helpers import run_cli


def rdb4_with_an_expired_key() -> bytes:
    """RDB 4 (no creation time, no checksum): one string whose expiry is in 1970."""
    key = b"\x01k\x01v"
    return b"REDIS0004" + b"\xfe\x00" + b"\xfc" + struct.pack("<q", 1000) + b"\x00" + key + b"\xff"


def test_a_text_file_and_an_empty_file_are_not_rdb_files(tmp_path: Path) -> None:
    text = tmp_path / "notes.txt"
    text.write_text("hello\n")
    (tmp_path / "empty.rdb").write_bytes(b"")
    for path, says in ((text, "not an RDB file"), (tmp_path / "empty.rdb", "it is empty")):
        r = run_cli("memory", "--rdb", str(path))
        assert r.exit_code == 1 and says in r.stderr, r.stderr
        assert "truncated" not in r.stderr and "internal error" not in r.stderr
        assert "--partial" not in r.stderr  # nothing a restore could save


def test_joined_files_are_trailing_data_not_a_good_file(tmp_path: Path) -> None:
    one = rdb4_with_an_expired_key()
    joined = tmp_path / "two.rdb.gz"
    joined.write_bytes(gzip.compress(one) + gzip.compress(one))
    r = run_cli("memory", "--rdb", str(joined), "--format", "json")
    assert "trailing data after the RDB's end" in r.stdout + r.stderr
    assert r.exit_code != 0


def test_a_zst_file_without_its_package_is_one_clear_line(tmp_path: Path) -> None:
    hide = tmp_path / "hide"
    hide.mkdir()
    (hide / "zstandard.py").write_text("raise ImportError('hidden by the test')\n")
    path = tmp_path / "dump.rdb.zst"
    path.write_bytes(b"(\xb5/\xfd" + b"\x00" * 16)
    r = run_cli("memory", "--rdb", str(path), env={"PYTHONPATH": str(hide)})
    assert r.exit_code == 1 and "zstandard" in r.stderr, r.stderr
    assert "internal error" not in r.stderr


def test_a_file_without_a_creation_time_has_keys_expired_by_now(tmp_path: Path) -> None:
    path = tmp_path / "old.rdb"
    path.write_bytes(rdb4_with_an_expired_key())
    r = run_cli("memory", "--rdb", str(path))
    assert r.exit_code == 0, r.stderr
    assert "1 key had expired by now (the file does not say when it was written)" in r.stderr
    assert "the file holds no keys that have not expired" in r.stdout
    assert "the server holds" not in r.stdout


def test_the_8_byte_quantum_and_the_old_table_of_a_growing_dict() -> None:
    """memest's size classes of jemalloc built with an 8-byte quantum (Redis's and Valkey's
    bundled copy), and the old table a dict in the middle of its incremental rehash holds."""
    from rediscope.core.rdbfile import memest

    assert [memest.size_class_8(n) for n in (1, 9, 22, 24, 25, 62, 65, 129)] == [
        8, 16, 24, 24, 32, 64, 80, 160,
    ]  # fmt: skip
    assert (memest.sds(20), memest.sds(20, small=True)) == (32, 24)  # 1 + 20 + 1 bytes
    assert memest.rehash_slots(50_000) == 32_768 // 2  # doubled at 32,769: still moving
    assert memest.rehash_slots(60_000) == 0  # 0.632x more writes since: done
    assert memest.rehash_slots(110) == 0 and memest.rehash_slots(100) == 32  # 128 slots


@pytest.mark.parametrize(
    "layout", [REDIS_7_2, REDIS_8, VALKEY_8_0, VALKEY_8_1, VALKEY_9], ids=lambda lay: lay.name
)
def test_a_batch_is_corrected_for_its_writer_as_each_key_is(layout: Layout) -> None:
    """The reader corrects a batch's estimates at once (Layout.correct_all): the same numbers as
    correct() key by key, unknown ones (None) left unknown, none below zero."""
    rng = random.Random(layout.name)
    rows = [
        (rng.choice([b"set", b"hash", b"zset", b"string"]),
         rng.choice([b"hashtable", b"skiplist", b"listpack", b"embstr", None]),
         rng.choice([None, 0, 1, 7, 5000, 50_000]),
         rng.choice([None, 0, 3, 10, 200, 90_000]))
        for _ in range(500)
    ]  # fmt: skip
    for batch in (rows, [r for r in rows if r[3] is not None]):
        types, encodings, lengths, memory = (list(c) for c in zip(*batch, strict=True))
        want = [layout.correct(t, e, n, m) for t, e, n, m in batch]
        assert layout.correct_all(types, encodings, lengths, memory) == want
