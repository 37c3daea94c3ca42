"""Where the memory goes: bytes by type, encoding, db and node, and the evidence memory's
recommendations need (big strings, big collections, non-compact encodings)."""

from __future__ import annotations

from typing import Any

from rediscope.core.collectors.topn import KeyEntry, TopN
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
        self.by_type: dict[bytes, list[int]] = {}
        self.by_encoding: dict[tuple[bytes, bytes], list[int]] = {}
        self.by_db: dict[int, list[int]] = {}
        self.by_node: dict[str, list[int]] = {}
        self.n = 0
        self.sum = 0
        self.sumsq = 0.0
        # [count, bytes], and the biggest few as examples
        self.big_strings = [0, 0]
        self.big_strings_top = TopN(EXAMPLES)
        self.big_collections = [0, 0]
        self.big_collections_top = TopN(EXAMPLES)
        # type -> [count, bytes, max elements] of non-compact collections with few elements
        self.noncompact: dict[bytes, list[int]] = {}
        #: keys whose bytes are unknown (a module type with no model, from an RDB), per type
        self.unknown: dict[bytes, int] = {}
        #: the serialized bytes (RDB records) of those keys, and of every key read from a file
        self.unknown_serialized = 0
        self.serialized = 0

    def add(self, batch: Batch) -> None:
        n = len(batch.keys)
        if batch.serialized is not None:
            self.serialized += sum(batch.serialized)
        if batch.memory is not None and None in batch.memory:
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
                slot = by_type[t] = [0, 0]
            slot[0] += 1
            slot[1] += mem
            e = (t, enc or b"?")
            slot = by_enc.get(e)
            if slot is None:
                slot = by_enc[e] = [0, 0]
            slot[0] += 1
            slot[1] += mem
            if t == b"string":
                if mem > BIG_STRING:
                    self.big_strings[0] += 1
                    self.big_strings[1] += mem
                    self.big_strings_top.push(KeyEntry(mem, key=key, db=db, node=node))
            elif length is not None:
                if length > BIG_COLLECTION:
                    self.big_collections[0] += 1
                    self.big_collections[1] += mem
                    self.big_collections_top.push(KeyEntry(length, key=key, db=db, node=node))
                compact = COMPACT.get(t)
                if (
                    compact is not None
                    and enc is not None
                    and enc not in compact[0]
                    and (length <= NONCOMPACT_MAX)
                ):
                    nc = self.noncompact.setdefault(t, [0, 0, 0])
                    nc[0] += 1
                    nc[1] += mem
                    nc[2] = max(nc[2], length)
        slot_db = self.by_db.setdefault(db, [0, 0])
        slot_db[0] += n
        slot_db[1] += total
        slot_node = self.by_node.setdefault(node, [0, 0])
        slot_node[0] += n
        slot_node[1] += total
        self.n += n
        self.sum += total
        self.sumsq += sumsq

    def _unknown(self, batch: Batch) -> None:
        assert batch.memory is not None
        sizes = batch.serialized
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
        _add_pairs(self.by_type, other.by_type)
        _add_pairs(self.by_encoding, other.by_encoding)
        _add_pairs(self.by_db, other.by_db)
        _add_pairs(self.by_node, other.by_node)
        self.n += other.n
        self.sum += other.sum
        self.sumsq += other.sumsq
        for a2, b2 in (
            (self.big_strings, other.big_strings),
            (self.big_collections, other.big_collections),
        ):
            a2[0] += b2[0]
            a2[1] += b2[1]
        self.big_strings_top.merge(other.big_strings_top)
        self.big_collections_top.merge(other.big_collections_top)
        for t, (c, b, m) in other.noncompact.items():
            nc = self.noncompact.setdefault(t, [0, 0, 0])
            nc[0] += c
            nc[1] += b
            nc[2] = max(nc[2], m)


def _add_pairs(mine: dict[Any, list[int]], theirs: dict[Any, list[int]]) -> None:
    for k, (a, b) in theirs.items():
        slot = mine.setdefault(k, [0, 0])
        slot[0] += a
        slot[1] += b
