"""RDB files for the tests: a server's saved file, a file written byte by byte, a file read
with the compiled loops and without, damaged copies."""

from __future__ import annotations

import contextlib
import dataclasses
import random
import time
from pathlib import Path
from typing import Any

import pytest
import redis

from rediscope.core.localserver import LocalServer
from rediscope.core.pipeline.records import Batch
from rediscope.core.rdbfile import compiled, stream
from rediscope.core.rdbfile.check import crc64
from rediscope.core.rdbfile.reader import FileInfo, RdbCorrupt, RdbReader
from tests.helpers.paths import DATA

#: the legacy files (tests/data/README.md)
LEGACY = DATA


def read_file(path: Path) -> tuple[FileInfo, dict[tuple[int, bytes], dict[str, Any]]]:
    """Every key record of PATH, by (db, key); TTLs made absolute again (ms since the epoch)."""
    batches: list[Batch] = []
    with path.open("rb") as fh:
        info = RdbReader(fh, path.name, lambda i: 0, batches.append).read()
    keys = {}
    for b in batches:
        for i, key in enumerate(b.keys):
            ttl = b.ttl_ms[i] if b.ttl_ms else None
            keys[(b.db, key)] = {
                "type": b.types[i].decode(),
                "elements": b.lengths[i] if b.lengths else None,
                "expire_at_ms": None if ttl is None or ttl < 0 else ttl,  # clock 0: absolute
                "encoding": b.encoding[i] if b.encoding else None,
                "idle": b.idle[i] if b.idle else None,
                "freq": b.freq[i] if b.freq else None,
            }
    return info, keys


def populate(c: redis.Redis) -> None:
    """Every type in every encoding this server writes, TTLs, a second db, a function."""
    c.config_set("hash-max-ziplist-entries", "128")  # the name every version accepts
    c.set("s:small", "hello")
    c.set("s:int", 12345)
    c.set("s:bigint", 12345678901234)
    c.set("s:raw", "r" * 100)
    c.set("s:lzf", "x" * 5000)  # compressed in the file
    c.set(b"s:bin:\xff\x00", b"\x80")
    c.set("s:ttl", "v", ex=3000)  # off a TTL bucket boundary: ctime has whole seconds
    c.set("s:pttl", "v", px=7_200_123)
    c.rpush("l:small", "a", "b", 3)
    c.rpush("l:big", *[f"item-{i}" for i in range(5000)])  # many quicklist nodes
    c.sadd("set:ints", 1, 2, 3, 70000, 2**40)
    c.sadd("set:strings", "a", "b", "c")
    c.sadd("set:big", *[f"m{i}" for i in range(700)])
    c.zadd("z:small", {"a": 1.5, "b": -2})
    c.zadd("z:big", {f"m{i}": i / 3 for i in range(300)})
    c.hset("h:small", mapping={"f": "v", "g": 1})
    c.hset("h:big", mapping={f"f{i}": f"v{i}" for i in range(300)})
    c.hset("h:long", mapping={"f": "v" * 200})  # a value over the listpack value limit
    for i in range(50):
        c.xadd("x:events", {"n": i})
    c.xgroup_create("x:events", "workers", id="0")
    c.xreadgroup("workers", "alice", {"x:events": ">"}, count=10)  # 10 pending entries
    c.xadd("x:lonely", {"a": 1})
    c.execute_command("SELECT", 3)
    c.set("db3:key", "v", ex=600)
    c.execute_command("SELECT", 0)
    try:  # Redis 7.4+: hashes with field expiry (a listpack one and a hashtable one)
        c.hset("hfe:small", mapping={"a": 1, "b": 2})
        c.execute_command("HEXPIRE", "hfe:small", 3600, "FIELDS", 1, "a")
        c.hset("hfe:big", mapping={f"f{i}": i for i in range(300)})
        c.execute_command("HEXPIRE", "hfe:big", 3600, "FIELDS", 2, "f1", "f2")
    except redis.ResponseError:
        c.delete("hfe:small", "hfe:big")
    with contextlib.suppress(redis.ResponseError):  # FUNCTION is 7.0+
        c.execute_command(
            "FUNCTION",
            "LOAD",
            "#!lua name=rdbtest\nredis.register_function('f', function() return 1 end)",
        )


def saved(server: LocalServer) -> Path:
    c = server.client()
    c.save()
    c.close()
    assert server.dir is not None
    return server.dir / "dump.rdb"


def rdb_len(n: int) -> bytes:
    if n < 64:
        return bytes([n])
    if n < 16384:
        return bytes([0x40 | (n >> 8), n & 0xFF])
    return b"\x80" + n.to_bytes(4, "big")


def rdb_str(text: str | bytes) -> bytes:
    raw = text.encode() if isinstance(text, str) else text
    return rdb_len(len(raw)) + raw


def module_id(name: str, encver: int) -> int:
    charset = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
    value = 0
    for ch in name:
        value = (value << 6) | charset.index(ch)
    return (value << 10) | encver


def rdb_file(tmp_path: Path, magic: bytes, body: bytes) -> Path:
    data = magic + str_aux("redis-ver", "9.9.9") + b"\xfe\x00" + body + b"\xff"
    path = tmp_path / "made.rdb"
    path.write_bytes(data + crc64(data).to_bytes(8, "little"))
    return path


def str_aux(name: str, value: str) -> bytes:
    return b"\xfa" + rdb_str(name) + rdb_str(value)


HOUR_MS = 3_600_000


CLOCK = int(time.time() * 1000) + HOUR_MS  # an hour on: the shorter TTLs have expired


class PythonReader(RdbReader):
    fast = False


def read_with(cls: type[RdbReader], path: Path, clock: int) -> tuple[Any, ...]:
    """Every batch, the file facts, and the error (message, offset, key) if any."""
    batches: list[Batch] = []
    with path.open("rb") as fh:
        r = cls(fh, path.name, lambda _i: clock, batches.append)
        error = None
        try:
            r.read()
        except RdbCorrupt as exc:
            error = (str(exc), exc.offset, exc.key)
    rows = [dataclasses.astuple(b) for b in batches]
    return rows, dataclasses.asdict(r.info), error


def read_both(data: bytes, tmp: Path, chunk: int = 1 << 20) -> tuple[tuple[Any, ...], ...]:
    """Read with the compiled loops and without; CHUNK: the reader's buffer (a small one puts
    many records and elements across its end, where the two hand over)."""
    path = tmp / "dump.rdb"
    path.write_bytes(data)
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(stream, "CHUNK", chunk)
        fast = read_with(RdbReader, path, CLOCK)
        mp.setattr(compiled, "elements", None)
        return fast, read_with(PythonReader, path, CLOCK)


def damaged(data: bytes, rnd: random.Random) -> bytes:
    """Flipped bits, special length bytes, random runs, sometimes a truncation."""
    out = bytearray(data)
    for _ in range(rnd.choice([1, 1, 2, 5, 20])):
        at = rnd.randrange(9, len(out))
        r = rnd.random()
        if r < 0.6:
            out[at] ^= 1 << rnd.randrange(8)
        elif r < 0.8:
            out[at] = rnd.choice([0x00, 0x3F, 0x7F, 0x80, 0x81, 0xC0, 0xC1, 0xC2, 0xC3, 0xFF])
        else:
            out[at : at + 8] = rnd.randbytes(8)
    if rnd.random() < 0.2:
        out = out[: rnd.randrange(9, len(out))]
    return bytes(out)
