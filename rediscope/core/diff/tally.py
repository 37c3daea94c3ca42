"""One side's raw tallies, bounded: the per-pattern table as the patterns collector keeps it
(unfolded beyond what this side alone taught its folder: the union is folded once, in
join.py), totals per type and per db, and the biggest keys by bytes."""

from __future__ import annotations

import heapq
from collections import Counter
from dataclasses import dataclass, field
from typing import TypeVar

from rediscope.core.collectors.patterns import _Agg
from rediscope.core.collectors.topn import KeyEntry
from rediscope.core.patterns.inference import PatternFolder
from rediscope.core.pipeline.records import Batch

K = TypeVar("K")

#: the biggest keys kept per side, for the keys that grew most
TOP_KEYS = 1000


#: a key's bytes complemented, then 0xFF: ordering these reverses the keys' order (a longer
#: key after its own prefix included), so a min-heap of (bytes, reversed name) drops, at equal
#: size, the greater name first, as TopN does, with tuples compared in C
_REVERSE = bytes(range(255, -1, -1))

#: one kept key: (bytes, reversed name, db, node, key, type, elements)
Kept = tuple[int, bytes, int, str, bytes, bytes, int | None]


class SideCollector:
    """Keys and bytes per type and per db, and the TOP_KEYS biggest keys by bytes (at equal
    size the smaller name, as collectors/topn.py ranks them, so the list does not depend on
    the order keys arrive in)."""

    needs: frozenset[str] = frozenset({"memory", "length"})

    def __init__(
        self, top: int = TOP_KEYS, watch: frozenset[tuple[int, bytes]] = frozenset()
    ) -> None:
        self.by_type: dict[bytes, list[int]] = {}
        self.by_db: dict[int, list[int]] = {}
        self.size = top
        self.heap: list[Kept] = []
        #: keys looked up while reading (the other side's biggest): (db, key) -> (bytes, elements)
        self.watch = watch
        self._watch_names = frozenset(k for _, k in watch)
        self.watched: dict[tuple[int, bytes], tuple[int | None, int | None]] = {}

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
        if self._watch_names:
            self._look_up(batch)
        if memory is None:
            return
        for t, mem in zip(batch.types, memory, strict=True):
            if mem:
                by_type[t][1] += mem
        slot_db[1] += sum(filter(None, memory))
        floor = self.heap[0][0] if len(self.heap) >= self.size else -1
        over = [i for i, mem in enumerate(memory) if mem is not None and mem >= floor]
        if over:
            self._push(batch, over)

    def _look_up(self, batch: Batch) -> None:
        """The watched keys of this batch: their bytes and elements on this side."""
        names, db = self._watch_names, batch.db
        for i in [i for i, k in enumerate(batch.keys) if k in names]:
            if (db, batch.keys[i]) in self.watch:
                mem = batch.memory[i] if batch.memory is not None else None
                n = batch.lengths[i] if batch.lengths is not None else None
                self.watched[(db, batch.keys[i])] = (mem, n)

    def _push(self, batch: Batch, idx: list[int]) -> None:
        heap, size, keys, types, memory = (
            self.heap,
            self.size,
            batch.keys,
            batch.types,
            batch.memory,
        )
        assert memory is not None
        lengths = batch.lengths
        for i in idx:
            mem, key = memory[i], keys[i]
            if mem is None:
                continue
            entry = (mem, key.translate(_REVERSE) + b"\xff", batch.db, batch.node, key, types[i],
                     lengths[i] if lengths is not None else None)  # fmt: skip
            if len(heap) < size:
                heapq.heappush(heap, entry)
            elif entry[:2] > heap[0][:2]:
                heapq.heapreplace(heap, entry)

    def merge(self, other: SideCollector) -> None:
        if other is self:
            return
        add_pairs(self.by_type, other.by_type)
        add_pairs(self.by_db, other.by_db)
        self.watched.update(other.watched)
        for entry in other.heap:
            if len(self.heap) < self.size:
                heapq.heappush(self.heap, entry)
            elif entry[:2] > self.heap[0][:2]:
                heapq.heapreplace(self.heap, entry)

    @property
    def full(self) -> bool:
        """Every key outside the list is at most as big as its smallest."""
        return len(self.heap) >= self.size

    def ranked(self) -> list[KeyEntry]:
        """The kept keys, biggest first; equal sizes by key name."""
        return [
            KeyEntry(mem, key=key, db=db, node=node, type=t.decode(), bytes=mem, elements=n)
            for mem, _, db, node, key, t, n in sorted(self.heap, key=lambda e: (-e[0], e[4]))
        ]


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
    #: the other side's biggest keys as found on this side, (db, key) -> (bytes, elements);
    #: a watched key not in it is not on this side. None: nothing was watched
    watched: dict[tuple[int, bytes], tuple[int | None, int | None]] | None = None

    @property
    def keys(self) -> int:
        return round(sum(a.keys for a in self.table.values()) * self.factor)

    @property
    def bytes(self) -> int | None:
        if not self.bytes_known:
            return None
        return round(sum(a.bytes for a in self.table.values()) * self.factor)
