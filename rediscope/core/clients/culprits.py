"""The clients that hurt, each with its evidence: output buffers that grow (a slow reader: a
subscriber or a replica falling behind, and how close it is to being disconnected), big query
buffers, MONITOR clients, and idle connections older than --idle (a leaking pool). Bounded:
the `top` worst of each kind are kept, idle connections are counted per name and host."""

from __future__ import annotations

import heapq
from dataclasses import dataclass, field

from rediscope.core.clients.model import (
    BufferClass,
    BufferLimit,
    ClientRow,
    ClientsOptions,
    Culprit,
    CulpritKind,
)
from rediscope.core.keynames import display_key
from rediscope.core.units import bytes_text, short_duration

#: Redis's defaults, used where CONFIG GET is denied (with a note)
DEFAULT_LIMITS: dict[BufferClass, BufferLimit] = {
    "normal": BufferLimit(hard=0, soft=0, soft_s=0),
    "replica": BufferLimit(hard=256 << 20, soft=64 << 20, soft_s=60),
    "pubsub": BufferLimit(hard=32 << 20, soft=8 << 20, soft_s=60),
}
_CLASS_NAMES: dict[str, BufferClass] = {
    "normal": "normal",
    "slave": "replica",
    "replica": "replica",
    "pubsub": "pubsub",
}
#: the order the kinds are listed in: what disconnects or stalls first
KIND_ORDER: tuple[CulpritKind, ...] = ("output_buffer", "query_buffer", "monitor", "idle")
MAX_IDLE_GROUPS = 10_000


def parse_limits(value: str) -> dict[BufferClass, BufferLimit]:
    """`client-output-buffer-limit` as CONFIG GET gives it: `normal 0 0 0 slave 268435456
    67108864 60 pubsub 33554432 8388608 60` (a class left out keeps its default)."""
    out = dict(DEFAULT_LIMITS)
    words = value.split()
    for i in range(0, len(words) - 3, 4):
        klass = _CLASS_NAMES.get(words[i].lower())
        if klass is not None:
            hard, soft, soft_s = (int(w) for w in words[i + 1 : i + 4])
            out[klass] = BufferLimit(hard=hard, soft=soft, soft_s=soft_s)
    return out


def _who(row: ClientRow) -> str:
    name = f"{display_key(row.name)} " if row.name else ""
    return f"client {row.id} {name}at {display_key(row.addr)} on {row.node}"


def _buffer_evidence(row: ClientRow, limit: BufferLimit) -> tuple[str, float | None]:
    role = {"pubsub": "a subscriber", "replica": "a replica"}.get(row.buffer_class, "a client")
    text = (
        f"{_who(row)}: {role} reading slower than it is sent to, output buffer "
        f"{bytes_text(row.omem)} ({row.buffer_class} class"
    )
    share = row.omem / limit.hard if limit.hard else None
    if limit.hard:
        text += f", disconnected at {bytes_text(limit.hard)}: {share:.0%} of the way"
    if limit.soft:
        over = "over" if row.omem >= limit.soft else "under"
        text += f"; {over} the soft limit {bytes_text(limit.soft)} for {limit.soft_s} s"
    if not limit.hard and not limit.soft:
        text += ", no limit: it grows until the server runs out of memory"
    return text + ")", share


@dataclass
class IdleTally:
    user: bytes
    nodes: dict[str, int] = field(default_factory=dict)  # node -> idle connections there
    connections: int = 0
    idle_max: int = 0


