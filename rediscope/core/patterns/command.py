"""`rediscope patterns`: the shape of the keyspace, per inferred key pattern."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import ClassVar

from rediscope.core.collectors.patterns import (
    FREQ_BUCKETS,
    IDLE_BUCKETS,
    TTL_BUCKETS,
    KeyName,
    PatternCollector,
    _Agg,
)
from rediscope.core.collectors.sketch import (
    Distribution,
    SizeSketch,
    TypeSizeDists,
    TypeSizesCollector,
)
from rediscope.core.connection import ConnectionSpec
from rediscope.core.patterns.inference import Rule
from rediscope.core.pipeline.options import ScanOptions
from rediscope.core.pipeline.records import LIVE, Collector, ProgressFn, ScanSummary, SourceInfo
from rediscope.core.pipeline.source import KeySource
from rediscope.core.report import Outcome, scan_outcome
from rediscope.core.scan.source import as_source
from rediscope.core.target import Target


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
    #: p50/p90/p99/max of the keys' bytes and elements (None: not measured)
    bytes_dist: Distribution | None = None
    elements_dist: Distribution | None = None


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
    #: where the keys came from: kind live, or rdb with the files read
    source: SourceInfo = LIVE
    #: per type, the most keys first: p50/p90/p99/max of bytes and elements (empty where
    #: sizes were not measured: live without --memory)
    sizes: tuple[TypeSizeDists, ...] = ()

    def outcome(self) -> Outcome:
        return scan_outcome(self.scan)


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
                types={
                    t.decode(): n for t, n in sorted(agg.types.items(), key=lambda x: (-x[1], x[0]))
                },
                ttl=dict(zip(TTL_BUCKETS, agg.ttl, strict=True)),
                no_ttl_share=round(agg.ttl[0] / with_ttl_info, 6) if sum(agg.ttl) else 0.0,
                idle=dict(zip(IDLE_BUCKETS, agg.idle, strict=True))
                if access == "idletime"
                else None,
                freq=dict(zip(FREQ_BUCKETS, agg.freq, strict=True)) if access == "lfu" else None,
                examples=tuple(agg.examples),
                estimated=scan.sampled,
                bytes_dist=_dist(agg.sizes) if memory else None,
                elements_dist=_dist(agg.lengths),
            )
        )
    return out


def _dist(sketch: SizeSketch | None) -> Distribution | None:
    return sketch.distribution() if sketch is not None else None


def patterns(
    source: ConnectionSpec | KeySource,
    opts: ScanOptions,
    separators: str = ":",
    rules: tuple[Rule, ...] = (),
    memory: bool = False,
    sort: str = "keys",
    idle: bool = True,
    progress: ProgressFn | None = None,
) -> PatternsReport:
    src = as_source(source)
    access = src.access() if idle and src.spec is not None else None
    # an RDB file (or --sync stream) carries every key's bytes and elements at no cost
    memory = memory or src.spec is None
    needs = {"ttl"} | ({"memory", "length"} if memory else set())
    if access is not None:
        needs.add("freq" if access == "lfu" else "idle")

    def make() -> list[Collector]:
        made: list[Collector] = [PatternCollector(separators, rules, frozenset(needs))]
        return [*made, TypeSizesCollector()] if memory else made

    result = src.scan(opts, make, progress)
    target, scan = result.target, result.summary
    col = result.collector(PatternCollector)
    table = col.finish()
    if src.spec is None and idle:
        access = src.access()  # a file: what it carries (IDLE or FREQ opcodes), known now
    elif access is not None and not scan.measured("freq" if access == "lfu" else "idle"):
        access = None
    stats = stats_from(table, scan, memory, access)
    key = (
        (lambda s: (-(s.bytes or 0), s.pattern))
        if sort == "bytes"
        else (lambda s: (-s.keys, s.pattern))
    )
    stats.sort(key=key)
    notes = []
    if access is None and idle and src.spec is not None:
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
        source=src.source_info(),
        sizes=result.collector(TypeSizesCollector).sizes.rows() if memory else (),
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
