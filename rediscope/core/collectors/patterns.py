"""The keyspace's shape, per inferred key pattern: keys, types, bytes, TTL, idle and LFU buckets, examples; folded to a bounded table."""

from __future__ import annotations

import bisect
import heapq
from collections import Counter
from collections.abc import Callable
from itertools import repeat
from operator import itemgetter
from typing import Any

from rediscope.core.collectors.columns import group_rows, known, pick
from rediscope.core.collectors.sketch import SizeSketch
from rediscope.core.patterns.inference import PatternFolder, PatternInferer, Rule
from rediscope.core.pipeline.records import Batch

#: TTL buckets (upper bounds in ms) after "no TTL"
TTL_BUCKETS = ("no_ttl", "lt_1m", "lt_1h", "lt_1d", "lt_1w", "longer")


_TTL_LIMITS = [60_000, 3_600_000, 86_400_000, 604_800_000]


IDLE_BUCKETS = ("lt_1m", "lt_1h", "lt_1d", "lt_1w", "longer")


_IDLE_LIMITS = [60, 3600, 86400, 604800]


#: LFU counter buckets: 0-4 (colder than new), 5-9 (about new), 10-49, 50-99, 100-255
FREQ_BUCKETS = ("f0_4", "f5_9", "f10_49", "f50_99", "f100_255")


_FREQ_LIMITS = [5, 10, 50, 100]


EXAMPLES = 3
OTHER = "(other)"  # the pattern that folded rows are summed into


KeyName = bytes  # (a field below is called `bytes`)


class _Agg:
    """Per-pattern aggregate (slots: fast and small)."""

    __slots__ = (
        "bytes",
        "elements",
        "examples",
        "freq",
        "idle",
        "keys",
        "lengths",
        "measured",
        "sizes",
        "ttl",
        "types",
    )

    def __init__(self) -> None:
        self.keys = 0
        self.bytes = 0
        self.elements = 0  # summed element counts (when the collector needs "length")
        self.measured = 0  # keys whose element count is in `elements`
        self.types: dict[bytes, int] = {}
        self.ttl = [0] * len(TTL_BUCKETS)
        self.idle = [0] * len(IDLE_BUCKETS)
        self.freq = [0] * len(FREQ_BUCKETS)
        self.examples: list[bytes] = []
        self.sizes: SizeSketch | None = None  # bytes per key, where measured
        self.lengths: SizeSketch | None = None  # elements per key, where measured

    def merge(self, other: _Agg) -> _Agg:
        self.keys += other.keys
        for name in ("sizes", "lengths"):
            theirs = getattr(other, name)
            if theirs is not None:
                mine = getattr(self, name)
                if mine is None:
                    setattr(self, name, mine := SizeSketch())
                mine.merge(theirs)
        self.bytes += other.bytes
        self.elements += other.elements
        self.measured += other.measured
        for t, n in other.types.items():
            self.types[t] = self.types.get(t, 0) + n
        self.ttl = [a + b for a, b in zip(self.ttl, other.ttl, strict=True)]
        self.idle = [a + b for a, b in zip(self.idle, other.idle, strict=True)]
        self.freq = [a + b for a, b in zip(self.freq, other.freq, strict=True)]
        self.examples = sorted(set(self.examples) | set(other.examples))[:EXAMPLES]
        return self


def _merge(a: _Agg, b: _Agg) -> _Agg:
    return a.merge(b)


def merge_folded(
    folder: PatternFolder, table: dict[str, Any], other: PatternFolder, rows: dict[str, Any]
) -> None:
    """Another node's pattern table (ROWS, folded by OTHER) into TABLE: what each folder
    learned, and each pattern's aggregate merged (an aggregate has merge())."""
    folder.folded |= other.folded
    folder.shapes |= other.shapes
    for pattern, agg in rows.items():
        mine = table.get(pattern)
        table[pattern] = mine.merge(agg) if mine is not None else agg


