"""memory's recommendations: each fires on evidence the scan measured (thresholds in docs/memory.md) and never on a figure that could not be read."""

from __future__ import annotations

from typing import Any

from rediscope.core.collectors.memory import (
    BIG_COLLECTION,
    BIG_STRING,
    COMPACT,
    MemoryCollector,
)
from rediscope.core.collectors.topn import KeyTally, TopN
from rediscope.core.memory.report import Recommendation, Totals
from rediscope.core.units import FRAGMENTATION_MIN_USED, plural

TINY_STRING = 100  # bytes of MEMORY USAGE


TINY_PATTERN_KEYS = 10_000


DOCS = "https://redis.io/docs/latest/operate/oss_and_stack/management/optimization/memory-optimization/"


EVICTION_DOCS = "https://redis.io/docs/latest/develop/reference/eviction/"


def examples(top: TopN) -> list[bytes]:
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
    return [
        *_big_values(mem, factor),
        *_encodings(mem, limits, limits_source, factor),
        *(rec for pattern, agg in sorted(table.items()) for rec in _pattern(pattern, agg, factor)),
        *_server(mem, totals),
    ]


def _big(rec_id: str, found: KeyTally, top: TopN, factor: float, text: str) -> Recommendation:
    keys = round(found.keys * factor)
    evidence = {"keys": keys, "bytes": round(found.bytes * factor), "examples": examples(top)}
    return Recommendation(rec_id, "warning", text, evidence, DOCS)


def _big_values(mem: MemoryCollector, factor: float) -> list[Recommendation]:
    recs = []
    if mem.big_strings.keys:
        n = round(mem.big_strings.keys * factor)
        text = (
            f"{plural(n, 'string is', 'strings are')} larger than {BIG_STRING // 1024} KiB: big "
            "values block the server while they are read, written or deleted and load the "
            "network; split them or compress them client-side"
        )
        recs.append(_big("big_strings", mem.big_strings, mem.big_strings_top, factor, text))
    if mem.big_collections.keys:
        n = round(mem.big_collections.keys * factor)
        text = (
            f"{plural(n, 'collection has', 'collections have')} more than {BIG_COLLECTION:,} "
            "elements: whole-collection commands (HGETALL, SMEMBERS, DEL) on them are slow; "
            "page with HSCAN/SSCAN/ZSCAN, shard the key, or UNLINK"
        )
        recs.append(
            _big("big_collections", mem.big_collections, mem.big_collections_top, factor, text)
        )
    return recs


_NAMES = {
    b"hash": ("hash is", "hashes are"),
    b"zset": ("sorted set is", "sorted sets are"),
    b"set": ("set is", "sets are"),
}


def _encodings(
    mem: MemoryCollector, limits: dict[str, int], limits_source: str, factor: float
) -> list[Recommendation]:
    recs = []
    for t, tally in sorted(mem.noncompact.items()):
        count, nbytes, biggest = tally.keys, tally.bytes, tally.most
        setting = COMPACT[t][1]
        limit = limits.get(setting)
        if limit is None:  # this server has no such encoding (sets before 7.2)
            continue
        n = round(count * factor)
        denied = ", the default: CONFIG GET was denied" if limits_source == "defaults" else ""
        text = (
            f"{plural(n, *_NAMES[t])} not in a compact encoding although "
            f"{'it has' if n == 1 else 'they have'} at most {biggest:,} elements ({setting} is "
            f"{limit}{denied}); raising {setting} (and its -value limit if values are long) "
            f"above {biggest} stores them as listpacks, often several times smaller"
        )
        evidence = {
            "keys": n,
            "bytes": round(nbytes * factor),
            "max_elements": biggest,
            "setting": setting,
            "limit": limit,
        }
        recs.append(Recommendation(f"encoding_{t.decode()}", "info", text, evidence, DOCS))
    return recs


def _pattern(pattern: str, agg: Any, factor: float) -> list[Recommendation]:
    recs = []
    strings = agg.types.get(b"string", 0)
    if strings >= TINY_PATTERN_KEYS * (1 / factor if factor else 1) and (
        strings == agg.keys and agg.bytes / agg.keys < TINY_STRING
    ):
        text = (
            f"{round(agg.keys * factor):,} tiny strings in {pattern} (about "
            f"{agg.bytes / agg.keys:.0f} bytes each, mostly per-key overhead): grouping them "
            "as fields of hashes (e.g. 100 per hash) can save most of that memory"
        )
        evidence = {
            "pattern": pattern,
            "keys": round(agg.keys * factor),
            "bytes": round(agg.bytes * factor),
        }
        recs.append(Recommendation("tiny_strings", "info", text, evidence, DOCS))
    with_info = sum(agg.ttl)
    no_ttl = agg.ttl[0]
    if with_info >= 20 and 0 < no_ttl <= 0.2 * with_info:
        text = (
            f"{round(no_ttl * factor):,} keys in {pattern} have no TTL while "
            f"{1 - no_ttl / with_info:.0%} of the pattern expires: probably leaked keys "
            "that will never go away"
        )
        evidence = {
            "pattern": pattern,
            "keys_without_ttl": round(no_ttl * factor),
            "keys": round(agg.keys * factor),
        }
        recs.append(Recommendation("missing_ttl", "warning", text, evidence, EVICTION_DOCS))
    return recs


def _server(mem: MemoryCollector, totals: Totals) -> list[Recommendation]:
    recs = []
    if len(mem.by_db) > 1:
        text = (
            f"{len(mem.by_db)} logical databases hold keys: Redis Cluster only has db 0, and "
            "separate instances isolate workloads better"
        )
        recs.append(Recommendation("multiple_dbs", "info", text, {"dbs": sorted(mem.by_db)}, DOCS))
    ratio = totals.mem_fragmentation_ratio
    used, limit = totals.used_memory, totals.maxmemory
    if ratio is not None and ratio > 1.5 and used is not None and used >= FRAGMENTATION_MIN_USED:
        text = (
            f"memory fragmentation ratio is {ratio:.2f}: RSS is well above what the data uses; "
            "consider activedefrag yes"
        )
        evidence = {
            "mem_fragmentation_ratio": ratio,
            "used_memory": totals.used_memory,
            "used_memory_rss": totals.used_memory_rss,
        }
        recs.append(Recommendation("high_fragmentation", "warning", text, evidence, DOCS))
    if used is None or limit is None:  # INFO was not read: nothing to say about the limit
        return recs
    if limit == 0:
        text = (
            "no maxmemory is set: the server grows until the OS kills it or it swaps; set "
            "maxmemory and a maxmemory-policy"
        )
        recs.append(
            Recommendation("no_maxmemory", "warning", text, {"used_memory": used}, EVICTION_DOCS)
        )
    elif totals.maxmemory_policy == "noeviction" and used > 0.8 * limit:
        text = (
            f"memory is at {used / limit:.0%} of maxmemory with policy "
            "noeviction: writes will fail with OOM errors when it is reached"
        )
        evidence = {"used_memory": used, "maxmemory": limit}
        recs.append(
            Recommendation("noeviction_near_limit", "critical", text, evidence, EVICTION_DOCS)
        )
    return recs
