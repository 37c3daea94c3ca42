"""One bounded top-N for every collector: the N biggest entries seen, in O(N) memory."""

from __future__ import annotations

import heapq
from dataclasses import dataclass, field
from typing import Any


@dataclass(slots=True)
class KeyTally:
    """Keys and their bytes: a count that merges by adding."""

    keys: int = 0
    bytes: int = 0

    def merge(self, other: KeyTally) -> None:
        self.keys += other.keys
        self.bytes += other.bytes


@dataclass(slots=True)
class TypeTally(KeyTally):
    """Keys of one type, their bytes and their elements (summed over the keys whose element
    count is known: `counted`; a module type without a cheap count has none)."""

    elements: int = 0
    counted: int = 0

    def merge(self, other: KeyTally) -> None:
        KeyTally.merge(self, other)
        if isinstance(other, TypeTally):
            self.elements += other.elements
            self.counted += other.counted


@dataclass(slots=True)
class SizedTally(KeyTally):
    """Keys, their bytes, and the most elements any of them has."""

    most: int = 0

    def merge(self, other: KeyTally) -> None:
        KeyTally.merge(self, other)
        if isinstance(other, SizedTally):
            self.most = max(self.most, other.most)


def merge_tallies(mine: dict[Any, Any], theirs: dict[Any, Any], make: type[KeyTally]) -> None:
    """Add THEIRS' tallies into MINE, key by key."""
    for k, tally in theirs.items():
        slot = mine.get(k)
        if slot is None:
            slot = mine[k] = make()
        slot.merge(tally)


class _NameLast:
    """At equal score the smaller key name ranks higher, so a top-N does not depend on the
    order keys arrive in (SCAN order, type walks, shards)."""

    __slots__ = ("key",)

    def __init__(self, key: bytes) -> None:
        self.key = key

    def __lt__(self, other: _NameLast) -> bool:
        return self.key > other.key

    def __eq__(self, other: Any) -> bool:
        return isinstance(other, _NameLast) and self.key == other.key

    def __hash__(self) -> int:
        return hash(self.key)


@dataclass(frozen=True, order=True)
class KeyEntry:
    """A key worth remembering: ranked by `score` (bytes, elements, a counter), then by name."""

    score: int
    tie: _NameLast = field(init=False, repr=False)
    key: bytes = field(default=b"", compare=False)
    db: int = field(default=0, compare=False)
    node: str = field(default="", compare=False)
    type: str = field(default="", compare=False)
    bytes: int | None = field(default=None, compare=False)
    elements: int | None = field(default=None, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "tie", _NameLast(self.key))


class TopN:
    """The `size` entries with the highest score; merge() keeps the bound across nodes."""

    def __init__(self, size: int) -> None:
        self.size = size
        self._heap: list[KeyEntry] = []

    def __len__(self) -> int:
        return len(self._heap)

    def floor(self) -> int:
        """The lowest score that may still get in, by a smaller key name at a tie (-1 while
        there is room)."""
        return self._heap[0].score if len(self._heap) >= self.size else -1

    def floor_key(self) -> bytes:
        """At a score equal to floor(), a key name must be smaller than this to get in."""
        return self._heap[0].key if len(self._heap) >= self.size else b"\xff" * 1024

    def push(self, entry: KeyEntry) -> None:
        if len(self._heap) < self.size:
            heapq.heappush(self._heap, entry)
        elif entry > self._heap[0]:
            heapq.heapreplace(self._heap, entry)

    def merge(self, other: TopN) -> None:
        if other is not self:
            for entry in other._heap:
                self.push(entry)

    def ranked(self) -> list[KeyEntry]:
        """Highest score first; equal scores by key name (stable across runs and shards)."""
        return sorted(self._heap, key=lambda e: (-e.score, e.key))
