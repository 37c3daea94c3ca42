"""`rediscope patterns`: the shape of the keyspace, per inferred key pattern."""

from __future__ import annotations

import bisect
import re
from dataclasses import dataclass, field
from typing import ClassVar

from rediscope.core.connection import ConnectionSpec, client
from rediscope.core.failures import translate_errors
from rediscope.core.info import info
from rediscope.core.patterns import PatternFolder, PatternInferer, Rule
from rediscope.core.scan import (
    Batch,
    Collector,
    ProgressFn,
    ScanOptions,
    ScanSummary,
    run_scan,
)
from rediscope.core.target import Target

#: TTL buckets (upper bounds in ms) after "no TTL"
TTL_BUCKETS = ("no_ttl", "lt_1m", "lt_1h", "lt_1d", "lt_1w", "longer")
_TTL_LIMITS = [60_000, 3_600_000, 86_400_000, 604_800_000]
IDLE_BUCKETS = ("lt_1m", "lt_1h", "lt_1d", "lt_1w", "longer")
_IDLE_LIMITS = [60, 3600, 86400, 604800]
#: LFU counter buckets: 0-4 (colder than new), 5-9 (about new), 10-49, 50-99, 100-255
FREQ_BUCKETS = ("f0_4", "f5_9", "f10_49", "f50_99", "f100_255")
_FREQ_LIMITS = [5, 10, 50, 100]
EXAMPLES = 3
OTHER = "(other)"
KeyName = bytes  # (a field below is called `bytes`)


class _Agg:
    """Per-pattern aggregate (slots: fast and small)."""

    __slots__ = ("bytes", "examples", "freq", "idle", "keys", "ttl", "types")

    def __init__(self) -> None:
        self.keys = 0
        self.bytes = 0
        self.types: dict[bytes, int] = {}
        self.ttl = [0] * len(TTL_BUCKETS)
        self.idle = [0] * len(IDLE_BUCKETS)
        self.freq = [0] * len(FREQ_BUCKETS)
        self.examples: list[bytes] = []

    def merge(self, other: _Agg) -> _Agg:
        self.keys += other.keys
        self.bytes += other.bytes
        for t, n in other.types.items():
            self.types[t] = self.types.get(t, 0) + n
        self.ttl = [a + b for a, b in zip(self.ttl, other.ttl, strict=True)]
        self.idle = [a + b for a, b in zip(self.idle, other.idle, strict=True)]
        self.freq = [a + b for a, b in zip(self.freq, other.freq, strict=True)]
        self.examples = sorted(set(self.examples) | set(other.examples))[:EXAMPLES]
        return self


def _merge(a: _Agg, b: _Agg) -> _Agg:
    return a.merge(b)


class PatternCollector:
    """Aggregates keys by pattern. The table is compacted by the cardinality fold when it
    grows; past `max_patterns` after folding, new patterns go to '(other)'."""

    COMPACT_AT = 5_000
    MAX_PATTERNS = 50_000

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
        infer = self.inferer.infer
        slot = self._slot
        table = self.table
        n = len(batch.keys)
        memory = batch.memory or [None] * n
        ttls = batch.ttl_ms
        idles = batch.idle
        freqs = batch.freq
        for i, key in enumerate(batch.keys):
            pattern = infer(key)
            agg = table.get(pattern)
            if agg is None:
                agg = slot(pattern)
                table = self.table
            agg.keys += 1
            raw_type = batch.types[i]
            agg.types[raw_type] = agg.types.get(raw_type, 0) + 1
            mem = memory[i]
            if mem is not None:
                agg.bytes += mem
            if ttls is not None:
                ttl = ttls[i]
                if ttl is not None:
                    agg.ttl[0 if ttl < 0 else 1 + bisect.bisect_right(_TTL_LIMITS, ttl)] += 1
            if idles is not None:
                idle = idles[i]
                if idle is not None:
                    agg.idle[bisect.bisect_right(_IDLE_LIMITS, idle)] += 1
            if freqs is not None:
                freq = freqs[i]
                if freq is not None:
                    agg.freq[bisect.bisect_right(_FREQ_LIMITS, freq)] += 1
            ex = agg.examples
            if len(ex) < EXAMPLES:
                if key not in ex:
                    ex.append(key)
                    ex.sort()
            elif key < ex[-1] and key not in ex:
                ex[-1] = key
                ex.sort()

    def merge(self, other: PatternCollector) -> None:
        if other is self:
            return
        self.folder.folded |= other.folder.folded
        self.folder.shapes |= other.folder.shapes
        for pattern, agg in other.table.items():
            mine = self.table.get(pattern)
            self.table[pattern] = mine.merge(agg) if mine is not None else agg

    def finish(self) -> dict[str, _Agg]:
        """The final table: folded to a fixpoint over everything merged."""
        self._compact()
        return self.table