@dataclass
class Culprits:
    """Collects the culprits of every node's rows."""

    opts: ClientsOptions
    limits: dict[str, dict[BufferClass, BufferLimit]] = field(default_factory=dict)
    heaps: dict[CulpritKind, list[tuple[int, int, Culprit]]] = field(default_factory=dict)
    idle: dict[tuple[bytes, bytes], IdleTally] = field(default_factory=dict)
    seq: int = 0

    def _keep(self, culprit: Culprit, rank: int) -> None:
        heap = self.heaps.setdefault(culprit.kind, [])
        self.seq += 1
        item = (rank, -self.seq, culprit)
        if len(heap) < self.opts.top:
            heapq.heappush(heap, item)
        elif item[:2] > heap[0][:2]:
            heapq.heapreplace(heap, item)

    def add(self, row: ClientRow) -> None:
        if row.own:
            return
        if row.omem >= self.opts.omem and row.omem:
            self._output_buffer(row)
        if row.qbuf and (row.qbuf >= self.opts.qbuf or row.idle_s >= self.opts.idle):
            self._query_buffer(row)
        if row.monitor:
            what = f"{_who(row)}: MONITOR, every command of the server is copied to it"
            self._keep(self._make(row, "monitor", 0, 0, what), row.age_s)
        if row.idle_s >= self.opts.idle and row.buffer_class != "replica" and not row.blocked:
            self._idle(row)

    def _make(
        self, row: ClientRow, kind: CulpritKind, value: int, threshold: int, evidence: str
    ) -> Culprit:
        return Culprit(
            kind=kind,
            node=row.node,
            id=row.id,
            name=row.name,
            addr=row.addr,
            user=row.user,
            cmd=row.cmd,
            connections=1,
            value=value,
            threshold=threshold,
            evidence=evidence,
        )

    def _output_buffer(self, row: ClientRow) -> None:
        limit = self.limits.get(row.node, DEFAULT_LIMITS)[row.buffer_class]
        evidence, share = _buffer_evidence(row, limit)
        culprit = Culprit(
            kind="output_buffer",
            node=row.node,
            id=row.id,
            name=row.name,
            addr=row.addr,
            user=row.user,
            cmd=row.cmd,
            connections=1,
            value=row.omem,
            threshold=self.opts.omem,
            buffer_class=row.buffer_class,
            limit=limit,
            limit_share=share,
            evidence=evidence,
        )
        # closest to its disconnection first; without a hard limit, by size
        self._keep(culprit, int((share or 0) * 1e6) * (1 << 40) + row.omem)

    def _query_buffer(self, row: ClientRow) -> None:
        what = f"{_who(row)}: query buffer {bytes_text(row.qbuf)}"
        if row.idle_s >= self.opts.idle:
            what += f", idle {short_duration(row.idle_s)}: an unfinished request left waiting"
        else:
            what += ": a huge request, or one arriving slowly"
        self._keep(self._make(row, "query_buffer", row.qbuf, self.opts.qbuf, what), row.qbuf)

    def _idle(self, row: ClientRow) -> None:
        key = (row.name, row.host)
        tally = self.idle.get(key)
        if tally is None:
            if len(self.idle) >= MAX_IDLE_GROUPS:
                return
            tally = self.idle[key] = IdleTally(user=row.user)
        tally.nodes[row.node] = tally.nodes.get(row.node, 0) + 1
        tally.connections += 1
        tally.idle_max = max(tally.idle_max, row.idle_s)

    def _idle_culprits(self) -> list[Culprit]:
        out = []
        for (name, host), t in self.idle.items():
            who = f"{display_key(name)} " if name else "nameless clients "
            where = f" on {len(t.nodes)} nodes" if len(t.nodes) > 1 else ""
            evidence = (
                f"{who}from {display_key(host)}{where}: {t.connections:,} connection"
                f"{'s' if t.connections != 1 else ''} idle over "
                f"{short_duration(self.opts.idle)} (the longest {short_duration(t.idle_max)}): "
                "a pool that opens more than it uses, or leaks connections"
            )
            out.append(
                Culprit(
                    kind="idle",
                    node=max(t.nodes, key=lambda a: (t.nodes[a], a)),
                    id=None,
                    name=name,
                    addr=host,
                    user=t.user,
                    cmd="",
                    connections=t.connections,
                    value=t.idle_max,
                    threshold=int(self.opts.idle),
                    evidence=evidence,
                )
            )
        out.sort(key=lambda c: (-c.connections, -c.value, c.name, c.addr))
        return out[: self.opts.top]

    def result(self) -> tuple[Culprit, ...]:
        out: list[Culprit] = []
        for kind in KIND_ORDER:
            if kind == "idle":
                out += self._idle_culprits()
            else:
                out += [c for _, _, c in sorted(self.heaps.get(kind, []), reverse=True)]
        return tuple(out)
