"""One bounded top-N for every collector: the N biggest entries seen, in O(N) memory."""

from __future__ import annotations

import heapq
import itertools
from dataclasses import dataclass, field

_seq = itertools.count()  # ties in score keep the order of arrival out of the comparison


@dataclass(frozen=True, order=True)
class KeyEntry:
    """A key worth remembering: ranked by `score` (bytes, elements, a counter)."""

    score: int
    seq: int = field(default_factory=lambda: next(_seq))
    key: bytes = field(default=b"", compare=False)
    db: int = field(default=0, compare=False)
    node: str = field(default="", compare=False)
    type: str = field(default="", compare=False)
    bytes: int | None = field(default=None, compare=False)
    elements: int | None = field(default=None, compare=False)


class TopN:
    """The `size` entries with the highest score; merge() keeps the bound across nodes."""

    def __init__(self, size: int) -> None:
        self.size = size
        self._heap: list[KeyEntry] = []

    def __len__(self) -> int:
        return len(self._heap)

    def floor(self) -> int:
        """The score an entry must beat to get in (-1 while there is room)."""
        return self._heap[0].score if len(self._heap) >= self.size else -1

    def push(self, entry: KeyEntry) -> None:
        if len(self._heap) < self.size:
            heapq.heappush(self._heap, entry)
        elif entry.score > self._heap[0].score:
            heapq.heapreplace(self._heap, entry)

    def merge(self, other: TopN) -> None:
        if other is not self:
            for entry in other._heap:
                self.push(entry)

    def ranked(self) -> list[KeyEntry]:
        """Highest score first; equal scores by key name (stable across runs and shards)."""
        return sorted(self._heap, key=lambda e: (-e.score, e.key))
