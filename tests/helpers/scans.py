"""Keyspaces and reports the scan tests build the same way, and what a scan sent the server
(read from its slow log while it logs every command)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import redis

from rediscope.core.localserver import LocalServer
from tests.helpers.cli import invoke


def comparable(doc: Any) -> Any:
    """A report without what moves between two runs: timings, the scan summary, TTLs left."""
    if isinstance(doc, dict):
        skip = {"scan", "seconds", "generated_at", "elapsed", "ttl_s", "totals", "used_memory"}
        return {k: comparable(v) for k, v in doc.items() if k not in skip}
    if isinstance(doc, list):
        return [comparable(v) for v in doc]
    return doc


def mixed(c: redis.Redis, n: int = 3000) -> int:
    """Every type, keys of one shape with different types (wrong guesses), binary keys, TTLs,
    big and small encodings. Returns the key count."""
    pipe = c.pipeline(transaction=False)
    for i in range(n):
        pipe.hset(f"user:{i}", mapping={"name": f"n{i}", "age": i % 90})
        pipe.set(
            f"session:{i:08x}-cafe", "x" * (i % 300), ex=2 * 86_400 + i
        )  # far from a TTL bucket boundary
        pipe.set(f"counter:{i}", i)
        kind = i % 6  # one shape, six types: every guess from the shape is wrong somewhere
        key = f"obj:{i}"
        if kind == 0:
            pipe.set(key, "v")
        elif kind == 1:
            pipe.rpush(key, *range(i % 7 + 1))
        elif kind == 2:
            pipe.sadd(key, *range(i % 5 + 1))
        elif kind == 3:
            pipe.zadd(key, {f"m{j}": j for j in range(i % 4 + 1)})
        elif kind == 4:
            pipe.hset(key, "f", "v")
        else:
            pipe.xadd(key, {"f": "v"})
    pipe.set(b"bin:\x00\xff\x80", b"\x81")
    pipe.rpush("big:list", *range(5000))
    pipe.hset("big:hash", mapping={f"f{j}": "v" * 20 for j in range(2000)})
    pipe.execute()
    return int(c.dbsize())


def report(port: int, command: str, *extra: str) -> dict[str, Any]:
    res = invoke(command, "-p", str(port), "--format", "json", *extra)
    assert res.exit_code == 0, res.stderr
    doc: dict[str, Any] = res.json()
    return doc


def scan_counts_sent(c: redis.Redis) -> list[int]:
    counts = []
    for entry in c.slowlog_get(100_000):
        args = [a.upper() if isinstance(a, bytes) else a for a in entry["command"].split()]
        if args and args[0] == b"SCAN" and b"COUNT" in args:
            counts.append(int(args[args.index(b"COUNT") + 1]))
    return counts


@contextmanager
def every_command_logged(c: redis.Redis) -> Iterator[None]:
    """The slow log keeps every command meanwhile (what a scan sent, in order), then is reset."""
    c.config_set("slowlog-log-slower-than", 0)
    c.config_set("slowlog-max-len", 100_000)
    c.slowlog_reset()
    try:
        yield
    finally:
        c.config_set("slowlog-log-slower-than", 10_000)
        c.slowlog_reset()


def paced_scan(server: LocalServer, c: redis.Redis, *pace: str) -> tuple[dict[str, Any], list[int]]:
    """`bigkeys` with the pace options given: its report, and the COUNT of every SCAN it sent
    (from the slow log, logging every command meanwhile)."""
    with every_command_logged(c):
        return report(server.port, "bigkeys", *pace), scan_counts_sent(c)
