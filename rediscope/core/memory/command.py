"""`rediscope memory`: where the memory goes, by type, encoding, db, node and key pattern."""

from __future__ import annotations

import math
from dataclasses import replace
from typing import Any

import redis

from rediscope.core.bigkeys.command import to_big_keys
from rediscope.core.collectors.bigkeys import BigKeysCollector
from rediscope.core.collectors.memory import (
    MemoryCollector,
)
from rediscope.core.collectors.patterns import OTHER, PatternCollector
from rediscope.core.collectors.sizes import SizeHistogramCollector, histograms
from rediscope.core.collectors.sketch import TypeSizeDists
from rediscope.core.collectors.topn import KeyTally
from rediscope.core.connection import ConnectionSpec, client
from rediscope.core.diagnostics import keysizes
from rediscope.core.info import info, version_tuple
from rediscope.core.memory.advice import recommendations
from rediscope.core.memory.report import LIMITS, MemoryReport, Share, Totals
from rediscope.core.patterns.command import PatternStats, stats_from
from rediscope.core.patterns.inference import Rule
from rediscope.core.pipeline.modtypes import readable
from rediscope.core.pipeline.options import ScanOptions
from rediscope.core.pipeline.records import Collector, ProgressFn, ScanSummary
from rediscope.core.pipeline.source import KeySource
from rediscope.core.scan.source import as_source
from rediscope.core.target import Target, node_spec

TOP_PATTERNS = 30


def _node_info(spec: ConnectionSpec, target: Target) -> list[dict[str, Any]] | None:
    """INFO of every primary; None when one of them cannot be read (a sum over some would be
    a figure nobody measured)."""
    out = []
    for node in target.primaries:
        conn = client(node_spec(spec, node))
        try:
            out.append(info(conn))  # server + memory + ...
        except (redis.RedisError, OSError):
            return None
        finally:
            conn.close()
    return out


def _limits(spec: ConnectionSpec, version: tuple[int, ...]) -> tuple[dict[str, int], str]:
    """The encoding limits this server has: from CONFIG GET ("config"), else where CONFIG is
    denied its version's defaults ("defaults"); none when the server cannot be asked
    ("unknown": the connection failed, and the scan reports that)."""
    conn = client(spec)
    try:
        got = conn.config_get("*-max-*")
        values: dict[str, Any] = {
            k.decode() if isinstance(k, bytes) else str(k): v for k, v in got.items()
        }
        for name in LIMITS:  # before 7.0 the hash and zset limits are named *-ziplist-*
            old = name.replace("listpack", "ziplist")
            if name not in values and old != name and old in values:
                values[name] = values[old]
        return {name: int(values[name]) for name in LIMITS if name in values}, "config"
    except (redis.ConnectionError, redis.TimeoutError, OSError):
        return {}, "unknown"
    except (redis.RedisError, ValueError):
        limits = dict(LIMITS)
        if version < (7, 2):  # sets gained the listpack encoding in 7.2
            limits.pop("set-max-listpack-entries")
        return limits, "defaults"
    finally:
        conn.close()


def _shares(
    items: dict[Any, KeyTally],
    total: int,
    factor: float,
    name: Any = str,
) -> tuple[Share, ...]:
    rows = [
        Share(
            name=name(k),
            keys=round(v.keys * factor),
            bytes=round(v.bytes * factor),
            share=round(v.bytes / total, 6) if total else 0.0,
        )
        for k, v in items.items()
    ]
    return tuple(sorted(rows, key=lambda r: (-r.bytes, r.name)))


