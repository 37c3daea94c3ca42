"""The encoding and TTL of the biggest keys of an RDB, kept while it is read: a live scan asks
the server for them afterwards (OBJECT ENCODING, PTTL), a file cannot be asked again (stdin,
a replication stream). Bounded: the biggest keys by bytes and, per type, by elements."""

from __future__ import annotations

import heapq
import itertools

from rediscope.core.scan import Batch

KEEP = 2000  # far more than any --top: a listed key is found here

_Entry = tuple[int, int, str, int, bytes, bytes | None, int | None]


class Details:
    def __init__(self) -> None:
        self._by_bytes: list[_Entry] = []
        self._by_elements: dict[bytes, list[_Entry]] = {}
        self._seq = itertools.count()

    def _push(self, heap: list[_Entry], entry: _Entry) -> None:
        if len(heap) < KEEP:
            heapq.heappush(heap, entry)
        elif entry[0] > heap[0][0]:
            heapq.heapreplace(heap, entry)

    def add(self, b: Batch) -> None:
        memory, lengths = b.memory or [], b.lengths or []
        encoding, ttl = b.encoding or [], b.ttl_ms or []
        floor = self._by_bytes[0][0] if len(self._by_bytes) >= KEEP else -1
        for i, key in enumerate(b.keys):
            mem, n = memory[i] or 0, lengths[i] or 0
            if mem > floor:
                entry = (mem, next(self._seq), b.node, b.db, key, encoding[i], ttl[i])
                self._push(self._by_bytes, entry)
                floor = self._by_bytes[0][0] if len(self._by_bytes) >= KEEP else -1
            heap = self._by_elements.setdefault(b.types[i], [])
            if len(heap) < KEEP or n > heap[0][0]:
                self._push(heap, (n, next(self._seq), b.node, b.db, key, encoding[i], ttl[i]))

    def lookup(self) -> dict[tuple[str, int, bytes], tuple[str | None, int | None]]:
        """(node, db, key) -> (encoding, ttl in ms: -1 none) of every key kept."""
        out: dict[tuple[str, int, bytes], tuple[str | None, int | None]] = {}
        for heap in (self._by_bytes, *self._by_elements.values()):
            for _, _, node, db, key, enc, ttl in heap:
                out[(node, db, key)] = (enc.decode() if enc else None, ttl)
        return out
