"""One side's raw tallies, bounded: the per-pattern table as the patterns collector keeps it
(unfolded beyond what this side alone taught its folder: the union is folded once, in
join.py), totals per type and per db, and the biggest keys by bytes."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TypeVar

from rediscope.core.collectors.patterns import _Agg
from rediscope.core.collectors.topn import KeyEntry, TopN
from rediscope.core.patterns.inference import PatternFolder
from rediscope.core.pipeline.records import Batch

K = TypeVar("K")

#: the biggest keys kept per side, for the keys that grew most
TOP_KEYS = 1000


class SideCollector:
    """Keys and bytes per type and per db, and the TOP_KEYS biggest keys by bytes."""

    needs: frozenset[str] = frozenset({"memory", "length"})

    def __init__(self, top: int = TOP_KEYS) -> None:
        self.by_type: dict[bytes, list[int]] = {}
        self.by_db: dict[int, list[int]] = {}
        self.top = TopN(top)

    def add(self, batch: Batch) -> None:
        n = len(batch.keys)
        memory = batch.memory or [None] * n
        lengths = batch.lengths or [None] * n
        by_type, top, db, node = self.by_type, self.top, batch.db, batch.node
        floor, floor_key = top.floor(), top.floor_key()
        total = 0
        for key, t, mem, length in zip(batch.keys, batch.types, memory, lengths, strict=True):
            slot = by_type.get(t)
            if slot is None:
                slot = by_type[t] = [0, 0]
            slot[0] += 1
            if mem is None:
                continue
            slot[1] += mem
            total += mem
            if mem > floor or (mem == floor and key < floor_key):
                top.push(KeyEntry(mem, key=key, db=db, node=node, type=t.decode(),
                                  bytes=mem, elements=length))  # fmt: skip
                floor, floor_key = top.floor(), top.floor_key()
        slot_db = self.by_db.setdefault(db, [0, 0])
        slot_db[0] += n
        slot_db[1] += total

    def merge(self, other: SideCollector) -> None:
        if other is self:
            return
        add_pairs(self.by_type, other.by_type)
        add_pairs(self.by_db, other.by_db)
        self.top.merge(other.top)


def add_pairs(mine: dict[K, list[int]], theirs: dict[K, list[int]]) -> None:
    for k, (keys, size) in theirs.items():
        slot = mine.setdefault(k, [0, 0])
        slot[0] += keys
        slot[1] += size


@dataclass
class SideTally:
    """What one side leaves once read: bounded, whatever the keyspace's size."""

    table: dict[str, _Agg]
    folder: PatternFolder
    by_type: dict[str, list[int]]  # type -> [keys, bytes]
    by_db: dict[str, list[int]]  # "db0" -> [keys, bytes]
    bytes_known: bool
    factor: float = 1.0  # extrapolation of a sample
    top: list[KeyEntry] | None = None  # biggest first; None: the side keeps no keys
    top_full: bool = False  # the list was full: keys outside it are at most its smallest
    top_size: int = TOP_KEYS
    notes: list[str] = field(default_factory=list)

    @property
    def keys(self) -> int:
        return round(sum(a.keys for a in self.table.values()) * self.factor)

    @property
    def bytes(self) -> int | None:
        if not self.bytes_known:
            return None
        return round(sum(a.bytes for a in self.table.values()) * self.factor)
