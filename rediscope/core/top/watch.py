"""The sampling side of `top`: one INFO per node per interval over kept connections, a node
that stops answering reported as down and asked again each interval, and (only when a client
output buffer grows) a capped CLIENT LIST of that node."""

from __future__ import annotations

import contextlib
import time
from typing import Any

import redis

from rediscope.core.connection import ConnectionSpec, client
from rediscope.core.diagnostics.slotstats import SOURCE as SLOT_SOURCE
from rediscope.core.failures import describe_error
from rediscope.core.info import info
from rediscope.core.resp import text
from rediscope.core.target import identify, node_spec
from rediscope.core.top.model import (
    SECTIONS,
    ClientBuffer,
    HotSlot,
    NodeSample,
    NodeView,
    TopReport,
)
from rediscope.core.top.rates import at_us, gauge_view, merged_commands, node_view, totals
from rediscope.core.top.slots import SlotWatch

#: an output buffer this big (client_recent_max_output_buffer) makes top look at CLIENT LIST
BUFFER_WATCH = 1 << 20
#: CLIENT LIST is read only on nodes with at most this many clients, and the biggest shown
CLIENT_LIST_CAP = 5000
BUFFERS_SHOWN = 5
_SLOT_NOTE = {
    "key-count": " (CPU time and network bytes per slot need cluster-slot-stats-enabled yes)"
}


def _flags(reply: Any, name: str, ordered: list[str]) -> set[str]:
    """The flags COMMAND INFO gives NAME (redis-py makes a dict of it; raw, a list)."""
    if isinstance(reply, dict):
        entry = reply.get(name) or reply.get(name.encode())
        flags = entry.get("flags", []) if isinstance(entry, dict) else []
    elif isinstance(reply, list) and len(reply) == len(ordered):
        entry = reply[ordered.index(name)]
        flags = entry[2] if isinstance(entry, list | tuple) and len(entry) > 2 else []
    else:
        flags = []
    return {text(f) for f in flags}


def _kind(flags: set[str]) -> str:
    return "write" if "write" in flags else "read" if "readonly" in flags else "other"


