"""One side's raw tallies, bounded: the per-pattern table as the patterns collector keeps it
(unfolded beyond what this side alone taught its folder: the union is folded once, in
join.py), totals per type and per db, and the biggest keys by bytes."""

from __future__ import annotations

from collections import Counter
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
        """Per-column work where it can be (counts by type in C, sums by filter); the top-N
        looks only at the keys over its floor when the batch began (few, once it is full)."""
        by_type, db = self.by_type, batch.db
        memory = batch.memory
        for t, n in Counter(batch.types).items():
            slot = by_type.get(t)
            if slot is None:
                slot = by_type[t] = [0, 0]
            slot[0] += n
        slot_db = self.by_db.setdefault(db, [0, 0])
        slot_db[0] += len(batch.keys)
        if memory is None:
            return
        for t, mem in zip(batch.types, memory, strict=True):
            if mem:
                by_type[t][1] += mem
        slot_db[1] += sum(filter(None, memory))
        floor = self.top.floor()
        over = [i for i, mem in enumerate(memory) if mem is not None and mem >= floor]
        if over:
            self._push(batch, over)

    def _push(self, batch: Batch, idx: list[int]) -> None:
        top, keys, types, memory = self.top, batch.keys, batch.types, batch.memory
        assert memory is not None
        lengths = batch.lengths
        floor, floor_key = top.floor(), top.floor_key()
        for i in idx:
            mem, key = memory[i], keys[i]
            if mem is not None and (mem > floor or (mem == floor and key < floor_key)):
                top.push(KeyEntry(mem, key=key, db=batch.db, node=batch.node,
                                  type=types[i].decode(), bytes=mem,
                                  elements=lengths[i] if lengths is not None else None))  # fmt: skip
                floor, floor_key = top.floor(), top.floor_key()

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
