"""On a cluster, the slots that take the traffic: the slots of the hot keys found (their hits
summed), joined with the server's own per-slot CPU time where it counts it (CLUSTER
SLOT-STATS with cluster-slot-stats-enabled: Valkey 8.0+, Redis 8.2+)."""

from __future__ import annotations

import redis
from redis.crc import key_slot

from rediscope.core.connection import ConnectionSpec, client
from rediscope.core.diagnostics import slotstats
from rediscope.core.diagnostics.slotstats import SlotStat, Unsupported
from rediscope.core.hotkeys.report import HotKey, SlotTraffic
from rediscope.core.target import Target, node_spec

SHOWN = 10


def _server_side(spec: ConnectionSpec, target: Target) -> dict[int, SlotStat]:
    """Every primary's slots with the most CPU time, where the server counts it."""
    out: dict[int, SlotStat] = {}
    for node in target.primaries:
        conn = client(node_spec(spec, node))
        try:
            if slotstats.metric(conn, node.address) == "cpu-usec":
                for s in slotstats.read(conn, node.address, "cpu-usec"):
                    if s.cpu_usec:
                        out[s.slot] = s
        except (Unsupported, redis.RedisError, OSError):
            continue
        finally:
            conn.close()
    return out


def hot_slots(
    spec: ConnectionSpec, target: Target, keys: tuple[HotKey, ...]
) -> tuple[tuple[SlotTraffic, ...], str | None]:
    """The slots of a cluster that take the traffic, hottest first, and a note saying what
    was used; nothing on a server that is not a cluster."""
    if target.mode != "cluster":
        return (), None
    mine: dict[int, list[HotKey]] = {}
    for k in keys:
        mine.setdefault(key_slot(k.key), []).append(k)
    server = _server_side(spec, target)
    out = []
    for slot in set(mine) | set(server):
        listed, stat = mine.get(slot, []), server.get(slot)
        hits = [k.hits for k in listed if k.hits is not None]
        node = stat.node if stat else (listed[0].node if listed else None)
        out.append(
            SlotTraffic(
                slot,
                node,
                len(listed),
                sum(hits) if hits else None,
                stat.cpu_usec if stat else None,
                stat.keys if stat else None,
            )
        )
    out.sort(key=lambda h: (-(h.cpu_usec or 0), -(h.hits or 0), -h.hot_keys, h.slot))
    note = "hot_slots: the hot keys' slots" + (
        f", with the server's CPU time per slot ({slotstats.SOURCE})" if server else ""
    )
    return tuple(out[:SHOWN]), note
