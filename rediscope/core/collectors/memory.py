"""Where the memory goes: bytes by type, encoding, db and node, and the evidence memory's
recommendations need (big strings, big collections, non-compact encodings)."""

from __future__ import annotations

from operator import mul
from typing import cast

from rediscope.core.collectors.columns import group_rows, known, pick
from rediscope.core.collectors.topn import KeyEntry, KeyTally, SizedTally, TopN, merge_tallies
from rediscope.core.pipeline.records import Batch

BIG_STRING = 100 * 1024
NONCOMPACT_MAX = 256  # collections up to 2x the default entries limit
BIG_COLLECTION = 5000
COMPACT = {
    b"hash": ((b"listpack", b"ziplist"), "hash-max-listpack-entries"),
    b"zset": ((b"listpack", b"ziplist"), "zset-max-listpack-entries"),
    b"set": ((b"intset", b"listpack"), "set-max-listpack-entries"),
}
EXAMPLES = 5  # example keys kept per recommendation


class MemoryCollector:
    """By type, encoding, db and node; the evidence the recommendations need."""

    needs: frozenset[str] = frozenset({"memory", "length", "encoding", "ttl"})

    def __init__(self) -> None:
        self.by_type: dict[bytes, KeyTally] = {}
        self.by_encoding: dict[tuple[bytes, bytes], KeyTally] = {}
        self.by_db: dict[int, KeyTally] = {}
        self.by_node: dict[str, KeyTally] = {}
        self.n = 0
        self.sum = 0
        self.sumsq = 0.0
        # how many, their bytes, and the biggest few as examples
        self.big_strings = KeyTally()
        self.big_strings_top = TopN(EXAMPLES)
        self.big_collections = KeyTally()
        self.big_collections_top = TopN(EXAMPLES)
        # type -> non-compact collections with few elements (and the most elements of one)
        self.noncompact: dict[bytes, SizedTally] = {}
        #: keys whose bytes are unknown (a module type with no model, from an RDB), per type
        self.unknown: dict[bytes, int] = {}
        #: the serialized bytes (RDB records) of those keys, and of every key read from a file
        self.unknown_serialized = 0
        self.serialized = 0

    def add(self, batch: Batch) -> None:
        """The batch's keys grouped by type and encoding, each group summed at once; a key is
        looked at on its own only where it can be evidence (a big string, a big or non-compact
        collection)."""
        n = len(batch.keys)
        self._unknown(batch)
        memory = batch.memory or [0] * n
        sizes = [m or 0 for m in memory] if None in memory else cast("list[int]", memory)
        encodings = batch.encoding or [None] * n
        by_type, by_enc = self.by_type, self.by_encoding
        # rows of the groups that hold a big string, a big collection, a non-compact one
        strings: list[int] = []
        collections: list[int] = []
        noncompact: list[int] = []
        for (t, enc), idx in group_rows(list(zip(batch.types, encodings, strict=True))).items():
            got = pick(sizes, idx)
            mem = sum(got)
            slot = by_type.get(t)
            if slot is None:
                slot = by_type[t] = KeyTally()
            slot.keys += len(idx)
            slot.bytes += mem
            e = (t, enc or b"?")
            slot = by_enc.get(e)
            if slot is None:
                slot = by_enc[e] = KeyTally()
            slot.keys += len(idx)
            slot.bytes += mem
            if t == b"string":
                if max(got) > BIG_STRING:
                    strings += idx
            elif batch.lengths is not None:
                counted = known(pick(batch.lengths, idx))
                if counted and max(counted) > BIG_COLLECTION:
                    collections += idx
                compact = COMPACT.get(t)
                small = counted and min(counted) <= NONCOMPACT_MAX
                if small and compact and enc is not None and enc not in compact[0]:
                    noncompact += idx
        if strings:
            self._big_strings(batch, sizes, sorted(strings))
        if collections:
            self._big_collections(batch, sizes, sorted(collections))
        if noncompact:
            self._noncompact(batch.types, batch.lengths, sizes, sorted(noncompact))
        total = sum(sizes)
        slot_db = self.by_db.setdefault(batch.db, KeyTally())
        slot_db.keys += n
        slot_db.bytes += total
        slot_node = self.by_node.setdefault(batch.node, KeyTally())
        slot_node.keys += n
        slot_node.bytes += total
        self.n += n
        self.sum += total
        self.sumsq += float(sum(map(mul, sizes, sizes)))

    def _big_strings(self, batch: Batch, sizes: list[int], rows: list[int]) -> None:
        """The big strings among ROWS (strings), in the batch's order."""
        keys, db, node = batch.keys, batch.db, batch.node
        for i in rows:
            mem = sizes[i]
            if mem > BIG_STRING:
                self.big_strings.keys += 1
                self.big_strings.bytes += mem
                self.big_strings_top.push(KeyEntry(mem, key=keys[i], db=db, node=node))

    def _big_collections(self, batch: Batch, sizes: list[int], rows: list[int]) -> None:
        """The big collections among ROWS (collections), in the batch's order."""
        assert batch.lengths is not None
        keys, lengths, db, node = batch.keys, batch.lengths, batch.db, batch.node
        for i in rows:
            length = lengths[i]
            if length is not None and length > BIG_COLLECTION:
                self.big_collections.keys += 1
                self.big_collections.bytes += sizes[i]
                self.big_collections_top.push(KeyEntry(length, key=keys[i], db=db, node=node))

    def _noncompact(
        self,
        types: list[bytes],
        lengths: list[int | None] | None,
        sizes: list[int],
        rows: list[int],
    ) -> None:
        """The collections with few elements among ROWS (collections in an encoding that is not
        their compact one), in the batch's order."""
        assert lengths is not None
        for i in rows:
            length = lengths[i]
            if length is not None and length <= NONCOMPACT_MAX:
                nc = self.noncompact.get(types[i])
                if nc is None:
                    nc = self.noncompact[types[i]] = SizedTally()
                nc.keys += 1
                nc.bytes += sizes[i]
                nc.most = max(nc.most, length)

    def _unknown(self, batch: Batch) -> None:
        """From files: the keys' serialized bytes, and those of keys whose bytes are unknown."""
        sizes = batch.serialized
        if sizes is not None:
            self.serialized += sum(sizes)
        if batch.memory is None or None not in batch.memory:
            return
        for i, mem in enumerate(batch.memory):
            if mem is None:
                t = batch.types[i]
                self.unknown[t] = self.unknown.get(t, 0) + 1
                self.unknown_serialized += sizes[i] if sizes is not None else 0

    def merge(self, other: MemoryCollector) -> None:
        if other is self:
            return
        for t, c in other.unknown.items():
            self.unknown[t] = self.unknown.get(t, 0) + c
        self.unknown_serialized += other.unknown_serialized
        self.serialized += other.serialized
        merge_tallies(self.by_type, other.by_type, KeyTally)
        merge_tallies(self.by_encoding, other.by_encoding, KeyTally)
        merge_tallies(self.by_db, other.by_db, KeyTally)
        merge_tallies(self.by_node, other.by_node, KeyTally)
        self.n += other.n
        self.sum += other.sum
        self.sumsq += other.sumsq
        self.big_strings.merge(other.big_strings)
        self.big_collections.merge(other.big_collections)
        self.big_strings_top.merge(other.big_strings_top)
        self.big_collections_top.merge(other.big_collections_top)
        merge_tallies(self.noncompact, other.noncompact, SizedTally)
