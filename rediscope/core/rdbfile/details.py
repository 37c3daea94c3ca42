"""The encoding and TTL of the biggest keys of an RDB, kept while it is read: a live scan asks
the server for them afterwards (OBJECT ENCODING, PTTL), a file cannot be asked again (stdin,
a replication stream). Bounded: the biggest keys by bytes and, per type, by elements."""

from __future__ import annotations

import heapq
import itertools
from itertools import count
from typing import cast

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
        """The batch's keys that can be kept (a score above the floor), in the batch's order:
        most batches have none, which a max() over a column tells. A batch without the
        columns a kept key carries keeps none."""
        if not (b.memory and b.lengths and b.encoding and b.ttl_ms):
            return
        by_bytes, floors = self._by_bytes, self._floors
        sizes = [m for m in b.memory if m is not None] if None in b.memory else b.memory
        floor = by_bytes[0][0] if len(by_bytes) >= KEEP else -1
        if sizes and max(cast("list[int]", sizes)) > floor:
            self._add_bytes(b, b.memory, floor)
        counts = [n for n in b.lengths if n is not None] if None in b.lengths else b.lengths
        lowest = min(floors.get(t, -1) for t in set(b.types))
        if counts and max(cast("list[int]", counts)) > lowest:
            self._add_elements(b, b.lengths)

    def _add_bytes(self, b: Batch, memory: list[int | None], floor: int) -> None:
        by_bytes = self._by_bytes
        encoding, ttl = b.encoding or [], b.ttl_ms or []
        for key, mem, enc, ms in zip(b.keys, memory, encoding, ttl, strict=False):
            if mem is not None and mem > floor:
                self._push(by_bytes, (mem, next(self._seq), b.node, b.db, key, enc, ms))
                floor = by_bytes[0][0] if len(by_bytes) >= KEEP else -1

    def _add_elements(self, b: Batch, lengths: list[int | None]) -> None:
        by_elements, floors = self._by_elements, self._floors
        encoding, ttl = b.encoding or [], b.ttl_ms or []
        above = floors.get  # the floors only rise while the batch is read: checked again below
        rows = [
            i for i, t, n in zip(count(), b.types, lengths) if n is not None and n > above(t, -1)
        ]
        for i in rows:
            t, n = b.types[i], cast("int", lengths[i])
            if n > floors.get(t, -1) and i < len(encoding) and i < len(ttl):
                heap = by_elements.setdefault(t, [])
                self._push(heap, (n, next(self._seq), b.node, b.db, b.keys[i], encoding[i], ttl[i]))
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
