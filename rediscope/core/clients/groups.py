"""Per-group aggregates with bounded state: counts and sums are exact; the idle and age
medians come from a reservoir of at most RESERVOIR connections per group (exact below it);
at most MAX_GROUPS distinct values are kept, the rest are counted under one "(other)" group."""

from __future__ import annotations

import random
import statistics
from array import array
from dataclasses import dataclass, field

from rediscope.core.clients.model import ClientGroup, ClientRow, GroupBy

RESERVOIR = 256
MAX_GROUPS = 10_000
OTHER = b"(other)"


def group_key(row: ClientRow, by: GroupBy) -> bytes:
    if by == "name":
        return row.name
    if by == "addr":
        return row.host
    if by == "user":
        return row.user
    if by == "db":
        return str(row.db).encode()
    return row.cmd.encode()


@dataclass
class GroupTally:
    """One group's running state."""

    rng: random.Random
    connections: int = 0
    nodes: dict[str, int] = field(default_factory=dict)
    idle: array[int] = field(default_factory=lambda: array("q"))
    age: array[int] = field(default_factory=lambda: array("q"))
    idle_max: int = 0
    age_max: int = 0
    blocked: int = 0
    in_multi: int = 0
    subscribers: int = 0
    subscriptions: int = 0
    tracking: int = 0
    monitors: int = 0
    tot_mem: int = 0
    omem: int = 0
    omem_max: int = 0
    qbuf: int = 0

    def add(self, row: ClientRow) -> None:
        self.connections += 1
        self.nodes[row.node] = self.nodes.get(row.node, 0) + 1
        self._sample(row.idle_s, row.age_s)
        self.idle_max = max(self.idle_max, row.idle_s)
        self.age_max = max(self.age_max, row.age_s)
        self.blocked += row.blocked
        self.in_multi += row.in_multi
        self.subscribers += row.subscriptions > 0
        self.subscriptions += row.subscriptions
        self.tracking += row.tracking
        self.monitors += row.monitor
        self.tot_mem += row.tot_mem
        self.omem += row.omem
        self.omem_max = max(self.omem_max, row.omem)
        self.qbuf += row.qbuf

    def _sample(self, idle: int, age: int) -> None:
        """Reservoir sampling (Algorithm R): every connection equally likely to be kept."""
        if len(self.idle) < RESERVOIR:
            self.idle.append(idle)
            self.age.append(age)
            return
        slot = self.rng.randrange(self.connections)
        if slot < RESERVOIR:
            self.idle[slot] = idle
            self.age[slot] = age

    def freeze(self, key: bytes) -> ClientGroup:
        return ClientGroup(
            key=key,
            connections=self.connections,
            nodes=dict(sorted(self.nodes.items())),
            idle_median_s=float(statistics.median(self.idle)) if self.idle else 0.0,
            idle_max_s=self.idle_max,
            age_median_s=float(statistics.median(self.age)) if self.age else 0.0,
            age_max_s=self.age_max,
            median_sampled=self.connections > len(self.idle),
            blocked=self.blocked,
            in_multi=self.in_multi,
            subscribers=self.subscribers,
            subscriptions=self.subscriptions,
            tracking=self.tracking,
            monitors=self.monitors,
            tot_mem=self.tot_mem,
            omem=self.omem,
            omem_max=self.omem_max,
            qbuf=self.qbuf,
        )


class Groups:
    """Every connection (rediscope's own left out) tallied under its --by value."""

    def __init__(self, by: GroupBy, seed: int = 0) -> None:
        self.by = by
        self.rng = random.Random(seed)  # seeded: the same listing gives the same medians
        self.tallies: dict[bytes, GroupTally] = {}
        self.total = GroupTally(self.rng)
        self.overflowed = False

    def add(self, row: ClientRow) -> None:
        key = group_key(row, self.by)
        tally = self.tallies.get(key)
        if tally is None:
            if len(self.tallies) >= MAX_GROUPS:
                self.overflowed = True
                key = OTHER
                tally = self.tallies.get(key)
            if tally is None:
                tally = self.tallies[key] = GroupTally(self.rng)
        tally.add(row)
        self.total.add(row)

    def top(self, n: int) -> tuple[ClientGroup, ...]:
        """The n biggest groups (most connections, then most memory, then by key)."""
        ranked = sorted(
            self.tallies.items(), key=lambda kv: (-kv[1].connections, -kv[1].tot_mem, kv[0])
        )
        return tuple(t.freeze(k) for k, t in ranked[:n])
