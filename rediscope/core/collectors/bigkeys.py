"""The biggest keys: top N by bytes, top N per type by elements, per-type totals, and the keys
over a threshold (bigkeys, and memory's top keys)."""

from __future__ import annotations

from rediscope.core.collectors.sketch import SizesByType
from rediscope.core.collectors.topn import KeyEntry, TopN, TypeTally, merge_tallies
from rediscope.core.pipeline.records import Batch


class BigKeysCollector:
    """Top N by bytes, top N per type by elements, per-type totals, threshold offenders."""

    needs: frozenset[str] = frozenset({"memory", "length"})
    MAX_OFFENDERS = 10_000  # keys over a threshold kept for the report (bounded memory)

    def __init__(
        self, top: int = 20, min_bytes: int | None = None, min_elements: int | None = None
    ) -> None:
        self.top = top
        self.min_bytes = min_bytes
        self.min_elements = min_elements
        self.by_bytes = TopN(top)
        self.by_elements: dict[str, TopN] = {}
        self.totals: dict[str, TypeTally] = {}
        self.offenders: list[KeyEntry] = []
        self.over = 0
        self.sizes = SizesByType()  # per type: the distributions of bytes and elements

    def add(self, batch: Batch) -> None:
        by_bytes, totals = self.by_bytes, self.totals
        node, db = batch.node, batch.db
        memory = batch.memory or [None] * len(batch.keys)
        lengths = batch.lengths or [None] * len(batch.keys)
        min_b, min_e = self.min_bytes, self.min_elements
        floor, floor_key = by_bytes.floor(), by_bytes.floor_key()
        self.sizes.add(batch.types, batch.memory, batch.lengths)
        for key, raw_type, mem, length in zip(
            batch.keys, batch.types, memory, lengths, strict=True
        ):
            tname = raw_type.decode()
            t = totals.get(tname)
            if t is None:
                t = totals[tname] = TypeTally()
                self.by_elements[tname] = TopN(self.top)
            t.keys += 1
            if mem is not None:
                t.bytes += mem
                if mem > floor or (mem == floor and key < floor_key):
                    by_bytes.push(KeyEntry(mem, key=key, db=db, node=node, type=tname,
                                           bytes=mem, elements=length))  # fmt: skip
                    floor, floor_key = by_bytes.floor(), by_bytes.floor_key()
            if length is not None:
                t.elements += length
                t.counted += 1
                heap = self.by_elements[tname]
                lf = heap.floor()
                if length > lf or (length == lf and key < heap.floor_key()):
                    heap.push(KeyEntry(length, key=key, db=db, node=node, type=tname,
                                       bytes=mem, elements=length))  # fmt: skip
            if (min_b is not None and mem is not None and mem >= min_b) or (
                min_e is not None and length is not None and length >= min_e
            ):
                self.over += 1
                if len(self.offenders) < self.MAX_OFFENDERS:
                    self.offenders.append(KeyEntry(mem or 0, key=key, db=db, node=node,
                                                   type=tname, bytes=mem, elements=length))  # fmt: skip

    def merge(self, other: BigKeysCollector) -> None:
        if other is self:
            return
        self.by_bytes.merge(other.by_bytes)
        for tname, heap in other.by_elements.items():
            self.by_elements.setdefault(tname, TopN(self.top)).merge(heap)
        merge_tallies(self.totals, other.totals, TypeTally)
        self.sizes.merge(other.sizes)
        self.over += other.over
        room = self.MAX_OFFENDERS - len(self.offenders)
        self.offenders.extend(other.offenders[:room])
