"""CLUSTER SLOT-STATS (Valkey 8.0+, Redis 8.2+): per slot, its keys and, where the server
has `cluster-slot-stats-enabled yes`, the CPU time and network bytes its commands took since
the stats were reset. Asked, never inferred from a version: a server without the subcommand
answers an error, and the caller stops asking it.

`CLUSTER SLOT-STATS ORDERBY metric LIMIT n` answers the node's own slots, biggest first:
`[[slot, {key-count, cpu-usec, network-bytes-in, network-bytes-out}], ...]` (redis-py makes a
dict of each slot's fields; raw, a flat list of names and values)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import redis

from rediscope.core.resp import text

SOURCE = "CLUSTER SLOT-STATS"
#: the slots asked of each primary per call (the hottest first)
LIMIT = 32


@dataclass(frozen=True)
class SlotStat:
    """One slot's counters as the server gave them (None: the server does not count it)."""

    slot: int
    node: str
    keys: int
    cpu_usec: int | None
    network_bytes_in: int | None
    network_bytes_out: int | None


class Unsupported(Exception):
    """The server has no CLUSTER SLOT-STATS (or it is denied): stop asking it."""


def _fields(raw: Any) -> dict[str, int]:
    if isinstance(raw, dict):
        return {text(k): int(v) for k, v in raw.items()}
    if isinstance(raw, list | tuple):
        return {text(k): int(v) for k, v in zip(raw[::2], raw[1::2], strict=False)}
    return {}


def parse(reply: Any, node: str) -> list[SlotStat]:
    out = []
    for entry in reply or []:
        if not isinstance(entry, list | tuple) or len(entry) < 2:
            continue
        f = _fields(entry[1])
        out.append(
            SlotStat(
                int(entry[0]),
                node,
                f.get("key-count", 0),
                f.get("cpu-usec"),
                f.get("network-bytes-in"),
                f.get("network-bytes-out"),
            )
        )
    return out


def read(conn: redis.Redis, node: str, by: str, limit: int = LIMIT) -> list[SlotStat]:
    """The node's LIMIT slots with the most BY (cpu-usec, key-count...). Unsupported when the
    server has no such subcommand, refuses it, or does not count BY."""
    try:
        reply = conn.execute_command("CLUSTER", "SLOT-STATS", "ORDERBY", by, "LIMIT", limit)
    except redis.ResponseError as exc:
        raise Unsupported(str(exc)) from None
    return parse(reply, node)


def metric(conn: redis.Redis, node: str) -> str:
    """What to order the slots by on this server: cpu-usec where it counts CPU time per slot
    (cluster-slot-stats-enabled), else key-count. Unsupported: no SLOT-STATS at all."""
    sample = read(conn, node, "key-count", 1)
    if sample and sample[0].cpu_usec is not None:
        return "cpu-usec"
    return "key-count"
