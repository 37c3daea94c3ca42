"""Details fetched after a scan for the few keys a report shows (encoding, TTL)."""

from __future__ import annotations

from collections import defaultdict

import redis

from rediscope.core.connection import ConnectionSpec, client
from rediscope.core.pipeline.records import KeyRef
from rediscope.core.target import Target, node_spec


def describe_keys(
    spec: ConnectionSpec, target: Target, refs: list[KeyRef]
) -> dict[KeyRef, tuple[str | None, int | None]]:
    """{(node, db, key): (OBJECT ENCODING, PTTL ms)}; a key gone or a denied command gives
    None. Neither command touches the key's LRU/LFU data."""
    grouped: dict[tuple[str, int], list[bytes]] = defaultdict(list)
    for node, db, key in refs:
        grouped[(node, db)].append(key)
    out: dict[KeyRef, tuple[str | None, int | None]] = {}
    for (node, db), keys in grouped.items():
        conn = client(node_spec(spec, node), db=db)
        try:
            if target.mode == "cluster":
                conn.execute_command("READONLY")  # lets a replica answer; no-op on a primary
            pipe = conn.pipeline(transaction=False)
            for key in keys:
                pipe.object("encoding", key)
                pipe.pttl(key)
            replies = pipe.execute(raise_on_error=False)
        except (redis.RedisError, OSError):
            replies = [None] * (2 * len(keys))
        finally:
            conn.close()
        for i, key in enumerate(keys):
            enc, ttl = replies[2 * i], replies[2 * i + 1]
            encoding = (
                enc.decode() if isinstance(enc, bytes) else enc if isinstance(enc, str) else None
            )
            ttl_ms = ttl if isinstance(ttl, int) and ttl != -2 else None
            out[(node, db, key)] = (encoding, ttl_ms)
    return out