class Watcher:
    """Samples every node of the target; `poll()` gives the interval since the last one."""

    def __init__(self, spec: ConnectionSpec) -> None:
        self.spec = spec
        target, _ident = identify(spec)
        self.target = target
        nodes = target.nodes if target.mode == "cluster" else target.nodes[:1]
        self.roles = {n.address: n.role for n in nodes}
        self.conns: dict[str, redis.Redis] = {}
        self.prev: dict[str, NodeSample] = {}
        self.kinds: dict[str, str] = {}
        self.seq = 0
        self.slots = SlotWatch()

    def _conn(self, address: str) -> redis.Redis:
        conn = self.conns.get(address)
        if conn is None:
            conn = self.conns[address] = client(node_spec(self.spec, address))
        return conn

    def _sample(self, address: str) -> NodeSample:
        now_us = time.time_ns() // 1000
        try:
            data = info(self._conn(address), *SECTIONS)
        except (redis.RedisError, OSError) as exc:
            with contextlib.suppress(Exception):
                self.conns.pop(address).close()
            return NodeSample(
                address, now_us, None, describe_error(exc, node_spec(self.spec, address)).message
            )
        return NodeSample(address, at_us(data, now_us), data)

    def kind(self, command: str) -> str:
        return self.kinds.get(command, "other")

    def _learn_kinds(self, samples: list[NodeSample]) -> None:
        """read / write for commands not seen before, from the server's own flags."""
        names = {
            k[len("cmdstat_") :]
            for s in samples
            if s.data
            for k in s.data
            if k.startswith("cmdstat_") and k[len("cmdstat_") :] not in self.kinds
        }
        answering = next((s.address for s in samples if s.data), None)
        if not names or answering is None:
            return
        ordered = sorted(names)
        try:
            reply = self._conn(answering).execute_command("COMMAND", "INFO", *ordered)
        except (redis.RedisError, OSError):
            reply = None
        for name in ordered:
            self.kinds[name] = _kind(_flags(reply, name, ordered))

    def poll(self, buffers: bool = False) -> TopReport | None:
        """The interval since the last poll (None on the first: there is nothing to compare)."""
        samples = [self._sample(a) for a in self.roles]
        self._learn_kinds(samples)
        first = not self.prev
        views = []
        for s in samples:
            before = self.prev.get(s.address)
            if s.data is None:
                views.append(NodeView(s.address, self.roles[s.address], False, s.error))
            elif before is not None and before.data is not None:
                views.append(node_view(before, s, self.kind))
            else:  # back after not answering: what this sample says, rates next interval
                views.append(gauge_view(s))
            self.prev[s.address] = s
        if first:  # the first sample: the slots' counters too, for the first rates
            self._hot_slots([s.address for s in samples if s.data], 0.0)
            return None
        self.seq += 1
        return self._report(views, buffers)

    def _report(self, views: list[NodeView], buffers: bool) -> TopReport:
        up = [v for v in views if v.up]
        state = self._cluster_state(up) if self.target.mode == "cluster" else None
        notes = [f"{v.address} does not answer: {v.error}" for v in views if not v.up]
        sums = totals(views)
        if sums.partial:
            notes.append(
                f"totals are of {len(views) - len(sums.missing)} of {len(views)} nodes:"
                f" not read from {', '.join(sums.missing)}"
            )
        interval = max((v.interval_s for v in up if v.interval_s is not None), default=0.0)
        hot, by = self._hot_slots([v.address for v in up], interval)
        if by is not None:
            notes.append(f"hot_slots: {SLOT_SOURCE} ordered by {by}" + _SLOT_NOTE.get(by, ""))
        return TopReport(
            target=self.target,
            complete=len(up) == len(views),
            seq=self.seq,
            interval_s=round(interval, 6),
            nodes=tuple(views),
            totals=sums,
            commands=merged_commands(up),
            cluster_state=state,
            buffers=self._buffers(up) if buffers else (),
            notes=tuple(notes),
            hot_slots=tuple(hot),
            hot_slots_by=by,
        )

    def _hot_slots(self, up: list[str], interval: float) -> tuple[list[HotSlot], str | None]:
        """A cluster's hottest slots from the primaries that answer (none elsewhere)."""
        if self.target.mode != "cluster":
            return [], None
        primaries = {a: self._conn(a) for a in up if self.roles.get(a) == "primary"}
        hot = self.slots.poll(primaries, interval)
        return hot, self.slots.ordered_by()

    def _cluster_state(self, up: list[NodeView]) -> str | None:
        """cluster_state from CLUSTER INFO of the first node that answers (INFO lacks it)."""
        for v in up:
            try:
                raw = self._conn(v.address).execute_command("CLUSTER", "INFO")
            except (redis.RedisError, OSError):
                continue
            if isinstance(raw, dict):
                return str(raw.get("cluster_state")) if "cluster_state" in raw else None
            for line in text(raw).splitlines():
                if line.startswith("cluster_state:"):
                    return line.split(":", 1)[1].strip()
        return None

    def _buffers(self, up: list[NodeView]) -> tuple[ClientBuffer, ...]:
        """The biggest output buffers of the nodes whose clients' buffers grew (capped)."""
        out: list[ClientBuffer] = []
        for v in up:
            if (v.max_output_buffer or 0) < BUFFER_WATCH or (v.clients or 0) > CLIENT_LIST_CAP:
                continue
            try:
                listed: Any = self._conn(v.address).client_list(_type="normal")
            except (redis.RedisError, OSError):
                continue
            for c in listed:
                omem = int(c.get("omem", 0))
                if omem:
                    who = f"{c.get('addr', '?')} {c.get('name', '')}".strip()
                    out.append(ClientBuffer(v.address, who, omem, str(c.get("cmd", ""))))
        return tuple(sorted(out, key=lambda b: -b.omem)[:BUFFERS_SHOWN])

    def close(self) -> None:
        for conn in self.conns.values():
            with contextlib.suppress(Exception):
                conn.close()
        self.conns.clear()
