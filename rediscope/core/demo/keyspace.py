"""A realistic sample keyspace for `rediscope demo`, the benchmarks and the tests.

Loaded over one raw pipelined connection (hiredis packs the commands), so 200k+ keys take a
couple of seconds. Deterministic for a given seed. Only ever used on throwaway servers.
"""

from __future__ import annotations

import hashlib
import random
import time
import uuid
from collections.abc import Iterable, Iterator
from dataclasses import dataclass

import hiredis
import redis

from rediscope.core.connection import ConnectionSpec, client
from rediscope.core.failures import describe_error
from rediscope.core.resp import Command, RawConnection, pack
from rediscope.errors import RediscopeError


@dataclass(frozen=True)
class LoadStats:
    keys: int
    commands: int
    patterns: int
    seconds: float


def send_pipelined(spec: ConnectionSpec, commands: Iterable[Command], batch: int = 2000) -> int:
    """Send commands in pipelined batches over the connection layer's raw socket and check
    every reply. Returns the command count."""
    conn = RawConnection(spec, timeout=60)
    sent = 0

    def flush(buf: list[bytes]) -> None:
        conn.send(b"".join(buf))
        bad = next((r for r in conn.read(len(buf)) if isinstance(r, hiredis.ReplyError)), None)
        if bad is not None:
            raise RediscopeError(f"loading failed: {bad}")

    try:
        buf: list[bytes] = []
        for cmd in commands:
            buf.append(pack(cmd))
            sent += 1
            if len(buf) >= batch:
                flush(buf)
                buf = []
        if buf:
            flush(buf)
    except (redis.RedisError, OSError) as exc:
        raise describe_error(exc, spec, "loading") from None
    finally:
        conn.close()
    return sent


def _words(rng: random.Random, n: int) -> list[str]:
    syll = ["ka", "lo", "mi", "ne", "ru", "sa", "ti", "vo", "ze", "an", "el", "or"]
    return ["".join(rng.choice(syll) for _ in range(rng.randint(2, 4))) for _ in range(n)]


def demo_commands(scale: float = 1.0, seed: int = 42) -> Iterator[Command]:
    """Commands that build the demo keyspace: >= 200k keys at scale 1, a dozen patterns.
    One random generator, drawn from in a fixed order: the same seed gives the same keys."""
    rng = random.Random(seed)
    n = max(1, int(70_000 * scale))
    names = _words(rng, 500)
    yield from _users_and_caches(rng, scale, n, names)
    yield from _collections(rng, scale, n, names)
    yield from _big_keys(scale)


def _users_and_caches(
    rng: random.Random, scale: float, n: int, names: list[str]
) -> Iterator[Command]:
    countries = ["de", "fr", "us", "jp", "br", "in", "ng", "au"]
    for i in range(n):  # user:<id> hash, no TTL
        yield (
            "HSET",
            f"user:{100000 + i}",
            "name",
            rng.choice(names),
            "email",
            f"{rng.choice(names)}{i}@example.com",
            "age",
            rng.randint(18, 90),
            "country",
            rng.choice(countries),
        )
    for _ in range(int(40_000 * scale)):  # session:<uuid> string, TTL 1-24 h
        sid = uuid.UUID(int=rng.getrandbits(128), version=4)
        yield (
            "SET",
            f"session:{sid}",
            f'{{"uid":{rng.randint(100000, 100000 + n)}}}',
            "EX",
            rng.randint(3600, 86400),
        )
    for i in range(int(30_000 * scale)):  # cache:page:<sha1> string, TTL 10 min
        digest = hashlib.sha1(f"page{i}".encode()).hexdigest()
        yield ("SET", f"cache:page:{digest}", "x" * rng.randint(200, 2000), "EX", 600)
    for i in range(int(20_000 * scale)):  # product:<id>:views counter
        yield ("SET", f"product:{i}:views", rng.randint(0, 100000))
    for i in range(int(20_000 * scale)):  # rate:<ip> counters with a 60 s TTL
        ip = f"10.{(i >> 16) & 255}.{(i >> 8) & 255}.{i & 255}"
        yield ("SET", f"rate:{ip}", rng.randint(1, 50), "EX", 60)


