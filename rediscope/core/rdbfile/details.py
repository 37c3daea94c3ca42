"""The encoding and TTL of the biggest keys of an RDB, kept while it is read: a live scan asks
the server for them afterwards (OBJECT ENCODING, PTTL), a file cannot be asked again (stdin,
a replication stream). Bounded: the biggest keys by bytes and, per type, by elements."""

from __future__ import annotations

import heapq
import itertools

from rediscope.core.pipeline.records import Batch

KEEP = 2000  # far more than any --top: a listed key is found here

_Entry = tuple[int, int, str, int, bytes, bytes | None, int | None]


class Details:
    def __init__(self) -> None:
        self._by_bytes: list[_Entry] = []
        self._by_elements: dict[bytes, list[_Entry]] = {}
        self._seq = itertools.count()
        self._floors: dict[bytes, int] = {}  # type -> the count a key must beat to be kept

    def _push(self, heap: list[_Entry], entry: _Entry) -> None:
        if len(heap) < KEEP:
            heapq.heappush(heap, entry)
        elif entry[0] > heap[0][0]:
            heapq.heapreplace(heap, entry)

    def add(self, b: Batch) -> None:
        memory, lengths = b.memory or [], b.lengths or []
        encoding, ttl = b.encoding or [], b.ttl_ms or []
        by_bytes, by_elements = self._by_bytes, self._by_elements
        floor = by_bytes[0][0] if len(by_bytes) >= KEEP else -1
        floors = self._floors
        for key, t, mem, n, enc, ms in zip(
            b.keys, b.types, memory, lengths, encoding, ttl, strict=False
        ):
            if mem is not None and mem > floor:
                self._push(by_bytes, (mem, next(self._seq), b.node, b.db, key, enc, ms))
                floor = by_bytes[0][0] if len(by_bytes) >= KEEP else -1
            if n is not None and n > floors.get(t, -1):
                heap = by_elements.setdefault(t, [])
                self._push(heap, (n, next(self._seq), b.node, b.db, key, enc, ms))
                floors[t] = heap[0][0] if len(heap) >= KEEP else -1

    def state(self) -> tuple[list[_Entry], dict[bytes, list[_Entry]]]:
        """What is kept, to send to another process (rdbfile/parallel.py)."""
        return self._by_bytes, self._by_elements

    def absorb(self, state: tuple[list[_Entry], dict[bytes, list[_Entry]]]) -> None:
        """Another reader's kept keys added to these, within the same bound."""
        by_bytes, by_elements = state
        for entry in by_bytes:
            self._push(self._by_bytes, (entry[0], next(self._seq), *entry[2:]))
        for t, heap in by_elements.items():
            mine = self._by_elements.setdefault(t, [])
            for entry in heap:
                self._push(mine, (entry[0], next(self._seq), *entry[2:]))
            self._floors[t] = mine[0][0] if len(mine) >= KEEP else -1

    def lookup(self) -> dict[tuple[str, int, bytes], tuple[str | None, int | None]]:
        """(node, db, key) -> (encoding, ttl in ms: -1 none) of every key kept."""
        out: dict[tuple[str, int, bytes], tuple[str | None, int | None]] = {}
        for heap in (self._by_bytes, *self._by_elements.values()):
            for _, _, node, db, key, enc, ttl in heap:
                out[(node, db, key)] = (enc.decode() if enc else None, ttl)
        return out
