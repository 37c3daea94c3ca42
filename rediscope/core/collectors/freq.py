"""Access frequency: the keys with the highest LFU counters (OBJECT FREQ), and per pattern."""

from __future__ import annotations

from rediscope.core.collectors.topn import KeyEntry, TopN
from rediscope.core.patterns.inference import PatternInferer
from rediscope.core.pipeline.records import Batch


class PatternFreq:
    """One pattern's keys at or above the minimum LFU counter, and their counters' sum."""

    __slots__ = ("freq", "keys")

    def __init__(self) -> None:
        self.keys = self.freq = 0


class FreqCollector:
    """Top keys by OBJECT FREQ (at least min_freq), and per-pattern totals."""

    needs: frozenset[str] = frozenset({"freq"})

    def __init__(self, top: int, min_freq: int, separators: str) -> None:
        self.top = top
        self.min_freq = min_freq
        self.inferer = PatternInferer(separators)
        self.hottest = TopN(top)
        self.patterns: dict[str, PatternFreq] = {}
        self.zero = 0
        self.total = 0

    def add(self, batch: Batch) -> None:
        freqs = batch.freq or []
        for key, freq in zip(batch.keys, freqs, strict=False):
            if freq is None:
                continue
            self.total += 1
            if freq == 0:
                self.zero += 1
            if freq >= self.min_freq:
                self.hottest.push(KeyEntry(freq, key=key, db=batch.db, node=batch.node))
                slot = self.patterns.get(pattern := self.inferer.infer(key))
                if slot is None:
                    slot = self.patterns[pattern] = PatternFreq()
                slot.keys += 1
                slot.freq += freq

    def merge(self, other: FreqCollector) -> None:
        if other is self:
            return
        self.hottest.merge(other.hottest)
        for p, theirs in other.patterns.items():
            slot = self.patterns.setdefault(p, PatternFreq())
            slot.keys += theirs.keys
            slot.freq += theirs.freq
        self.zero += other.zero
        self.total += other.total
