"""`rediscope memory`: where does the memory go? Totals, breakdowns, recommendations."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any, ClassVar

import redis

from rediscope.core.bigkeys import BigKey, to_big_keys
from rediscope.core.collectors.bigkeys import BigKeysCollector
from rediscope.core.collectors.memory import (
    BIG_COLLECTION,
    BIG_STRING,
    COMPACT,
    MemoryCollector,
)
from rediscope.core.collectors.patterns import OTHER, PatternCollector
from rediscope.core.collectors.topn import TopN
from rediscope.core.connection import ConnectionSpec, client
from rediscope.core.info import info, version_tuple
from rediscope.core.pattern_stats import PatternStats, stats_from
from rediscope.core.patterns import Rule
from rediscope.core.scan import (
    Collector,
    ProgressFn,
    ScanOptions,
    ScanSummary,
    run_scan,
)
from rediscope.core.target import Target, node_spec
from rediscope.core.units import FRAGMENTATION_MIN_USED, plural

TINY_STRING = 100  # bytes of MEMORY USAGE
TINY_PATTERN_KEYS = 10_000
TOP_PATTERNS = 30
DOCS = "https://redis.io/docs/latest/operate/oss_and_stack/management/optimization/memory-optimization/"
EVICTION_DOCS = "https://redis.io/docs/latest/develop/reference/eviction/"
#: encoding limits: config name -> default (Redis 7); read with CONFIG GET when allowed
LIMITS = {
    "hash-max-listpack-entries": 128,
    "hash-max-listpack-value": 64,
    "zset-max-listpack-entries": 128,
    "zset-max-listpack-value": 64,
    "set-max-intset-entries": 512,
    "set-max-listpack-entries": 128,
}
#: type -> (compact encodings, the entries limit that decides)


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


@dataclass(frozen=True)
class Share:
    name: str
    keys: int
    bytes: int
    share: float
    type: str | None = None  # for by_encoding


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
    items: dict[Any, list[int]],
    total: int,
    factor: float,
    name: Any = str,
) -> tuple[Share, ...]:
    rows = [
        Share(
            name=name(k),
            keys=round(v[0] * factor),
            bytes=round(v[1] * factor),
            share=round(v[1] / total, 6) if total else 0.0,
        )
        for k, v in items.items()
    ]
    return tuple(sorted(rows, key=lambda r: (-r.bytes, r.name)))


def memory(
    spec: ConnectionSpec,
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
            PatternCollector(separators, rules, frozenset({"memory", "ttl"})),
        ]

    target, scan, collectors = run_scan(spec, opts, make, progress)
    mem, big, pat = collectors
    assert isinstance(mem, MemoryCollector) and isinstance(big, BigKeysCollector)
    assert isinstance(pat, PatternCollector)
    factor = scan.extrapolation
    infos = _node_info(spec, target)
    version = version_tuple(str(infos[0].get("redis_version", "7.0"))) if infos else (7, 0)
    infos = infos or []
    limits, limits_source = _limits(spec, version)
    notes = list(scan.notes)
    if limits_source == "defaults":
        notes.append("CONFIG GET was denied: encoding limits are Redis 7 defaults")
    held = sum(n.dbsize for n in scan.nodes)
    ci = None
    if scan.sampled and mem.n > 1:
        mean = mem.sum / mem.n
        var = max(mem.sumsq / mem.n - mean * mean, 0.0) * mem.n / (mem.n - 1)
        fpc = math.sqrt(max(0.0, 1 - mem.n / held)) if held else 1.0
        ci = round(1.96 * math.sqrt(var / mem.n) * held * fpc)

    def total(field_name: str) -> int | None:
        vals = [i.get(field_name) for i in infos]
        known = [int(v) for v in vals if v is not None]
        return sum(known) if vals and len(known) == len(vals) else None

    frag_vals = [
        float(i["mem_fragmentation_ratio"])
        for i in infos
        if i.get("mem_fragmentation_ratio") is not None
    ]
    totals = Totals(
        used_memory=total("used_memory"),
        used_memory_dataset=total("used_memory_dataset"),
        used_memory_overhead=total("used_memory_overhead"),
        used_memory_rss=total("used_memory_rss"),
        mem_fragmentation_ratio=max(frag_vals) if frag_vals else None,
        maxmemory=total("maxmemory"),
        maxmemory_policy=str(infos[0]["maxmemory_policy"]) if infos else None,
        keys_bytes=mem.sum,
        keys_bytes_estimate=round(mem.sum * factor),
        estimate_ci95=ci,
        keys=held,
    )
    table = pat.finish()
    stats = sorted(stats_from(table, scan, True, None), key=lambda s: (-(s.bytes or 0), s.pattern))
    if len(stats) > TOP_PATTERNS:
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
        stats = [*stats[:TOP_PATTERNS], other]
    top_keys = to_big_keys(spec, target, big.by_bytes.ranked())
    recs = recommendations(mem, table, totals, limits, limits_source, factor)
    enc_rows = tuple(
        sorted(
            (
                Share(
                    name=e.decode(),
                    type=t.decode(),
                    keys=round(v[0] * factor),
                    bytes=round(v[1] * factor),
                    share=round(v[1] / mem.sum, 6) if mem.sum else 0.0,
                )
                for (t, e), v in mem.by_encoding.items()
            ),
            key=lambda r: (-r.bytes, r.name),
        )
    )
    return MemoryReport(
        target=target,
        complete=scan.complete,
        scan=scan,
        totals=totals,
        by_type=_shares(mem.by_type, mem.sum, factor, lambda b: b.decode()),
        by_encoding=enc_rows,
        by_db=_shares(mem.by_db, mem.sum, factor, lambda d: f"db{d}"),
        by_node=_shares(mem.by_node, mem.sum, factor),
        by_pattern=tuple(stats),
        top_keys=tuple(top_keys),
        recommendations=tuple(recs),
        limits=limits,
        limits_source=limits_source,
        notes=tuple(notes),
    )


def _examples(top: TopN) -> list[bytes]:
    """The example keys, biggest first: key names, which JSON writes as every other key."""
    return [e.key for e in top.ranked()]


def recommendations(
    mem: MemoryCollector,
    table: dict[str, Any],
    totals: Totals,
    limits: dict[str, int],
    limits_source: str,
    factor: float,
) -> list[Recommendation]:
    """Each with its evidence; thresholds are documented in docs/memory.md."""
    recs: list[Recommendation] = []
    if mem.big_strings[0]:
        recs.append(
            Recommendation(
                "big_strings",
                "warning",
                f"{plural(round(mem.big_strings[0] * factor), 'string is', 'strings are')} larger "
                f"than {BIG_STRING // 1024} KiB: big values "
                "block the server while they are read, written or deleted and load the network; "
                "split them or compress them client-side",
                {
                    "keys": round(mem.big_strings[0] * factor),
                    "bytes": round(mem.big_strings[1] * factor),
                    "examples": _examples(mem.big_strings_top),
                },
                DOCS,
            )
        )
    if mem.big_collections[0]:
        recs.append(
            Recommendation(
                "big_collections",
                "warning",
                f"{plural(round(mem.big_collections[0] * factor), 'collection has', 'collections have')} "
                "more than "
                f"{BIG_COLLECTION:,} elements: whole-collection commands (HGETALL, SMEMBERS, DEL) "
                "on them are slow; page with HSCAN/SSCAN/ZSCAN, shard the key, or UNLINK",
                {
                    "keys": round(mem.big_collections[0] * factor),
                    "bytes": round(mem.big_collections[1] * factor),
                    "examples": _examples(mem.big_collections_top),
                },
                DOCS,
            )
        )
    names = {b"hash": ("hash is", "hashes are"), b"zset": ("sorted set is", "sorted sets are")}
    names[b"set"] = ("set is", "sets are")
    for t, (count, nbytes, biggest) in sorted(mem.noncompact.items()):
        setting = COMPACT[t][1]
        limit = limits.get(setting)
        if limit is None:  # this server has no such encoding (sets before 7.2)
            continue
        tname = t.decode()
        recs.append(
            Recommendation(
                f"encoding_{tname}",
                "info",
                f"{plural(round(count * factor), *names[t])} not in a compact encoding although "
                f"{'it has' if round(count * factor) == 1 else 'they have'} at most {biggest:,} elements ({setting} is {limit}"
                f"{', the default: CONFIG GET was denied' if limits_source == 'defaults' else ''}); "
                f"raising {setting} (and its -value limit if values are long) above {biggest} "
                "stores them as listpacks, often several times smaller",
                {
                    "keys": round(count * factor),
                    "bytes": round(nbytes * factor),
                    "max_elements": biggest,
                    "setting": setting,
                    "limit": limit,
                },
                DOCS,
            )
        )
    for pattern, agg in sorted(table.items()):
        strings = agg.types.get(b"string", 0)
        if strings >= TINY_PATTERN_KEYS * (1 / factor if factor else 1) and (
            strings == agg.keys and agg.bytes / agg.keys < TINY_STRING
        ):
            recs.append(
                Recommendation(
                    "tiny_strings",
                    "info",
                    f"{round(agg.keys * factor):,} tiny strings in {pattern} (about "
                    f"{agg.bytes / agg.keys:.0f} bytes each, mostly per-key overhead): grouping them "
                    "as fields of hashes (e.g. 100 per hash) can save most of that memory",
                    {
                        "pattern": pattern,
                        "keys": round(agg.keys * factor),
                        "bytes": round(agg.bytes * factor),
                    },
                    DOCS,
                )
            )
        with_info = sum(agg.ttl)
        no_ttl = agg.ttl[0]
        if with_info >= 20 and 0 < no_ttl <= 0.2 * with_info:
            recs.append(
                Recommendation(
                    "missing_ttl",
                    "warning",
                    f"{round(no_ttl * factor):,} keys in {pattern} have no TTL while "
                    f"{1 - no_ttl / with_info:.0%} of the pattern expires: probably leaked keys "
                    "that will never go away",
                    {
                        "pattern": pattern,
                        "keys_without_ttl": round(no_ttl * factor),
                        "keys": round(agg.keys * factor),
                    },
                    EVICTION_DOCS,
                )
            )
    if len(mem.by_db) > 1:
        recs.append(
            Recommendation(
                "multiple_dbs",
                "info",
                f"{len(mem.by_db)} logical databases hold keys: Redis Cluster only has db 0, and "
                "separate instances isolate workloads better",
                {"dbs": sorted(mem.by_db)},
                DOCS,
            )
        )
    ratio = totals.mem_fragmentation_ratio
    used, limit = totals.used_memory, totals.maxmemory
    if ratio is not None and ratio > 1.5 and used is not None and used >= FRAGMENTATION_MIN_USED:
        recs.append(
            Recommendation(
                "high_fragmentation",
                "warning",
                f"memory fragmentation ratio is {ratio:.2f}: RSS is well above what the data uses; "
                "consider activedefrag yes",
                {
                    "mem_fragmentation_ratio": ratio,
                    "used_memory": totals.used_memory,
                    "used_memory_rss": totals.used_memory_rss,
                },
                DOCS,
            )
        )
    if used is None or limit is None:  # INFO was not read: nothing to say about the limit
        return recs
    if limit == 0:
        recs.append(
            Recommendation(
                "no_maxmemory",
                "warning",
                "no maxmemory is set: the server grows until the OS kills it or it swaps; set "
                "maxmemory and a maxmemory-policy",
                {"used_memory": totals.used_memory},
                EVICTION_DOCS,
            )
        )
    elif totals.maxmemory_policy == "noeviction" and used > 0.8 * limit:
        recs.append(
            Recommendation(
                "noeviction_near_limit",
                "critical",
                f"memory is at {used / limit:.0%} of maxmemory with policy "
                "noeviction: writes will fail with OOM errors when it is reached",
                {"used_memory": totals.used_memory, "maxmemory": totals.maxmemory},
                EVICTION_DOCS,
            )
        )
    return recs
