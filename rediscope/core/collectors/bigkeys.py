"""The biggest keys: top N by bytes, top N per type by elements, per-type totals, and the keys
over a threshold (bigkeys, and memory's top keys)."""

from __future__ import annotations

from rediscope.core.collectors.columns import group_rows, known, pick
from rediscope.core.collectors.sketch import SizesByType
from rediscope.core.collectors.topn import KeyEntry, TopN, TypeTally, merge_tallies
from rediscope.core.pipeline.records import Batch


class BigKeysCollector:
    """Top N by bytes, top N per type by elements, per-type totals, threshold offenders."""

    needs: frozenset[str] = frozenset({"memory", "length"})
    MAX_OFFENDERS = 10_000  # keys over a threshold kept for the report (bounded memory)
    #: run in the worker process a costlier collector gets, when one does: it reads nothing
    #: that is not sent there (pipeline/offload.py: ALONG)
    offload_cost = 1

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
        """Per type, the keys' totals summed over its rows at once; a key is looked at on its
        own only where it can enter a top-N (its score at least the floor), or with a threshold
        set."""
        memory, lengths = batch.memory, batch.lengths
        groups = group_rows(batch.types)
        self.sizes.add_groups(groups, memory, lengths)
        for raw_type, idx in groups.items():
            tname = raw_type.decode()
            t = self.totals.get(tname)
            if t is None:
                t = self.totals[tname] = TypeTally()
                self.by_elements[tname] = TopN(self.top)
            t.keys += len(idx)
            if memory is not None:
                t.bytes += sum(known(pick(memory, idx)))
            if lengths is not None:
                counted = known(pick(lengths, idx))
                t.elements += sum(counted)
                t.counted += len(counted)
                heap = self.by_elements[tname]
                if counted and max(counted) >= heap.floor():
                    self._top_elements(heap, batch, idx, tname)
        if memory is not None:
            sizes = known(memory)
            if sizes and max(sizes) >= self.by_bytes.floor():
                self._top_bytes(batch, memory)
        if self.min_bytes is not None or self.min_elements is not None:
            self._offenders(batch)

    def _top_bytes(self, batch: Batch, memory: list[int | None]) -> None:
        """The batch's keys that enter the top N by bytes, in the batch's order."""
        by_bytes, node, db = self.by_bytes, batch.node, batch.db
        lengths = batch.lengths or [None] * len(memory)
        floor, floor_key = by_bytes.floor(), by_bytes.floor_key()
        for key, raw_type, mem, length in zip(
            batch.keys, batch.types, memory, lengths, strict=True
        ):
            if mem is not None and (mem > floor or (mem == floor and key < floor_key)):
                by_bytes.push(KeyEntry(mem, key=key, db=db, node=node, type=raw_type.decode(),
                                       bytes=mem, elements=length))  # fmt: skip
                floor, floor_key = by_bytes.floor(), by_bytes.floor_key()

    def _top_elements(self, heap: TopN, batch: Batch, idx: list[int], tname: str) -> None:
        """The keys IDX (of one type) that enter its top N by elements, in the batch's order
        (many keys of a type can tie at the floor: their names decide)."""
        assert batch.lengths is not None
        memory = batch.memory or [None] * len(batch.keys)
        keys, lengths, node, db = batch.keys, batch.lengths, batch.node, batch.db
        floor, floor_key = heap.floor(), heap.floor_key()
        for i, length in [(i, n) for i in idx if (n := lengths[i]) is not None and n >= floor]:
            key = keys[i]
            if length > floor or (length == floor and key < floor_key):
                heap.push(KeyEntry(length, key=key, db=db, node=node, type=tname,
                                   bytes=memory[i], elements=length))  # fmt: skip
                floor, floor_key = heap.floor(), heap.floor_key()

    def _offenders(self, batch: Batch) -> None:
        """The keys over a threshold (--min-bytes, --min-elements), in the batch's order."""
        node, db, n = batch.node, batch.db, len(batch.keys)
        min_b, min_e = self.min_bytes, self.min_elements
        memory = batch.memory or [None] * n
        lengths = batch.lengths or [None] * n
        for key, raw_type, mem, length in zip(
            batch.keys, batch.types, memory, lengths, strict=True
        ):
            if (min_b is not None and mem is not None and mem >= min_b) or (
                min_e is not None and length is not None and length >= min_e
            ):
                self.over += 1
                if len(self.offenders) < self.MAX_OFFENDERS:
                    self.offenders.append(KeyEntry(mem or 0, key=key, db=db, node=node,
                                                   type=raw_type.decode(), bytes=mem,
                                                   elements=length))  # fmt: skip

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
