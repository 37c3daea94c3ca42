"""`backup restore`'s compiled framing (_fast.restores, issue 35 target 1): the RESTOREs it
builds are the ones the Python path builds, byte for byte, the keys come back the same either
way, and a request it framed is still counted key by key when the target refuses some keys."""

from __future__ import annotations

import os
import random
import time
from collections.abc import Iterator
from pathlib import Path

import hiredis
import pytest
import redis

from rediscope.core.localserver import LocalServer
from rediscope.core.rdbfile import compiled
from rediscope.core.rdbfile.check import crc64
from rediscope.core.restore.records import Framed, RawKey, RawReader
from rediscope.core.restore.writer import FRAMED_KEYS
from tests.helpers.cli import load_json, run_cli
from tests.helpers.rdb import damaged, saved
from tests.helpers.servers import start_server as _start
from tests.helpers.servers import wait_until

#: client-side behaviour: the matrix runs it on the distribution's server only (.ci/matrix)
pytestmark = pytest.mark.once

DEBUG = {"enable-debug-command": "yes"}
PURE = {"REDISCOPE_PURE_PYTHON": "1"}  # the Python reader and framing alone


def digest(c: redis.Redis) -> bytes:
    return c.execute_command("DEBUG", "DIGEST")  # type: ignore[no-any-return]


def _fill(c: redis.Redis) -> None:
    """Plain strings and compact values (framed in C) among hashtables, lists and a stream
    (left to Python), TTLs, integer keys, binary keys, three dbs, more than one request."""
    p = c.pipeline(transaction=False)
    for i in range(3 * FRAMED_KEYS):
        p.set(f"s:{i}", f"v{i}" * (i % 7))
        p.set(i, i * 3)  # an integer key
        if i % 5 == 0:
            p.set(f"t:{i}", "x" * 60, px=3_600_000 + i)
        if i % 50 == 0:
            p.hset(f"h:{i}", mapping={f"f{j}": j for j in range(200)})  # a hashtable
            p.rpush(f"l:{i}", *range(10))
            p.zadd(f"z:{i}", {"a": 1, "b": 2})
            p.sadd(f"i:{i}", 1, 2, 3)
    p.set(b"bin:\xff\x00\r\n", b"\x00\r\n")
    p.set("lzf", "y" * 5000)  # compressed in the file
    p.set("big", os.urandom(3 << 20))  # past the read buffer: the Python reader's
    p.xadd("x", {"a": 1})
    p.execute()
    for db in (2, 5):
        c.execute_command("SELECT", db)
        c.mset({f"db{db}:{i}": i for i in range(1000)})
    c.execute_command("SELECT", 0)


@pytest.fixture(scope="module")
def rdb(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Path, bytes, int]]:
    """The file, the source's digest, its key count."""
    d = tmp_path_factory.mktemp("restore-speed-source")
    server = _start(LocalServer(dir=d, config=DEBUG))
    try:
        c = server.client()
        _fill(c)
        keys = sum(int(v["keys"]) for v in c.info("keyspace").values())
        yield saved(server), digest(c), keys
    finally:
        server.cleanup()


@pytest.fixture
def empty(tmp_path: Path) -> Iterator[LocalServer]:
    (tmp_path / "a").mkdir()
    server = _start(LocalServer(dir=tmp_path / "a", config=DEBUG))
    try:
        yield server
    finally:
        server.cleanup()


def _restore(path: Path, port: int, env: dict[str, str] | None = None) -> dict[str, object]:
    r = run_cli(
        "backup", "restore", str(path), "--yes", "--format", "json",
        "--url", f"redis://127.0.0.1:{port}", env=env,
    )  # fmt: skip
    assert r.exit_code == 0 and "Traceback" not in r.stderr, r.stderr
    return load_json(r.stdout)  # type: ignore[no-any-return]


def _commands(path: Path, frame: tuple[int, int, bool] | None) -> list[list[bytes]]:
    """Every RESTORE the reader hands on for PATH (FRAME: framed in C up to those limits)."""
    out: list[list[bytes]] = []
    parse = hiredis.Reader()

    def take(batch: list[RawKey] | Framed) -> None:
        if isinstance(batch, Framed):
            parse.feed(batch.commands)
            got = [parse.gets() for _ in range(batch.keys)]
            assert parse.gets() is False  # exactly KEYS commands
            assert batch.size == sum(len(a[3]) for a in got)
            out.extend(got)
            return
        for rec in batch:
            args = [b"RESTORE", rec.key, b"0", rec.payload]
            if rec.expire_ms is not None:
                args[2:3] = [b"%d" % rec.expire_ms]
                args.append(b"ABSTTL")
            out.append(args)  # type: ignore[arg-type]  # no payload here is in pieces

    with path.open("rb") as fh:
        RawReader(fh, path.name, take, frame=frame).read()
    return out