def memory(
    source: ConnectionSpec | KeySource,
    opts: ScanOptions,
    separators: str = ":",
    rules: tuple[Rule, ...] = (),
    top: int = 20,
    progress: ProgressFn | None = None,
) -> MemoryReport:
    def make() -> list[Collector]:
        return [
            MemoryCollector(),
            BigKeysCollector(top),
            PatternCollector(separators, rules, frozenset({"memory", "ttl", "length"})),
            *([SizeHistogramCollector()] if opts.sample is not None else []),
        ]

    src = as_source(source)
    result = src.scan(opts, make, progress)
    target, scan = result.target, result.summary
    mem = result.collector(MemoryCollector)
    big = result.collector(BigKeysCollector)
    pat = result.collector(PatternCollector)
    infos, limits, limits_source = _server_side(src, target)
    notes = list(scan.notes)
    hists = histograms(result.collectors)
    sizes, size_notes = keysizes.for_scan(src.spec, target, opts, scan, hists)
    notes += size_notes
    if limits_source == "defaults":
        notes.append("CONFIG GET was denied: encoding limits are Redis 7 defaults")
    table = pat.finish()
    factor = scan.extrapolation
    totals = _totals(infos or [], mem, _ci95(mem, scan), round(mem.sum * factor), scan)
    notes += _keys_beyond_used(totals)
    return MemoryReport(
        target=target,
        complete=scan.complete,
        scan=scan,
        totals=totals,
        by_type=_type_rows(mem, factor),
        by_encoding=_encoding_rows(mem, factor),
        by_db=_shares(mem.by_db, mem.sum, factor, lambda d: f"db{d}"),
        by_node=_shares(mem.by_node, mem.sum, factor),
        by_pattern=_top_patterns(table, scan),
        top_keys=tuple(to_big_keys(src, target, big.by_bytes.ranked())),
        recommendations=tuple(recommendations(mem, table, totals, limits, limits_source, factor)),
        limits=limits,
        limits_source=limits_source,
        notes=tuple(notes),
        source=src.source_info(),
        size_distribution=sizes,
        sizes=_sizes(big),
    )


def _keys_beyond_used(totals: Totals) -> list[str]:
    """Why the keys' bytes can add up to more than the server's used_memory: each MEMORY USAGE
    counts what the key points at in full (shared integers and strings, the allocator's size
    classes, a sample's average for big collections), while used_memory counts each byte once."""
    used = totals.used_memory
    if used is None or totals.keys_bytes_estimate <= used:
        return []
    return [
        f"the keys' MEMORY USAGE adds up to {totals.keys_bytes_estimate - used:,} bytes more "
        "than used_memory: each key's figure counts shared objects and allocator rounding as "
        "its own, and big collections from a sample (--samples), while used_memory counts every "
        "byte once; compare keys with each other, the server total with maxmemory"
    ]


def _sizes(big: BigKeysCollector) -> tuple[TypeSizeDists, ...]:
    """Per type, by bytes: the distributions of the keys' bytes and elements."""
    rows = []
    for name, tally in sorted(big.totals.items(), key=lambda kv: (-kv[1].bytes, kv[0])):
        bytes_dist, elements_dist = big.sizes.of(name)
        rows.append(TypeSizeDists(name, tally.keys, bytes_dist, elements_dist))
    return tuple(rows)


def _server_side(
    src: KeySource, target: Target
) -> tuple[list[dict[str, Any]] | None, dict[str, int], str]:
    """INFO of every primary and the encoding limits. From files: only used_memory, as each
    file's aux used-mem says it was when written; the limits are unknown."""
    spec = src.spec
    if spec is None:
        files = src.source_info().files
        aux: list[dict[str, Any]] = [
            {"used_memory": f.aux["used-mem"]} for f in files if "used-mem" in f.aux
        ]
        return (aux if len(aux) == len(files) else None), {}, "unknown"
    infos = _node_info(spec, target)
    version = version_tuple(str(infos[0].get("redis_version", "7.0"))) if infos else (7, 0)
    limits, limits_source = _limits(spec, version)
    return infos, limits, limits_source


def _ci95(mem: MemoryCollector, scan: ScanSummary) -> int | None:
    """The 95% confidence interval of the extrapolated key bytes of a sample, else None."""
    held = sum(n.dbsize for n in scan.nodes)
    if not scan.sampled or mem.n <= 1:
        return None
    mean = mem.sum / mem.n
    var = max(mem.sumsq / mem.n - mean * mean, 0.0) * mem.n / (mem.n - 1)
    fpc = math.sqrt(max(0.0, 1 - mem.n / held)) if held else 1.0
    return round(1.96 * math.sqrt(var / mem.n) * held * fpc)


