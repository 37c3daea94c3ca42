"""Where the memory goes: bytes by type, encoding, db and node, and the evidence memory's
recommendations need (big strings, big collections, non-compact encodings)."""

from __future__ import annotations

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
        n = len(batch.keys)
        self._unknown(batch)
        memory = batch.memory or [0] * n
        lengths = batch.lengths or [None] * n
        encodings = batch.encoding or [None] * n
        node, db = batch.node, batch.db
        by_type, by_enc = self.by_type, self.by_encoding
        total = 0
        sumsq = 0.0
        for key, t, mem, length, enc in zip(
            batch.keys, batch.types, memory, lengths, encodings, strict=True
        ):
            mem = mem or 0
            total += mem
            sumsq += mem * mem
            slot = by_type.get(t)
            if slot is None:
                slot = by_type[t] = KeyTally()
            slot.keys += 1
            slot.bytes += mem
            e = (t, enc or b"?")
            slot = by_enc.get(e)
            if slot is None:
                slot = by_enc[e] = KeyTally()
            slot.keys += 1
            slot.bytes += mem
            if t == b"string":
                if mem > BIG_STRING:
                    self.big_strings.keys += 1
                    self.big_strings.bytes += mem
                    self.big_strings_top.push(KeyEntry(mem, key=key, db=db, node=node))
            elif length is not None:
                if length > BIG_COLLECTION:
                    self.big_collections.keys += 1
                    self.big_collections.bytes += mem
                    self.big_collections_top.push(KeyEntry(length, key=key, db=db, node=node))
                compact = COMPACT.get(t)
                if (
                    compact is not None
                    and enc is not None
                    and enc not in compact[0]
                    and (length <= NONCOMPACT_MAX)
                ):
                    nc = self.noncompact.get(t)
                    if nc is None:
                        nc = self.noncompact[t] = SizedTally()
                    nc.keys += 1
                    nc.bytes += mem
                    nc.most = max(nc.most, length)
        slot_db = self.by_db.setdefault(db, KeyTally())
        slot_db.keys += n
        slot_db.bytes += total
        slot_node = self.by_node.setdefault(node, KeyTally())
        slot_node.keys += n
        slot_node.bytes += total
        self.n += n
        self.sum += total
        self.sumsq += sumsq

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
