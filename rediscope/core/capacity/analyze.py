"""Analyzed snapshots for the capacity history: a backup (or RDB files) read offline, or the
live keyspace scanned, summarized as its top patterns by bytes and "(other)" and stored beside
an INFO sample (`backup run --analyze`, `capacity record --patterns`)."""

from __future__ import annotations

import time
from dataclasses import dataclass, replace
from pathlib import Path

from rediscope.core.backup.catalog import list_backups
from rediscope.core.backup.inputs import rdb_inputs
from rediscope.core.capacity.bypattern import summarize
from rediscope.core.capacity.command import RecordReport, record
from rediscope.core.capacity.history import History, PatternSample, default_history_path
from rediscope.core.collectors.patterns import PatternCollector
from rediscope.core.connection import ConnectionSpec
from rediscope.core.patterns.inference import Rule
from rediscope.core.pipeline.options import ScanOptions
from rediscope.core.pipeline.records import Collector
from rediscope.core.pipeline.source import KeySource
from rediscope.core.rdbfile.source import RdbSource
from rediscope.core.scan.source import LiveSource
from rediscope.errors import RediscopeError

NEEDS = frozenset({"memory", "ttl"})


@dataclass(frozen=True)
class Analyzed:
    """What was stored: the snapshot's moment, its pattern rows, where they went."""

    sample: PatternSample
    history: str
    notes: tuple[str, ...] = ()


def snapshot(
    source: KeySource, label: str, separators: str = ":", rules: tuple[Rule, ...] = ()
) -> PatternSample:
    """SOURCE's keys by pattern (bytes measured), summarized; its moment is the files'
    ctime (the newest shard) or now for a live scan. A file that breaks off is an error:
    a partial summary would read as a shrink."""

    def make() -> list[Collector]:
        return [PatternCollector(separators, rules, NEEDS)]

    started = time.time()
    result = source.scan(ScanOptions(), make, None)
    failed = [n.error for n in result.summary.nodes if n.error]
    if failed or not result.summary.complete:
        raise RediscopeError(f"{label} could not be read in full: {'; '.join(failed)}")
    if not result.summary.measured("memory"):  # zero bytes would read as a collapse
        raise RediscopeError(
            "no bytes per pattern to record: the server denied MEMORY USAGE",
            "grant +memory|usage (docs/security.md), or record from a backup with --rdb",
        )
    table = result.collector(PatternCollector).finish()
    ctimes = [f.ctime for f in source.source_info().files]
    known = [c for c in ctimes if c is not None]
    ts = float(max(known)) if known and len(known) == len(ctimes) else started
    return PatternSample(ts, label, summarize(table))


def analyze_backup(
    spec: ConnectionSpec, dest: Path, manifest: str, history: Path | None = None
) -> Analyzed:
    """`backup run --analyze`: the backup just written (and verified) read offline, its
    pattern summary stored under the target, with an INFO sample beside it."""
    base = manifest.removesuffix(".manifest.json")
    found = [b for b in list_backups(dest) if b.base == base]
    if not found:
        raise RediscopeError(f"the backup {base} is not in {dest}")
    files = [str(dest / f) for f in found[0].files]
    sample = snapshot(RdbSource(rdb_inputs(files)), f"backup:{base}")
    history_path = history or default_history_path()
    History(history_path).append_patterns(spec.redacted_url, sample)
    notes: tuple[str, ...] = ()
    try:
        record(spec, history_path)
    except RediscopeError as exc:
        notes = (f"--analyze: no INFO sample recorded beside the patterns: {exc.message}",)
    return Analyzed(sample, str(history_path), notes)


def record_with_patterns(
    spec: ConnectionSpec,
    history_path: Path,
    rdb: list[str] | None = None,
    separators: str = ":",
    rules: tuple[Rule, ...] = (),
) -> RecordReport:
    """`capacity record --patterns`: the INFO sample, and the keyspace's pattern summary
    (scanned live, or read from --rdb files or a backup directory)."""
    recorded = record(spec, history_path)
    source: KeySource = RdbSource(rdb_inputs(rdb)) if rdb else LiveSource(spec)
    sample = snapshot(source, "rdb" if rdb else "live", separators, rules)
    History(history_path).append_patterns(spec.redacted_url, sample)
    return replace(recorded, patterns_recorded=len(sample.rows))
