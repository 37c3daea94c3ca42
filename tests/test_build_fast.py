"""The compiled RDB loop (_fast.c) as built: a key's TTL is its expiry minus the file's clock,
and a hostile file can put both at the ends of 64 bits, where that subtraction overflows a C
int64 (undefined behaviour). The compiled loop must read such a key exactly as the Python
reader does: no crash, no wrapped TTL. Also: the C names its opcodes as reader.py does.
Unit tests: hand-built RDB bytes, no server."""

from __future__ import annotations

import dataclasses
import re
from pathlib import Path
from typing import Any

import pytest

from rediscope.core.pipeline.records import Batch
from rediscope.core.rdbfile import compiled, reader, stream
from rediscope.core.rdbfile.check import crc64
from rediscope.core.rdbfile.reader import RdbCorrupt, RdbReader
from rediscope.core.rdbfile.values import READERS

INT64_MIN, INT64_MAX = -(2**63), 2**63 - 1
C_SOURCES = [Path(reader.__file__).with_name(n) for n in ("_fast.c", "_fast_values.h")]


class PythonReader(RdbReader):
    fast = False


def _str(raw: bytes) -> bytes:
    """An RDB string with a 6-bit, 14-bit or 32-bit length."""
    n = len(raw)
    if n < 64:
        head = bytes([n])
    elif n < 16384:
        head = bytes([0x40 | (n >> 8), n & 0xFF])
    else:
        head = b"\x80" + n.to_bytes(4, "big")
    return head + raw


def _rdb(body: bytes) -> bytes:
    """An RDB 11 file: header, db 0, BODY, EOF and its CRC-64."""
    data = b"REDIS0011" + b"\xfa" + _str(b"redis-ver") + _str(b"7.0.15") + b"\xfe\x00" + body
    data += b"\xff"
    return data + crc64(data).to_bytes(8, "little")


def _ms_key(key: bytes, expire_ms: int) -> bytes:
    """A string key with an EXPIRETIME_MS prefix (a signed little-endian int64)."""
    return b"\xfc" + expire_ms.to_bytes(8, "little", signed=True) + b"\x00" + _str(key) + _str(b"v")


def _read(cls: type[RdbReader], path: Path, clock: int) -> tuple[Any, ...]:
    batches: list[Batch] = []
    with path.open("rb") as fh:
        r = cls(fh, path.name, lambda _info: clock, batches.append)
        error = None
        try:
            r.read()
        except RdbCorrupt as exc:
            error = (str(exc), exc.offset, exc.key)
    return [dataclasses.astuple(b) for b in batches], dataclasses.asdict(r.info), error


def _ttls(result: tuple[Any, ...]) -> dict[bytes, int]:
    rows = result[0]
    return {k: t for batch in rows for k, t in zip(batch[2], batch[6], strict=True)}


# (clock, expiry, the TTL the key must have; None: expired, left out)
EDGES = [
    (INT64_MIN, INT64_MAX, 2**64 - 1),  # the widest gap: overflows int64 by 2^63
    (-(10**18), INT64_MAX, INT64_MAX + 10**18),
    (-1, INT64_MAX, 2**63),  # one past INT64_MAX
    (INT64_MIN, 0, 2**63),
    (INT64_MIN, INT64_MIN + 5, 5),
    (INT64_MAX - 1, INT64_MAX, 1),
    (0, INT64_MAX, INT64_MAX),
    (1, INT64_MIN, None),  # far in the past: expired, no subtraction
    (INT64_MAX, INT64_MIN, None),
    (INT64_MAX, INT64_MAX, None),  # expires at the clock: expired
]


@pytest.mark.parametrize(("clock", "expire", "ttl"), EDGES)
def test_an_expiry_at_the_ends_of_64_bits_reads_the_same_on_both_paths(
    clock: int, expire: int, ttl: int | None, tmp_path: Path
) -> None:
    if not compiled.FAST:
        pytest.skip("the compiled RDB loop is not built here (no C compiler at install)")
    body = _ms_key(b"edge", expire) + b"\x00" + _str(b"plain") + _str(b"v")
    path = tmp_path / "edge.rdb"
    # a key before the edge key sets the reader's clock; the compiled loop takes the rest
    path.write_bytes(_rdb(b"\x00" + _str(b"first") + _str(b"v") + body))
    fast = _read(RdbReader, path, clock)
    slow = _read(PythonReader, path, clock)
    assert fast == slow
    assert fast[2] is None and fast[1]["complete"]
    want = {b"first": -1, b"plain": -1} | ({b"edge": ttl} if ttl is not None else {})
    assert _ttls(fast) == want
    assert fast[1]["keys_expired"] == (ttl is None)