class PatternCollector:
    """Aggregates keys by pattern. The table is compacted by the cardinality fold when it
    grows; past `max_patterns` after folding, new patterns go to '(other)'."""

    COMPACT_AT = 5_000
    MAX_PATTERNS = 50_000

    #: the costliest collector per key (pattern inference): the one run in a worker process
    #: beside others when the reading is fast (pipeline/offload.py: WORKER)
    offload_cost = 2

    def __init__(
        self,
        separators: str = ":",
        rules: tuple[Rule, ...] = (),
        needs: frozenset[str] = frozenset({"ttl"}),
        fold_at: int = 100,
    ) -> None:
        self.needs = needs
        self.inferer = PatternInferer(separators, rules)
        self.folder = PatternFolder(separators, fold_at)
        self.table: dict[str, _Agg] = {}
        self._alias: dict[str, str] = {}
        self._compact_at = self.COMPACT_AT
        self.separators = separators
        self.rules = rules
        self.fold_at = fold_at

    def _slot(self, pattern: str) -> _Agg:
        table = self.table
        target = self._alias.get(pattern)
        if target is None:
            target = self.folder.apply_known(pattern)
            if len(self._alias) > 100_000:
                self._alias.clear()
            self._alias[pattern] = target
        agg = table.get(target)
        if agg is None:
            if len(table) >= self.MAX_PATTERNS:
                target = OTHER
                agg = table.get(OTHER)
            if agg is None:
                agg = table[target] = _Agg()
                if len(table) > self._compact_at:
                    self._compact()
                    agg = self._slot(pattern)
        return agg

    def _compact(self) -> None:
        self.table = self.folder.fold(self.table, _merge)
        self._alias.clear()
        self._compact_at = max(self.COMPACT_AT, 2 * len(self.table))

    def add(self, batch: Batch) -> None:
        """The batch's keys grouped by pattern first, then each group summed into its row
        (per-column loops over a group are much cheaper than one loop over every field)."""
        lengths = batch.lengths if "length" in self.needs else None
        for pattern, idx in group_rows(self.inferer.infer_many(batch.keys)).items():
            agg = self.table.get(pattern)
            if agg is None:
                agg = self._slot(pattern)
            _add_group(agg, idx, batch)
            if lengths is not None:
                counted = known(pick(lengths, idx))
                agg.elements += sum(counted)
                agg.measured += len(counted)
                if counted:
                    if agg.lengths is None:
                        agg.lengths = SizeSketch()
                    agg.lengths.add_many(counted)

    def __getstate__(self) -> dict[str, Any]:
        """Pickled (pipeline/offload.py) without what it only keeps to go faster."""
        state = self.__dict__.copy()
        state["_alias"] = {}
        state["inferer"] = PatternInferer(self.separators, self.rules)
        return state

    def merge(self, other: PatternCollector) -> None:
        if other is not self:
            merge_folded(self.folder, self.table, other.folder, other.table)

    def finish(self) -> dict[str, _Agg]:
        """The final table: folded to a fixpoint over everything merged."""
        self._compact()
        return self.table


def _picker(idx: list[int]) -> Callable[[list[Any]], tuple[Any, ...]]:
    """The items at IDX of a column, as a tuple (itemgetter, which returns a bare item for one
    index)."""
    if len(idx) == 1:
        i = idx[0]
        return lambda col: (col[i],)
    return itemgetter(*idx)


def _add_group(agg: _Agg, idx: list[int], batch: Batch) -> None:
    """Keys IDX of BATCH, all of one pattern, into its row AGG."""
    agg.keys += len(idx)
    pick = _picker(idx)
    types = agg.types
    for t, n in Counter(pick(batch.types)).items():
        types[t] = types.get(t, 0) + n
    if batch.memory is not None:
        sizes = pick(batch.memory)
        agg.bytes += sum(filter(None, sizes))  # None: not measured
        if agg.sizes is None:
            agg.sizes = SizeSketch()
        agg.sizes.add_many(sizes)
    if batch.ttl_ms is not None:
        ttls = pick(batch.ttl_ms)
        no_ttl = ttls.count(-1)
        if no_ttl == len(ttls):  # the common case: none of them has a TTL
            agg.ttl[0] += no_ttl
        else:  # bucketed in C (map of bisect); no TTL (negative) in the first
            got = known(ttls)
            left = [v for v in got if v >= 0]
            agg.ttl[0] += len(got) - len(left)
            for bucket, n in Counter(map(bisect.bisect_right, repeat(_TTL_LIMITS), left)).items():
                agg.ttl[1 + bucket] += n
    for values, limits, counts in (
        (batch.idle, _IDLE_LIMITS, agg.idle),
        (batch.freq, _FREQ_LIMITS, agg.freq),
    ):
        if values is not None:
            for v in known(pick(values)):
                counts[bisect.bisect_right(limits, v)] += 1
    ex = agg.examples
    keys = pick(batch.keys)
    if len(ex) == EXAMPLES and min(keys) >= ex[-1]:
        return  # no key of the group is among the smallest (the common case)
    agg.examples = heapq.nsmallest(EXAMPLES, set(ex).union(keys))
