"""The memory report: server totals, shares by type, encoding, db and node, recommendations."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, ClassVar

from rediscope.core.bigkeys.command import BigKey
from rediscope.core.collectors.sketch import TypeSizeDists
from rediscope.core.diagnostics.keysizes import SizeDistribution
from rediscope.core.patterns.command import PatternStats
from rediscope.core.pipeline.records import LIVE, ScanSummary, SourceInfo
from rediscope.core.report import Outcome, scan_outcome
from rediscope.core.target import Target

#: encoding limits: config name -> default (Redis 7); read with CONFIG GET when allowed
LIMITS = {
    "hash-max-listpack-entries": 128,
    "hash-max-listpack-value": 64,
    "zset-max-listpack-entries": 128,
    "zset-max-listpack-value": 64,
    "set-max-intset-entries": 512,
    "set-max-listpack-entries": 128,
}


@dataclass(frozen=True)
class Totals:
    """Server-side figures summed over the primaries: None (unknown) unless every primary's
    INFO was read."""

    used_memory: int | None
    used_memory_dataset: int | None
    used_memory_overhead: int | None
    used_memory_rss: int | None
    mem_fragmentation_ratio: float | None
    maxmemory: int | None  # 0 = no limit (summed over primaries)
    maxmemory_policy: str | None
    keys_bytes: int  # sum of MEMORY USAGE over the keys scanned
    keys_bytes_estimate: int  # for the whole keyspace (= keys_bytes on a full scan)
    estimate_ci95: int | None  # +/- bytes (95% confidence) when sampled
    keys: int  # keys held (INFO keyspace) over the scanned dbs
    #: keys whose bytes are unknown (from an RDB: a module type with no model), not in
    #: keys_bytes; and their share of the keys' serialized bytes (of the keys, live)
    keys_unknown: int = 0
    unknown_share: float = 0.0


@dataclass(frozen=True)
class Share:
    name: str
    keys: int
    bytes: int
    share: float
    type: str | None = None  # for by_encoding
    #: by_type and by_encoding: a module type's readable name (json, bloom...); else None
    type_name: str | None = None
    #: by_type: keys of the type whose bytes are unknown (counted in keys, not in bytes)
    keys_unknown: int = 0


@dataclass(frozen=True)
class Recommendation:
    id: str
    severity: str  # info | warning | critical
    message: str
    evidence: dict[str, Any]
    doc: str


@dataclass(frozen=True)
class MemoryReport:
    command: ClassVar[str] = "memory"
    target: Target
    complete: bool
    scan: ScanSummary
    totals: Totals
    by_type: tuple[Share, ...]
    by_encoding: tuple[Share, ...]
    by_db: tuple[Share, ...]
    by_node: tuple[Share, ...]
    by_pattern: tuple[PatternStats, ...]
    top_keys: tuple[BigKey, ...]
    recommendations: tuple[Recommendation, ...]
    limits: dict[str, int]
    limits_source: str  # "config", "defaults" (CONFIG denied) or "unknown" (not reachable)
    notes: tuple[str, ...] = field(default_factory=tuple)
    #: where the keys came from: kind live, or rdb with the files read
    source: SourceInfo = LIVE
    #: per type, biggest first: the distributions of key sizes
    sizes: tuple[TypeSizeDists, ...] = ()
    #: the server's own histogram of key sizes (INFO KEYSIZES, Redis 8+); None where it has none
    size_distribution: SizeDistribution | None = None

    def outcome(self) -> Outcome:
        return scan_outcome(self.scan)
