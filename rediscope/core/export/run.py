"""`--format jsonl|csv` of memory, bigkeys and patterns: one row per key scanned, written to a
sink while the scan goes (never held), from a live server or RDB files."""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from rediscope.core.collectors.rowpatterns import RowPatterns
from rediscope.core.collectors.rows import ROW_NEEDS, KeyRowSink, RowCollector
from rediscope.core.connection import ConnectionSpec
from rediscope.core.patterns.inference import Rule
from rediscope.core.pipeline.options import ScanOptions
from rediscope.core.pipeline.records import LIVE, Collector, ProgressFn, ScanSummary, SourceInfo
from rediscope.core.pipeline.source import KeySource
from rediscope.core.report import Outcome, scan_outcome
from rediscope.core.scan.source import as_source
from rediscope.core.target import Target


@dataclass(frozen=True)
class RowsReport:
    """What an export wrote: the rows went to the sink as the scan went; this is the end."""

    command: ClassVar[str] = "rows"
    target: Target
    complete: bool
    scan: ScanSummary
    rows: int  # rows written (keys scanned that passed the filters)
    notes: tuple[str, ...]
    source: SourceInfo = LIVE

    def outcome(self) -> Outcome:
        return scan_outcome(self.scan)


def export_rows(
    source: ConnectionSpec | KeySource,
    opts: ScanOptions,
    sink: KeyRowSink,
    min_bytes: int | None = None,
    min_elements: int | None = None,
    progress: ProgressFn | None = None,
    patterns: tuple[str, tuple[Rule, ...]] | None = None,
) -> RowsReport:
    """Scan, writing every key that passes --min-bytes / --min-elements (and --match, --type,
    which the source applies) to SINK. A live server also gives each key's idle time or LFU
    counter (whichever its eviction policy keeps); a file gives what it carries. PATTERNS
    (separators, rules: patterns' export): each row also names its key's pattern."""
    src = as_source(source)
    access = src.access() if src.spec is not None else None
    needs = set(ROW_NEEDS)
    if access is not None:
        needs.add("freq" if access == "lfu" else "idle")

    def make() -> list[Collector]:
        namer = RowPatterns(*patterns) if patterns is not None else None
        return [RowCollector(sink, min_bytes, min_elements, frozenset(needs), namer)]

    result = src.scan(opts, make, progress)
    rows = result.collector(RowCollector)
    rows.finish()  # the rows held back to learn the folds, named by the final ones
    notes = list(result.summary.notes)
    if result.summary.rescans:
        notes.append("slots moved mid-scan: keys of the rescanned shards may be written twice")
    return RowsReport(
        target=result.target,
        complete=result.summary.complete,
        scan=result.summary,
        rows=rows.rows,
        notes=tuple(notes),
        source=src.source_info(),
    )