@pytest.mark.skipif(not compiled.FAST, reason="the compiled reader is not built")
def test_the_compiled_framing_builds_the_commands_the_python_path_builds(
    rdb: tuple[Path, bytes, int],
) -> None:
    path = rdb[0]
    framed = sorted(_commands(path, (FRAMED_KEYS, 1 << 20, True)), key=lambda a: a[1])
    plain = sorted(_commands(path, None), key=lambda a: a[1])
    assert len(framed) == rdb[2] and framed == plain
    for a in framed:  # each payload carries its own CRC-64, as DUMP's
        if isinstance(a[3], bytes):
            assert int.from_bytes(a[3][-8:], "little") == crc64(a[3][:-8])


def test_the_keys_come_back_the_same_with_and_without_the_compiled_framing(
    rdb: tuple[Path, bytes, int], empty: LocalServer, tmp_path: Path
) -> None:
    path, source_digest, keys = rdb
    doc = _restore(path, empty.port)
    assert doc["restored"] == keys and doc["failed"] == 0
    assert digest(empty.client()) == source_digest
    (tmp_path / "b").mkdir()
    pure = _start(LocalServer(dir=tmp_path / "b", config=DEBUG))
    try:
        doc_pure = _restore(path, pure.port, PURE)
        assert digest(pure.client()) == source_digest
    finally:
        pure.cleanup()
    assert doc_pure["restored"] == doc["restored"] and doc_pure["per_db"] == doc["per_db"]


def test_keys_already_on_the_target_are_counted_one_by_one_inside_a_framed_request(
    rdb: tuple[Path, bytes, int], empty: LocalServer
) -> None:
    path, _digest, keys = rdb
    c = empty.client()
    c.mset({f"s:{i}": "mine" for i in range(0, 3 * FRAMED_KEYS, 7)})  # inside the requests
    held = len(range(0, 3 * FRAMED_KEYS, 7))
    r = run_cli(
        "backup", "restore", str(path), "--yes", "--merge", "--format", "json",
        "--url", f"redis://127.0.0.1:{empty.port}",
    )  # fmt: skip
    assert "Traceback" not in r.stderr, r.stderr
    doc = load_json(r.stdout)
    assert doc["skipped"]["exists"] == held and doc["restored"] == keys - held
    assert doc["failed"] == 0
    assert c.get("s:7") == b"mine" and c.get("s:8") == b"v8" * 1
    assert c.dbsize() + 2000 == keys  # db0's keys; dbs 2 and 5 hold 1,000 each


def test_keys_whose_ttl_ran_out_are_counted_the_same_with_and_without_keep_expired(
    empty: LocalServer, tmp_path: Path
) -> None:
    (tmp_path / "w").mkdir()
    writer = _start(LocalServer(dir=tmp_path / "w"))
    try:
        c = writer.client()
        c.mset({f"live:{i}": i for i in range(100)})
        at = int(time.time() * 1000) + 1500
        for i in range(30):
            c.set(f"soon:{i}", i, pxat=at)
        path = saved(writer)  # the 30 keys are in the file, with a TTL that passes next
    finally:
        writer.cleanup()
    wait_until("their TTL to pass", lambda: time.time() * 1000 > at + 50)
    for env in (None, PURE):
        empty.client().flushall()
        doc = _restore(path, empty.port, env)
        assert doc["restored"] == 100 and doc["skipped"]["expired"] == 30  # type: ignore[index]
        empty.client().flushall()
        r = run_cli(
            "backup", "restore", str(path), "--yes", "--keep-expired",
            "--format", "json", "--url", f"redis://127.0.0.1:{empty.port}", env=env,
        )  # fmt: skip
        assert r.exit_code == 0, r.stderr
        doc = load_json(r.stdout)
        assert doc["restored"] == 130 and doc["skipped"]["expired"] == 0


@pytest.mark.skipif(not compiled.FAST, reason="the compiled reader is not built")
def test_the_compiled_framing_of_damaged_bytes_stays_in_bounds_and_whole(
    rdb: tuple[Path, bytes, int],
) -> None:
    """From any offset of a damaged file: it stops inside the buffer, and what it framed is
    exactly KEYS whole commands, each payload with its own CRC-64."""
    restores = compiled.restores
    assert restores is not None
    data = rdb[0].read_bytes()[:200_000]
    rnd = random.Random(35)
    framed = 0
    for _ in range(300):
        buf = damaged(data, rnd)
        start = rnd.randrange(0, len(buf))
        pos, commands, keys, size, _bits, _expired = restores(
            buf, start, 244, 0, rnd.random() < 0.5, b"\x0a\x00", 50, 1 << 16
        )
        assert start <= pos <= len(buf)
        parse = hiredis.Reader()
        parse.feed(commands)
        got = [parse.gets() for _ in range(keys)]
        assert parse.gets() is False and size == sum(len(a[3]) for a in got)
        for a in got:
            assert a[0] == b"RESTORE"
            assert int.from_bytes(a[3][-8:], "little") == crc64(a[3][:-8])
        framed += keys
    # how many random offsets happen to land on a record depends on the file's bytes (the
    # server writes its own aux fields): that some do shows the checks above were not vacuous
    assert framed > 0