def _totals(
    infos: list[dict[str, Any]],
    mem: MemoryCollector,
    ci: int | None,
    estimate: int,
    scan: ScanSummary,
) -> Totals:
    """Server figures summed over the primaries (unknown unless every one was read)."""

    def total(field_name: str) -> int | None:
        vals = [i.get(field_name) for i in infos]
        known = [int(v) for v in vals if v is not None]
        return sum(known) if vals and len(known) == len(vals) else None

    frag_vals = [
        float(i["mem_fragmentation_ratio"])
        for i in infos
        if i.get("mem_fragmentation_ratio") is not None
    ]
    return Totals(
        used_memory=total("used_memory"),
        used_memory_dataset=total("used_memory_dataset"),
        used_memory_overhead=total("used_memory_overhead"),
        used_memory_rss=total("used_memory_rss"),
        mem_fragmentation_ratio=max(frag_vals) if frag_vals else None,
        maxmemory=total("maxmemory"),
        maxmemory_policy=str(infos[0]["maxmemory_policy"])
        if infos and "maxmemory_policy" in infos[0]
        else None,
        keys_bytes=mem.sum,
        keys_bytes_estimate=estimate,
        estimate_ci95=ci,
        keys=sum(n.dbsize for n in scan.nodes),
        keys_unknown=round(sum(mem.unknown.values()) * scan.extrapolation),
        unknown_share=_unknown_share(mem),
    )


def _unknown_share(mem: MemoryCollector) -> float:
    """The share of the keys whose bytes are unknown: of the serialized bytes from files, else
    of the keys."""
    unknown = sum(mem.unknown.values())
    if not unknown:
        return 0.0
    if mem.serialized:
        return round(mem.unknown_serialized / mem.serialized, 6)
    return round(unknown / mem.n, 6) if mem.n else 0.0


def _top_patterns(table: dict[str, Any], scan: ScanSummary) -> tuple[PatternStats, ...]:
    """Patterns by bytes; past TOP_PATTERNS the rest are summed into one OTHER row."""
    stats = sorted(stats_from(table, scan, True, None), key=lambda s: (-(s.bytes or 0), s.pattern))
    if len(stats) <= TOP_PATTERNS:
        return tuple(stats)
    rest = stats[TOP_PATTERNS:]
    other = PatternStats(
        pattern=OTHER,
        keys=sum(s.keys for s in rest),
        share=sum(s.share for s in rest),
        bytes=sum(s.bytes or 0 for s in rest),
        bytes_share=sum(s.bytes_share or 0 for s in rest),
        types={},
        ttl={},
        no_ttl_share=0.0,
        idle=None,
        freq=None,
        examples=(),
        estimated=scan.sampled,
    )
    return (*stats[:TOP_PATTERNS], other)


def _type_rows(mem: MemoryCollector, factor: float) -> tuple[Share, ...]:
    """Bytes by type, with the readable name of a module type and its keys of unknown bytes."""
    return tuple(
        replace(
            r,
            type_name=readable(r.name),
            keys_unknown=round(mem.unknown.get(r.name.encode(), 0) * factor),
        )
        for r in _shares(mem.by_type, mem.sum, factor, lambda b: b.decode())
    )


def _encoding_rows(mem: MemoryCollector, factor: float) -> tuple[Share, ...]:
    rows = (
        Share(
            name=e.decode(),
            type=t.decode(),
            keys=round(v.keys * factor),
            bytes=round(v.bytes * factor),
            share=round(v.bytes / mem.sum, 6) if mem.sum else 0.0,
            type_name=readable(t.decode()),
            # a module value's keys of unknown bytes: those of its type (all are "module")
            keys_unknown=round(mem.unknown.get(t, 0) * factor) if e == b"module" else 0,
        )
        for (t, e), v in mem.by_encoding.items()
    )
    return tuple(sorted(rows, key=lambda r: (-r.bytes, r.name)))
