"""Each side read into its bounded SideTally: RDB files and the live target through the scan
pipeline (patterns collector and SideCollector), a saved report from its JSON."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from rediscope.core.collectors.patterns import TTL_BUCKETS, PatternCollector, _Agg
from rediscope.core.connection import ConnectionSpec
from rediscope.core.diff.report import Side
from rediscope.core.diff.sides import SideSpec, file_time, report_time, rfc3339
from rediscope.core.diff.tally import SideCollector, SideTally
from rediscope.core.patterns.inference import PatternFolder, Rule
from rediscope.core.pipeline.options import ScanOptions
from rediscope.core.pipeline.records import Collector, ProgressFn, ScanSummary
from rediscope.core.pipeline.source import KeySource
from rediscope.core.rdbfile.source import RdbSource
from rediscope.core.scan.source import LiveSource
from rediscope.core.target import Target
from rediscope.errors import Interrupted, UsageError

NEEDS = frozenset({"memory", "ttl", "length"})


@dataclass(frozen=True)
class Inference:
    """How keys become patterns: the same for both sides."""

    separators: str = ":"
    rules: tuple[Rule, ...] = ()


@dataclass(frozen=True)
class ReadSide:
    side: Side
    tally: SideTally
    target: Target | None  # the live target's, when this side is live
    errors: tuple[str, ...]


def read_side(
    spec: SideSpec,
    how: Inference,
    opts: ScanOptions,
    live: Callable[[], ConnectionSpec] | None,
    progress: ProgressFn | None = None,
    watch: frozenset[tuple[int, bytes]] | None = None,
) -> ReadSide:
    """One side; WATCH: keys (db, name) whose bytes and elements to note while reading."""
    if spec.kind == "report":
        assert spec.report is not None
        try:
            return _from_report(spec, spec.report, how)
        except (KeyError, TypeError, ValueError, AttributeError) as exc:
            raise UsageError(
                f"{spec.given} is not a memory or patterns report this rediscope can read "
                f"({type(exc).__name__}: {exc})"
            ) from None
    if spec.kind == "live":
        if live is None:
            raise UsageError("the live side needs a target (--url or the connection options)")
        return _scanned(spec, LiveSource(live()), how, opts, progress, watch)
    return _scanned(spec, RdbSource(list(spec.inputs)), how, opts, progress, watch)


def _scanned(
    spec: SideSpec,
    source: KeySource,
    how: Inference,
    opts: ScanOptions,
    progress: ProgressFn | None,
    watch: frozenset[tuple[int, bytes]] | None = None,
) -> ReadSide:
    def make() -> list[Collector]:
        patterns = PatternCollector(how.separators, how.rules, NEEDS)
        # kept in this process: moving it to a worker (pipeline/offload.py) pickles every
        # batch, which costs more CPU than it saves unless a core is idle (docs/diff.md)
        patterns.offload_cost = 0
        return [patterns, SideCollector(watch=watch or frozenset())]

    started = time.time()
    result = source.scan(opts, make, progress)
    scan = result.summary
    if scan.interrupted:
        raise Interrupted(f"interrupted while reading {spec.given}: no diff")
    sides = result.collector(SideCollector)
    tally = _tally(result.collector(PatternCollector), sides, scan)
    tally.watched = sides.watched if watch is not None else None
    files = source.source_info().files
    when, how_known = (started, "now") if spec.kind == "live" else file_time(spec, files)
    errors = tuple(n.error for n in scan.nodes if n.error)
    side = Side(
        given=spec.given,
        kind=spec.kind,
        files=spec.files,
        time=rfc3339(when),
        time_source=how_known,
        keys=tally.keys,
        bytes=tally.bytes,
        bytes_model="memory-usage" if spec.kind == "live" else "rdb-estimate",
        sampled=scan.sampled,
        complete=scan.complete and not errors,
        notes=_scan_notes(scan),
    )
    target = result.target if spec.kind == "live" else None
    return ReadSide(side=side, tally=tally, target=target, errors=errors)


def _tally(pat: PatternCollector, side: SideCollector, scan: ScanSummary) -> SideTally:
    """What a scanned side leaves: a sample's figures scaled to the keyspace, as patterns
    scales them."""
    factor = scan.extrapolation

    def scaled(v: list[int]) -> list[int]:
        return [round(v[0] * factor), round(v[1] * factor)]

    return SideTally(
        table=pat.table,
        folder=pat.folder,
        by_type={t.decode(): scaled(v) for t, v in side.by_type.items()},
        by_db={f"db{d}": scaled(v) for d, v in side.by_db.items()},
        bytes_known=scan.measured("memory"),
        factor=factor,
        top=side.ranked(),
        top_full=side.full,
        top_size=side.size,
    )


#: scan notes that say nothing about a diff (the bytes model has its own note)
_NOT_FOR_DIFF = ("bytes are estimated", "no idle times or LFU counters")


def _scan_notes(scan: ScanSummary) -> tuple[str, ...]:
    return tuple(n for n in scan.notes if not any(w in n for w in _NOT_FOR_DIFF))


def _from_report(spec: SideSpec, doc: dict[str, Any], how: Inference) -> ReadSide:
    """A saved memory or patterns report: its pattern rows as raw patterns (folded with the
    other side's), its per-type and per-db rows."""
    rows = doc.get("by_pattern") if doc["command"] == "memory" else doc.get("patterns")
    table: dict[str, _Agg] = {}
    by_type: dict[str, list[int]] = {}
    bytes_known = True
    for row in rows or []:
        agg = table.setdefault(str(row["pattern"]), _Agg())
        agg.keys += int(row.get("keys") or 0)
        if row.get("bytes") is None:
            bytes_known = False
        agg.bytes += int(row.get("bytes") or 0)
        ttl = row.get("ttl") or {}
        agg.ttl = [a + int(ttl.get(b, 0)) for a, b in zip(agg.ttl, TTL_BUCKETS, strict=True)]
        if doc["command"] == "patterns":
            for t, n in (row.get("types") or {}).items():
                by_type.setdefault(str(t), [0, 0])[0] += int(n)
    by_db: dict[str, list[int]] = {}
    if doc["command"] == "memory":
        by_type = {
            str(r["name"]): [int(r["keys"]), int(r["bytes"])] for r in doc.get("by_type", [])
        }
        by_db = {str(r["name"]): [int(r["keys"]), int(r["bytes"])] for r in doc.get("by_db", [])}
    notes = []
    separators = doc.get("separators")
    if isinstance(separators, str) and separators != how.separators:
        notes.append(
            f"{spec.given} was made with --separators {separators!r}, this diff uses "
            f"{how.separators!r}: its patterns may not line up"
        )
    if doc["command"] == "memory":
        notes.append(f"{spec.given}: a memory report lists its top patterns and '(other)' only")
    scan = doc.get("scan") or {}
    when, how_known = report_time(doc)
    tally = SideTally(table, PatternFolder(how.separators), by_type, by_db, bytes_known)
    return ReadSide(
        side=Side(
            given=spec.given,
            kind="report",
            files=spec.files,
            time=rfc3339(when),
            time_source=how_known,
            keys=tally.keys,
            bytes=tally.bytes,
            bytes_model="report",
            sampled=bool(scan.get("sampled")),
            complete=bool(doc.get("complete", True)),
            notes=tuple(notes),
        ),
        tally=tally,
        target=None,
        errors=(),
    )
