"""What the audit needs per key pattern, with bounded state: TTL coverage and the keys
without one, expiry times to the second, old keys without TTL, the longest collections and
the biggest strings."""

from __future__ import annotations

import time

from rediscope.core.collectors.patterns import merge_folded
from rediscope.core.patterns.inference import PatternFolder, PatternInferer, Rule
from rediscope.core.pipeline.records import Batch

EXAMPLES = 5
#: distinct expiry seconds kept per pattern (past it, the histogram is marked truncated)
MAX_SECONDS = 20_000
#: strings at least this long are candidates for big_json_string
BIG_STRING = 64 * 1024


class _Top:
    """The N biggest (size, key) seen."""

    __slots__ = ("items", "n")

    def __init__(self, n: int = EXAMPLES) -> None:
        self.items: list[tuple[int, bytes]] = []
        self.n = n

    def push(self, size: int, key: bytes) -> None:
        items = self.items
        if len(items) < self.n:
            items.append((size, key))
            items.sort(reverse=True)
        elif size > items[-1][0]:
            items[-1] = (size, key)
            items.sort(reverse=True)

    def merge(self, other: _Top) -> None:
        for size, key in other.items:
            self.push(size, key)


class Agg:
    """One pattern's aggregate."""

    __slots__ = (
        "bytes",
        "bytes_no_ttl",
        "expiry",
        "expiry_truncated",
        "idle_known",
        "idle_old",
        "idle_old_bytes",
        "keys",
        "longest",
        "max_ttl_ms",
        "no_ttl",
        "no_ttl_examples",
        "old_examples",
        "sample",
        "strings",
        "types",
        "with_ttl",
    )

    def __init__(self) -> None:
        self.keys = 0
        self.bytes = 0
        self.types: dict[bytes, int] = {}
        self.with_ttl = 0
        self.no_ttl = 0
        self.bytes_no_ttl = 0
        self.no_ttl_examples: list[bytes] = []
        self.max_ttl_ms = 0
        self.expiry: dict[int, int] = {}  # absolute expiry second -> keys
        self.expiry_truncated = False
        self.idle_known = 0
        self.idle_old = 0  # keys without TTL idle for at least idle_days
        self.idle_old_bytes = 0
        self.old_examples: list[bytes] = []
        self.longest = _Top()  # collections by element count
        self.strings = _Top()  # strings by length, at least BIG_STRING
        self.sample: list[bytes] = []  # the first keys met (hot_copy_drift looks at them)

    def merge(self, o: Agg) -> Agg:
        for name in ("keys", "bytes", "with_ttl", "no_ttl", "bytes_no_ttl", "idle_known"):
            setattr(self, name, getattr(self, name) + getattr(o, name))
        self.idle_old += o.idle_old
        self.idle_old_bytes += o.idle_old_bytes
        self.max_ttl_ms = max(self.max_ttl_ms, o.max_ttl_ms)
        for t, n in o.types.items():
            self.types[t] = self.types.get(t, 0) + n
        for s, n in o.expiry.items():
            self.expiry[s] = self.expiry.get(s, 0) + n
        self.expiry_truncated |= o.expiry_truncated
        self.no_ttl_examples = sorted(set(self.no_ttl_examples) | set(o.no_ttl_examples))[:EXAMPLES]
        self.old_examples = sorted(set(self.old_examples) | set(o.old_examples))[:EXAMPLES]
        self.longest.merge(o.longest)
        self.strings.merge(o.strings)
        self.sample = (self.sample + o.sample)[:EXAMPLES]
        return self


class AuditCollector:
    """Aggregates keys by inferred pattern (the patterns command's inference and folding)."""

    COMPACT_AT = 5_000

    def __init__(
        self, separators: str, rules: tuple[Rule, ...], needs: frozenset[str], idle_days: float
    ) -> None:
        self.needs = needs
        self.inferer = PatternInferer(separators, rules)
        self.folder = PatternFolder(separators, 100)
        self.table: dict[str, Agg] = {}
        self.idle_s = idle_days * 86400

    def _agg(self, pattern: str) -> Agg:
        target = self.folder.apply_known(pattern)
        agg = self.table.get(target)
        if agg is None:
            agg = self.table[target] = Agg()
            if len(self.table) > self.COMPACT_AT:
                self.table = self.folder.fold(self.table, lambda a, b: a.merge(b))
                return self._agg(pattern)
        return agg

    def add(self, batch: Batch) -> None:
        # a file's TTLs are relative to its own clock (the same for every key): kept as they
        # are; a live scan's to the moment of the batch
        base = 0 if batch.serialized is not None else int(time.time() * 1000)
        n = len(batch.keys)
        memory = batch.memory or [None] * n
        lengths = batch.lengths or [None] * n
        ttls = batch.ttl_ms or [None] * n
        idles = batch.idle or [None] * n
        for i, key in enumerate(batch.keys):
            agg = self._agg(self.inferer.infer(key))
            agg.keys += 1
            if len(agg.sample) < EXAMPLES:
                agg.sample.append(key)
            t = batch.types[i]
            agg.types[t] = agg.types.get(t, 0) + 1
            mem = memory[i] or 0
            agg.bytes += mem
            ttl, idle, length = ttls[i], idles[i], lengths[i]
            if ttl is not None and ttl >= 0:
                self._with_ttl(agg, base + ttl, ttl)
            elif ttl is not None:
                self._without_ttl(agg, key, mem, idle)
            if length is not None:
                if t == b"string":
                    if length >= BIG_STRING:
                        agg.strings.push(length, key)
                else:
                    agg.longest.push(length, key)

    @staticmethod
    def _with_ttl(agg: Agg, at_ms: int, ttl: int) -> None:
        agg.with_ttl += 1
        agg.max_ttl_ms = max(agg.max_ttl_ms, ttl)
        second = at_ms // 1000
        if second in agg.expiry or len(agg.expiry) < MAX_SECONDS:
            agg.expiry[second] = agg.expiry.get(second, 0) + 1
        else:
            agg.expiry_truncated = True

    def _without_ttl(self, agg: Agg, key: bytes, mem: int, idle: int | None) -> None:
        agg.no_ttl += 1
        agg.bytes_no_ttl += mem
        if len(agg.no_ttl_examples) < EXAMPLES:
            agg.no_ttl_examples.append(key)
        if idle is not None:
            agg.idle_known += 1
            if idle >= self.idle_s:
                agg.idle_old += 1
                agg.idle_old_bytes += mem
                if len(agg.old_examples) < EXAMPLES:
                    agg.old_examples.append(key)

    def merge(self, other: AuditCollector) -> None:
        if other is not self:
            merge_folded(self.folder, self.table, other.folder, other.table)

    def finish(self) -> dict[str, Agg]:
        self.table = self.folder.fold(self.table, lambda a, b: a.merge(b))
        return self.table
