"""The memory model per server family and version (issue 37 item 2): the writer's layout is
chosen from the file's aux fields, and a hashtable set of a Valkey 8.1+ or a Redis 8 key is
estimated from its own layout (the live comparison over the demo keyspace is in test_rdb)."""

from __future__ import annotations

from pathlib import Path

import pytest
import redis

from rediscope.core.localserver import LocalServer
from rediscope.core.rdbfile.layout import (
    REDIS_7,
    REDIS_7_2,
    REDIS_8,
    VALKEY_8_0,
    VALKEY_8_1,
    VALKEY_9,
    Layout,
    layout_of,
)
from tests.helpers.cli import load_json, run_cli
from tests.helpers.servers import start_server as _start


@pytest.mark.parametrize(
    ("aux", "magic", "layout"),
    [
        ({"redis-ver": "7.0.15"}, "REDIS", REDIS_7),
        ({"redis-ver": "7.4.1"}, "REDIS", REDIS_7_2),
        ({"redis-ver": "6.2.16"}, "REDIS", REDIS_7),
        ({"redis-ver": "8.2.3"}, "REDIS", REDIS_8),
        ({"redis-ver": "255.255.255"}, "REDIS", REDIS_7),  # a development build: unknown
        ({"valkey-ver": "8.0.1", "redis-ver": "7.2.4"}, "REDIS", VALKEY_8_0),
        ({"valkey-ver": "8.1.8"}, "REDIS", VALKEY_8_1),
        ({"valkey-ver": "9.1.2"}, "REDIS", VALKEY_9),  # Valkey 9's RDB 11 for older replicas
        ({}, "VALKEY", VALKEY_9),
    ],
)
def test_the_layout_is_the_writers(aux: dict[str, str], magic: str, layout: Layout) -> None:
    assert layout_of(aux, magic) is layout


def test_each_key_of_the_new_layouts_is_estimated_near_memory_usage(tmp_path: Path) -> None:
    """On a server built with jemalloc (the model's allocator), every key's estimate is within
    10% of MEMORY USAGE SAMPLES 0, hashtable sets and hashes and skiplist zsets included."""
    server = _start(LocalServer(dir=tmp_path, config={"save": '""'}))
    try:
        c = server.client()
        if not str(c.info("memory").get("mem_allocator", "")).startswith("jemalloc"):
            pytest.skip("this build uses libc malloc; the model rounds as jemalloc does")
        c.sadd("set:big", *[f"member-{i}" for i in range(3000)])
        c.hset("hash:big", mapping={f"field:{i}": f"value-{i}" for i in range(2000)})
        c.zadd("zset:big", {f"member:{i}": i / 7 for i in range(2000)})
        c.set("string:one", "x" * 300)
        c.rpush("list:one", *range(50))
        want = {k.decode(): int(c.memory_usage(k, samples=0)) for k in c.scan_iter()}
        c.save()
        c.close()
        doc = load_json(
            run_cli("memory", "--rdb", str(tmp_path / "dump.rdb"), "--format", "json").stdout
        )
        got = {k["key"]: k["bytes"] for k in doc["top_keys"]}
        assert set(got) == set(want)
        for key, usage in want.items():
            assert abs(got[key] - usage) <= 0.10 * usage, (key, got[key], usage)
    finally:
        server.cleanup()


def test_a_stream_with_a_large_pending_list_is_estimated_near_memory_usage(
    tmp_path: Path,
) -> None:
    """Issue 32 item 20: a stream whose groups hold many pending entries (read 7.7 MiB live and
    1.2 MiB from the file): the PELs' trees are counted as the writer counts them."""
    server = _start(LocalServer(dir=tmp_path, config={"save": '""'}))
    try:
        c = server.client()
        pipe = c.pipeline(transaction=False)
        for i in range(20_000):
            pipe.xadd("stream:jobs", {"job": i})
        pipe.execute()
        c.xgroup_create("stream:jobs", "workers", id="0")
        c.xgroup_create("stream:jobs", "audit", id="0")
        for k in range(5):  # 10,000 pending across 5 consumers
            c.xreadgroup("workers", f"worker-{k}", {"stream:jobs": ">"}, count=2_000)
        c.xreadgroup("audit", "auditor", {"stream:jobs": ">"}, count=1_000)
        usage = int(c.memory_usage("stream:jobs", samples=0))
        c.save()
        c.close()
        doc = load_json(
            run_cli("memory", "--rdb", str(tmp_path / "dump.rdb"), "--format", "json").stdout
        )
        (key,) = [k for k in doc["top_keys"] if k["key"] == "stream:jobs"]
        assert abs(key["bytes"] - usage) <= 0.10 * usage, (key["bytes"], usage)
    finally:
        server.cleanup()


def test_a_big_hashtable_set_grown_by_writes_is_within_5_percent(tmp_path: Path) -> None:
    """Issue 32 item 21 (11% under): 50,000 members of 8, 20 and 60 bytes added in batches, so
    each set holds the table it outgrew while its incremental rehash runs; Redis 7.2+ and
    Valkey round in the 8-byte quantum's classes (a 20-byte member takes 24, not 32)."""
    server = _start(LocalServer(dir=tmp_path, config={"save": '""'}))
    try:
        c = server.client()
        if not str(c.info("memory").get("mem_allocator", "")).startswith("jemalloc"):
            pytest.skip("this build uses libc malloc; the model rounds as jemalloc does")
        if _quantum(c) != (8 if _version(c) >= (7, 2) else 16):
            pytest.skip("this build's jemalloc quantum is not the one its version implies")
        # Valkey 8.0 keeps a member in ~21 bytes: the half old table counted is a larger share
        valkey_8_0 = str(c.info("server").get("valkey_version", "")).startswith("8.0")
        near = 0.11 if valkey_8_0 else 0.05
        for length in (8, 20, 60):
            members = [f"{i:0{length}d}" for i in range(50_000)]
            for start in range(0, 50_000, 5_000):
                c.sadd(f"set:{length}", *members[start : start + 5_000])
        want = {k.decode(): int(c.memory_usage(k, samples=0)) for k in c.scan_iter()}
        c.save()
        c.close()
        doc = load_json(
            run_cli("memory", "--rdb", str(tmp_path / "dump.rdb"), "--format", "json").stdout
        )
        got = {k["key"]: k["bytes"] for k in doc["top_keys"]}
        for key, usage in want.items():
            assert abs(got[key] - usage) <= near * usage, (key, got[key], usage)
    finally:
        server.cleanup()


def _version(c: redis.Redis) -> tuple[int, int]:
    major, minor = str(c.info("server")["redis_version"]).split(".")[:2]
    return int(major), int(minor)


def _quantum(c: redis.Redis) -> int:
    """The server's jemalloc quantum, from two raw strings' sds (49 and 57 bytes): 8 rounds
    them to 56 and 64, 16 to 64 both."""
    c.set("q:45", "x" * 45)
    c.set("q:53", "x" * 53)
    grown = int(c.memory_usage("q:53", samples=0)) - int(c.memory_usage("q:45", samples=0))
    c.delete("q:45", "q:53")
    return 8 if grown == 8 else 16