def test_many_keys_with_overflowing_ttls_in_one_compiled_run(tmp_path: Path) -> None:
    """A batch of them, read by the compiled loop without a hand-over in between."""
    if not compiled.FAST:
        pytest.skip("the compiled RDB loop is not built here (no C compiler at install)")
    expiries = [INT64_MAX - i * 977 for i in range(300)] + [-(2**62) + i for i in range(300)]
    body = b"\x00" + _str(b"first") + _str(b"v")
    body += b"".join(_ms_key(b"k%d" % i, e) for i, e in enumerate(expiries))
    path = tmp_path / "many.rdb"
    path.write_bytes(_rdb(body))
    fast = _read(RdbReader, path, INT64_MIN + 3)
    assert fast == _read(PythonReader, path, INT64_MIN + 3)
    ttls = _ttls(fast)
    assert all(ttls[b"k%d" % i] == e - (INT64_MIN + 3) for i, e in enumerate(expiries))
    assert max(ttls.values()) > INT64_MAX


def test_the_c_names_opcodes_encodings_and_types_as_the_python_reader_does() -> None:
    """Every OP_ and ENC_ name the C defines has the value reader.py and stream.py give it,
    every RDB_TYPE_ is a type values.py reads, and the code itself compares by name only: no
    bare opcode (243..255) and no bare `case <type>:`."""
    text = "\n".join(p.read_text() for p in C_SOURCES)
    defined = dict(re.findall(r"#define ((?:OP|ENC|RDB_TYPE)_[A-Z_0-9]+) (\d+)", text))
    python = {n: getattr(m, n) for m in (reader, stream) for n in dir(m) if n[:3] in ("OP_", "ENC")}
    named = {n: int(v) for n, v in defined.items() if not n.startswith("RDB_TYPE_")}
    assert {"OP_EXPIRETIME_MS", "OP_EXPIRETIME", "OP_IDLE", "OP_FREQ", "ENC_LZF"} <= set(named)
    assert {n: python.get(n) for n in named} == named
    types = {n: int(v) for n, v in defined.items() if n.startswith("RDB_TYPE_")}
    assert types and set(types.values()) <= set(READERS)
    code = re.sub(r"/\*.*?\*/|#define [^\n]*", "", text, flags=re.S)
    assert not re.findall(r"\b(24[3-9]|25[0-5])\b", code)
    assert not re.findall(r"case \d+:", code)


def _lzf_claiming(ulen: int) -> bytes:
    """A compressed string whose header claims ULEN bytes (a 64-bit length), one byte of data:
    both readers skip it and take the claim as its size."""
    return b"\xc3" + b"\x01" + b"\x81" + ulen.to_bytes(8, "big") + b"x"


def test_sizes_near_2_63_claimed_by_compressed_strings_read_the_same_on_both_paths(
    tmp_path: Path,
) -> None:
    """A string claiming INT64_MAX bytes, and a set whose two members claim 2^62 each: their
    memory estimates pass 2^63, where the C sums would overflow; the compiled loops leave them
    to the Python reader, which gives the exact (big) numbers."""
    if not compiled.FAST:
        pytest.skip("the compiled RDB loop is not built here (no C compiler at install)")
    member = _lzf_claiming(2**62)
    body = b"\x00" + _str(b"first") + _str(b"v")
    body += b"\x00" + _str(b"huge") + _lzf_claiming(INT64_MAX)
    body += b"\x02" + _str(b"set") + b"\x02" + member + member
    path = tmp_path / "claims.rdb"
    path.write_bytes(_rdb(body))
    fast = _read(RdbReader, path, 0)
    assert fast == _read(PythonReader, path, 0)
    assert fast[2] is None and fast[1]["complete"]
    (batch,) = fast[0]
    memory = dict(zip(batch[2], batch[4], strict=True))
    lengths = dict(zip(batch[2], batch[5], strict=True))
    assert lengths == {b"first": 1, b"huge": INT64_MAX, b"set": 2}
    assert memory[b"huge"] > INT64_MAX and memory[b"set"] > 2**63