@dataclass(frozen=True)
class PatternStats:
    pattern: str
    keys: int
    share: float  # of keys scanned
    bytes: int | None
    bytes_share: float | None
    types: dict[str, int]
    ttl: dict[str, int]  # bucket -> keys
    no_ttl_share: float
    idle: dict[str, int] | None  # OBJECT IDLETIME buckets (LRU policies)
    freq: dict[str, int] | None  # OBJECT FREQ buckets (LFU policies)
    examples: tuple[KeyName, ...]
    estimated: bool


@dataclass(frozen=True)
class PatternsReport:
    command: ClassVar[str] = "patterns"
    target: Target
    complete: bool
    scan: ScanSummary
    separators: str
    sort: str
    access: str | None  # "idletime", "lfu" or None (denied/skipped)
    patterns: tuple[PatternStats, ...]
    notes: tuple[str, ...]


def eviction_policy(spec: ConnectionSpec) -> str:
    """maxmemory-policy from INFO memory (no CONFIG needed)."""
    conn = client(spec)
    try:
        with translate_errors(spec, "INFO memory"):
            return str(info(conn, "memory").get("maxmemory_policy", "noeviction"))
    finally:
        conn.close()


def stats_from(
    table: dict[str, _Agg], scan: ScanSummary, memory: bool, access: str | None
) -> list[PatternStats]:
    factor = scan.extrapolation
    total_keys = sum(a.keys for a in table.values()) or 1
    total_bytes = sum(a.bytes for a in table.values()) or 1
    out = []
    for pattern, agg in table.items():
        with_ttl_info = sum(agg.ttl) or 1
        out.append(
            PatternStats(
                pattern=pattern,
                keys=round(agg.keys * factor),
                share=round(agg.keys / total_keys, 6),
                bytes=round(agg.bytes * factor) if memory else None,
                bytes_share=round(agg.bytes / total_bytes, 6) if memory else None,
                types={t.decode(): n for t, n in sorted(agg.types.items(), key=lambda x: -x[1])},
                ttl=dict(zip(TTL_BUCKETS, agg.ttl, strict=True)),
                no_ttl_share=round(agg.ttl[0] / with_ttl_info, 6) if sum(agg.ttl) else 0.0,
                idle=dict(zip(IDLE_BUCKETS, agg.idle, strict=True))
                if access == "idletime"
                else None,
                freq=dict(zip(FREQ_BUCKETS, agg.freq, strict=True)) if access == "lfu" else None,
                examples=tuple(agg.examples),
                estimated=scan.sampled,
            )
        )
    return out


def patterns(
    spec: ConnectionSpec,
    opts: ScanOptions,
    separators: str = ":",
    rules: tuple[Rule, ...] = (),
    memory: bool = False,
    sort: str = "keys",
    idle: bool = True,
    progress: ProgressFn | None = None,
) -> PatternsReport:
    access: str | None = None
    notes: list[str] = []
    needs = {"ttl"}
    if memory:
        needs.add("memory")
    if idle:
        policy = eviction_policy(spec)
        access = "lfu" if "lfu" in policy else "idletime"
        needs.add("freq" if access == "lfu" else "idle")

    def make() -> list[Collector]:
        return [PatternCollector(separators, rules, frozenset(needs))]

    target, scan, collectors = run_scan(spec, opts, make, progress)
    col = collectors[0]
    assert isinstance(col, PatternCollector)
    table = col.finish()
    if access is not None and any(
        access_word in n for n in scan.notes for access_word in ("IDLETIME", "FREQ")
    ):
        access = None
    stats = stats_from(table, scan, memory, access)
    key = (
        (lambda s: (-(s.bytes or 0), s.pattern))
        if sort == "bytes"
        else (lambda s: (-s.keys, s.pattern))
    )
    stats.sort(key=key)
    if access is None and idle:
        notes.append("idle times not reported: OBJECT was denied")
    return PatternsReport(
        target=target,
        complete=scan.complete,
        scan=scan,
        separators=separators,
        sort=sort,
        access=access,
        patterns=tuple(stats),
        notes=(*scan.notes, *notes),
    )


@dataclass
class TreeNode:
    """A level of the namespace hierarchy with the totals of everything below it."""

    name: str
    keys: int = 0
    bytes: int = 0
    children: dict[str, TreeNode] = field(default_factory=dict)


def pattern_tree(stats: tuple[PatternStats, ...], separators: str = ":") -> TreeNode:
    """Patterns as a tree of their segments (`user:*:profile` -> user / * / profile)."""
    split = re.compile("[" + re.escape(separators) + "]").split
    root = TreeNode("")
    for s in stats:
        node = root
        node.keys += s.keys
        node.bytes += s.bytes or 0
        for part in split(s.pattern):
            node = node.children.setdefault(part, TreeNode(part))
            node.keys += s.keys
            node.bytes += s.bytes or 0
    return root
