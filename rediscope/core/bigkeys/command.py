"""`rediscope bigkeys`: the biggest keys by bytes and by element count, per-type totals."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import ClassVar

from rediscope.core.collectors.bigkeys import BigKeysCollector
from rediscope.core.collectors.sizes import SizeHistogramCollector, histograms
from rediscope.core.collectors.sketch import Distribution
from rediscope.core.collectors.topn import KeyEntry
from rediscope.core.connection import ConnectionSpec
from rediscope.core.diagnostics import keysizes
from rediscope.core.diagnostics.keysizes import SizeDistribution
from rediscope.core.pipeline.modtypes import readable
from rediscope.core.pipeline.options import ScanOptions
from rediscope.core.pipeline.records import LIVE, Collector, ProgressFn, ScanSummary, SourceInfo
from rediscope.core.pipeline.source import KeySource
from rediscope.core.report import Outcome, scan_outcome
from rediscope.core.scan.source import as_source
from rediscope.core.target import Target
from rediscope.exitcodes import ExitStatus


@dataclass(frozen=True, kw_only=True)
class BigKey:
    key: bytes
    db: int
    node: str
    type: str
    encoding: str | None
    bytes: int | None
    elements: int | None
    ttl_s: float | None  # None: no expiry
    #: a module type's readable name (json, bloom, vector set...); None for a built-in type
    type_name: str | None = None


@dataclass(frozen=True, kw_only=True)
class TypeSummary:
    type: str
    keys: int
    bytes: int
    elements: int
    avg_bytes: float
    avg_elements: float
    share: float  # of the bytes of all keys scanned
    biggest: BigKey | None  # most elements (for strings: longest)
    estimated: bool
    #: keys whose element count is known (a module type without a cheap count: 0)
    elements_known: int = 0
    #: a module type's readable name (json, bloom, vector set...); None for a built-in type
    type_name: str | None = None
    #: p50/p90/p99/max of the keys' bytes and elements (None: not measured)
    bytes_dist: Distribution | None = None
    elements_dist: Distribution | None = None


@dataclass(frozen=True)
class BigKeysReport:
    command: ClassVar[str] = "bigkeys"
    target: Target
    complete: bool
    scan: ScanSummary
    keys: tuple[BigKey, ...]  # top N by bytes
    top_by_elements: tuple[BigKey, ...]  # top N per type by element count
    by_type: tuple[TypeSummary, ...]
    top: int  # --top: keys listed by bytes, and per type by elements
    min_bytes: int | None
    min_elements: int | None
    over_threshold: int  # keys above --min-bytes or --min-elements
    over_threshold_keys: tuple[BigKey, ...]  # all of them, biggest first (up to MAX_OFFENDERS)
    notes: tuple[str, ...]
    #: where the keys came from: kind live, or rdb with the files read
    source: SourceInfo = LIVE
    #: the server's own histogram of key sizes (INFO KEYSIZES, Redis 8+); None where it has none
    size_distribution: SizeDistribution | None = None

    def outcome(self) -> Outcome:
        return scan_outcome(self.scan)

    def found(self) -> Outcome:
        """`--fail-if-found`: exit 1 when any key reaches a threshold (for CI)."""
        if not self.over_threshold:
            return Outcome(ExitStatus.OK)
        return Outcome(ExitStatus.ERROR, (f"{self.over_threshold:,} key(s) reach a threshold",))


def to_big_keys(source: KeySource, target: Target, entries: Sequence[KeyEntry]) -> list[BigKey]:
    """Entries as listed keys, with their encoding and TTL (from the server in one pipelined
    pass per node, or from what the file said)."""
    details = source.describe(target, sorted({(e.node, e.db, e.key) for e in entries}))
    out = []
    for e in entries:
        encoding, ttl_ms = details.get((e.node, e.db, e.key), (None, None))
        ttl_s = None if ttl_ms is None or ttl_ms < 0 else ttl_ms / 1000
        out.append(
            BigKey(
                key=e.key,
                db=e.db,
                node=e.node,
                type=e.type,
                encoding=encoding,
                bytes=e.bytes,
                elements=e.elements,
                ttl_s=ttl_s,
                type_name=readable(e.type),
            )
        )
    return out


def _summaries(
    col: BigKeysCollector,
    per_type: list[BigKey],
    by_elements: list[KeyEntry],
    scan: ScanSummary,
) -> list[TypeSummary]:
    """Per type: keys, bytes, elements (extrapolated when sampled), the key with most."""
    factor = scan.extrapolation
    biggest: dict[str, tuple[KeyEntry, BigKey]] = {}  # type -> its key with most elements
    for listed_key, entry in zip(per_type, by_elements, strict=True):
        best = biggest.get(entry.type)
        if best is None or (entry.score, entry.key) > (best[0].score, best[0].key):
            biggest[entry.type] = (entry, listed_key)
    total_bytes = sum(t.bytes for t in col.totals.values()) or 1
    summaries = []
    for tname, tally in sorted(col.totals.items(), key=lambda kv: (-kv[1].bytes, kv[0])):
        k, b, e, known = tally.keys, tally.bytes, tally.elements, tally.counted
        bytes_dist, elements_dist = col.sizes.of(tname)
        summaries.append(
            TypeSummary(
                type=tname,
                keys=round(k * factor),
                bytes=round(b * factor),
                elements=round(e * factor),
                avg_bytes=round(b / k, 1) if k else 0.0,
                avg_elements=round(e / known, 1) if known else 0.0,
                share=round(b / total_bytes, 4),
                biggest=biggest[tname][1] if tname in biggest else None,
                estimated=scan.sampled,
                elements_known=round(known * factor),
                type_name=readable(tname),
                bytes_dist=bytes_dist,
                elements_dist=elements_dist,
            )
        )
    return summaries


def bigkeys(
    source: ConnectionSpec | KeySource,
    opts: ScanOptions,
    top: int = 20,
    min_bytes: int | None = None,
    min_elements: int | None = None,
    progress: ProgressFn | None = None,
) -> BigKeysReport:
    def make() -> list[Collector]:
        sizes = [SizeHistogramCollector()] if opts.sample is not None else []
        return [BigKeysCollector(top, min_bytes, min_elements), *sizes]

    src = as_source(source)
    result = src.scan(opts, make, progress)
    target, scan = result.target, result.summary
    col = result.collector(BigKeysCollector)
    hists = histograms(result.collectors)
    sizes, size_notes = keysizes.for_scan(src.spec, target, opts, scan, hists)
    by_bytes = col.by_bytes.ranked()
    by_elements = [e for t in sorted(col.by_elements) for e in col.by_elements[t].ranked()]
    offenders = sorted(col.offenders, key=lambda e: (-e.score, e.key))
    listed = to_big_keys(src, target, [*by_bytes, *by_elements, *offenders])
    keys = listed[: len(by_bytes)]
    per_type = listed[len(by_bytes) : len(by_bytes) + len(by_elements)]
    over = listed[len(by_bytes) + len(by_elements) :]
    summaries = _summaries(col, per_type, by_elements, scan)
    return BigKeysReport(
        target=target,
        complete=scan.complete,
        scan=scan,
        keys=tuple(keys),
        top_by_elements=tuple(per_type),
        by_type=tuple(summaries),
        top=top,
        min_bytes=min_bytes,
        min_elements=min_elements,
        over_threshold=col.over,
        over_threshold_keys=tuple(over),
        notes=(*scan.notes, *size_notes),
        source=src.source_info(),
        size_distribution=sizes,
    )
