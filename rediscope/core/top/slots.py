"""The hottest slots of a cluster for `top`, from CLUSTER SLOT-STATS on every primary: the
slots with the most CPU time (where the server counts it: cluster-slot-stats-enabled), else
with the most keys; and, for a slot seen the interval before, its CPU and network rates."""

from __future__ import annotations

import redis

from rediscope.core.diagnostics import slotstats
from rediscope.core.diagnostics.slotstats import SlotStat, Unsupported
from rediscope.core.top.model import HotSlot

SHOWN = 10  # slots in the report


class SlotWatch:
    """Per primary, what its slots are ordered by (None: not asked yet; "" : no SLOT-STATS),
    and the counters of the slots seen last interval (for the rates)."""

    def __init__(self) -> None:
        self.by: dict[str, str] = {}
        self.prev: dict[tuple[str, int], SlotStat] = {}

    def poll(self, conns: dict[str, redis.Redis], interval_s: float) -> list[HotSlot]:
        stats: list[SlotStat] = []
        for node, conn in conns.items():
            try:
                by = self.by.get(node)
                if by is None:
                    by = self.by[node] = slotstats.metric(conn, node)
                if by:
                    stats += slotstats.read(conn, node, by)
            except Unsupported:
                # cpu-usec refused: its counting was turned off (CONFIG SET), ask again next
                # interval; anything else refused: the server has no SLOT-STATS
                if self.by.get(node) == "cpu-usec":
                    del self.by[node]
                else:
                    self.by[node] = ""
            except (redis.RedisError, OSError):
                continue  # a node that stopped answering: top reports it down
        hot = [self._rates(s, interval_s) for s in stats]
        self.prev = {(s.node, s.slot): s for s in stats}
        hot.sort(
            key=lambda h: (
                -(h.cpu_usec_per_s or 0.0),
                -(h.cpu_usec or 0),
                -h.keys,
                h.slot,
            )
        )
        return hot[:SHOWN]

    def ordered_by(self) -> str | None:
        """What the slots were ordered by (cpu-usec, key-count), None where no node has it."""
        known = {b for b in self.by.values() if b}
        if not known:
            return None
        return "cpu-usec" if "cpu-usec" in known else "key-count"

    def _rates(self, s: SlotStat, interval_s: float) -> HotSlot:
        before = self.prev.get((s.node, s.slot))
        cpu_rate = net_rate = None
        if before is not None and interval_s > 0:
            if s.cpu_usec is not None and before.cpu_usec is not None:
                cpu_rate = max(0, s.cpu_usec - before.cpu_usec) / interval_s
            if s.network_bytes_in is not None and before.network_bytes_in is not None:
                now = s.network_bytes_in + (s.network_bytes_out or 0)
                then = before.network_bytes_in + (before.network_bytes_out or 0)
                net_rate = max(0, now - then) / interval_s
        return HotSlot(
            slot=s.slot,
            node=s.node,
            keys=s.keys,
            cpu_usec=s.cpu_usec,
            network_bytes_in=s.network_bytes_in,
            network_bytes_out=s.network_bytes_out,
            cpu_usec_per_s=None if cpu_rate is None else round(cpu_rate, 3),
            network_bytes_per_s=None if net_rate is None else round(net_rate, 3),
        )
