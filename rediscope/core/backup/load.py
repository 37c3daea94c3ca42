"""The restore drill of `backup verify --load`: each backup file loaded by a throwaway
redis-server (a copy in a temp dir, on a free loopback port, stopped by PID), its keys per db
compared with what the backup says it holds."""

from __future__ import annotations

import shutil
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import redis

from rediscope.core.info import info, keyspace_dbs
from rediscope.core.localserver import LocalServer
from rediscope.core.rdbfile.check import open_decompressed, read_chunks
from rediscope.errors import RediscopeError

#: how long a load may take before the drill gives up on it
LOAD_TIMEOUT = 3600.0


@dataclass(frozen=True)
class LoadResult:
    """What the throwaway server made of one file."""

    ok: bool
    problem: str | None
    seconds: float | None  # from the server's start to its first answer after loading
    used_memory: int | None
    keys: dict[str, int] | None  # per db, as loaded
    expected: dict[str, int] | None  # per db, from the manifest (or --deep's own count)
    expired_on_load: int | None  # keys the server dropped as expired (7.0+ says)


def _compare(loaded: dict[str, int], expected: dict[str, int], expired: int | None) -> str | None:
    """Why LOADED does not match EXPECTED (None: it does). Keys that expired since the backup
    are dropped by the loading server: a shortfall it reports as expired is not a mismatch."""
    dbs = sorted(set(loaded) | set(expected))
    short = {d: expected.get(d, 0) - loaded.get(d, 0) for d in dbs}
    more = [d for d, n in short.items() if n < 0]
    if more:
        return "loaded more keys than the backup holds in " + ", ".join(more)
    missing = sum(short.values())
    if missing and missing != (expired or 0):
        detail = ", ".join(f"{d}: {loaded.get(d, 0):,} of {expected.get(d, 0):,}" for d in dbs)
        return f"loaded a different number of keys ({detail})"
    return None


def load_file(path: Path, expected: dict[str, int] | None, server_bin: str | None) -> LoadResult:
    """Load a copy of PATH (decompressed) into a throwaway server and count what it holds."""
    work = Path(tempfile.mkdtemp(prefix="rediscope-load-"))
    server = LocalServer(dir=work, binary=server_bin or "redis-server")
    try:
        with open_decompressed(path) as src, (work / "dump.rdb").open("wb") as dst:
            for chunk in read_chunks(src):
                dst.write(chunk)
        started = time.monotonic()
        try:
            server.start(wait=LOAD_TIMEOUT, attempts=1)
        except RediscopeError as exc:
            return LoadResult(
                False, f"does not load: {exc.message}", None, None, None, expected, None
            )
        seconds = round(time.monotonic() - started, 3)
        conn = server.client(socket_timeout=30)
        try:
            data = info(conn, "keyspace", "memory", "persistence")
        finally:
            conn.close()
    except (OSError, EOFError, redis.RedisError) as exc:
        return LoadResult(False, f"does not load: {exc}", None, None, None, expected, None)
    finally:
        server.stop()
        shutil.rmtree(work, ignore_errors=True)
    loaded = {f"db{d}": n for d, n in keyspace_dbs(data).items()}
    raw_expired = data.get("rdb_last_load_keys_expired")
    expired = int(raw_expired) if raw_expired is not None else None
    problem = None if expected is None else _compare(loaded, expected, expired)
    used = int(data.get("used_memory", 0)) or None
    return LoadResult(problem is None, problem, seconds, used, loaded, expected, expired)