def _collections(rng: random.Random, scale: float, n: int, names: list[str]) -> Iterator[Command]:
    for i in range(int(10_000 * scale)):  # cart:<user id> set of product ids
        yield ("SADD", f"cart:{100000 + i}", *rng.sample(range(20000), rng.randint(1, 12)))
    for i in range(int(10_000 * scale)):  # feed:<user id> list
        yield (
            "RPUSH",
            f"feed:{100000 + i}",
            *[f"post:{rng.randint(1, 10**6)}" for _ in range(rng.randint(5, 40))],
        )
    for i in range(int(10_000 * scale)):  # order:<date>:<id> hash
        day = f"2026-{rng.randint(1, 11):02d}-{rng.randint(1, 28):02d}"
        yield (
            "HSET",
            f"order:{day}:{500000 + i}",
            "user",
            rng.randint(100000, 100000 + n),
            "total",
            f"{rng.uniform(5, 500):.2f}",
            "status",
            rng.choice(["paid", "shipped"]),
        )
    for word in names[: max(1, int(400 * scale))]:  # tags:<word> set of members
        yield ("SADD", f"tags:{word}", *[f"item{rng.randint(1, 5000)}" for _ in range(30)])
    for g in range(max(1, int(200 * scale))):  # leaderboard:<game>:<date> zset
        members: list[str | float] = []
        for _ in range(rng.randint(100, 600)):
            members += [rng.uniform(0, 10000), f"player{rng.randint(1, 10**5)}"]
        yield ("ZADD", f"leaderboard:game{g % 20}:2026-11-{g % 28 + 1:02d}", *members)
    for region in ("eu", "us", "ap", "sa", "af", "me", "oc", "an"):  # events:<region> stream
        for _ in range(int(1000 * scale) or 1):
            yield (
                "XADD",
                f"events:{region}",
                "*",
                "type",
                rng.choice(["click", "view"]),
                "user",
                rng.randint(100000, 100000 + n),
            )
    for t in range(50):  # {tenant<n>}:config hash tags
        yield ("HSET", f"{{tenant{t}}}:config", "plan", rng.choice(["free", "pro"]), "seats", t)
    for i in range(50):  # binary keys that are not UTF-8
        yield ("SET", b"bin:\x00\xff" + i.to_bytes(2, "big"), b"\x80\x81")


def _big_keys(scale: float) -> Iterator[Command]:
    """A few deliberately big keys."""
    yield ("SET", "big:blob:export", "B" * (5 * 1024 * 1024))
    for chunk in range(int(100 * scale) or 1):
        yield (
            "ZADD",
            "big:zset:all-users",
            *[v for j in range(1000) for v in (j + chunk * 1000, f"u{chunk * 1000 + j}")],
        )
        yield ("RPUSH", "big:list:audit-log", *[f"event {chunk}-{j}" for j in range(1000)])
        yield (
            "HSET",
            "big:hash:feature-flags",
            *[v for j in range(1000) for v in (f"flag{chunk * 1000 + j}", "on")],
        )


PATTERN_COUNT = 13


def load_demo(
    port: int,
    scale: float = 1.0,
    seed: int = 42,
    host: str = "127.0.0.1",
    password: str | None = None,
) -> LoadStats:
    spec = ConnectionSpec(host=host, port=port, password=password)
    start = time.monotonic()
    commands = send_pipelined(spec, demo_commands(scale, seed))
    conn = client(spec)
    try:
        keys = int(conn.dbsize())
    finally:
        conn.close()
    return LoadStats(keys, commands, PATTERN_COUNT, time.monotonic() - start)
