"""INFO KEYSIZES (Redis 8.0+): the server's own histogram of key sizes per db and type, in
power-of-two buckets of bytes (strings) or elements (lists, sets, sorted sets, hashes). Read
from every primary and summed; asked, never inferred from a version: a server without the
section answers with none of its fields.

A line reads `db0_distrib_strings_sizes:0=1,4=10,8=990,4K=1,2M=1`: 10 strings of 4 to 7
bytes, 990 of 8 to 15, one of 4 KiB to 8 KiB - 1... (K, M, G, T, P: powers of 1024)."""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import redis

from rediscope.core.connection import ConnectionSpec, client
from rediscope.core.pipeline.options import ScanOptions
from rediscope.core.pipeline.records import ScanSummary
from rediscope.core.target import Target, node_spec

SOURCE = "INFO KEYSIZES"
_FIELD = re.compile(r"^db(\d+)_distrib_([a-z]+)_(sizes|items)$")
_SUFFIX = {"K": 1 << 10, "M": 1 << 20, "G": 1 << 30, "T": 1 << 40, "P": 1 << 50, "E": 1 << 60}
#: the section's type names -> TYPE's
TYPES = {"strings": "string", "lists": "list", "sets": "set", "zsets": "zset", "hashes": "hash"}


@dataclass(frozen=True)
class SizeBucket:
    """Keys whose size is from `min` to `max` (inclusive: one power of two, 0 alone)."""

    min: int
    max: int
    keys: int


@dataclass(frozen=True)
class TypeSizes:
    db: int
    type: str  # as TYPE names it
    unit: str  # bytes (strings) or elements
    keys: int
    buckets: tuple[SizeBucket, ...]


@dataclass(frozen=True)
class SizeComparison:
    """With --sample: the scan's figures for a type beside the server's own (all scanned dbs)."""

    type: str
    server_keys: int
    scan_keys: int  # extrapolated from the sample
    #: half the summed difference of the two histograms' shares (0: the same shape, 1: none
    #: in common)
    distance: float


@dataclass(frozen=True)
class SizeDistribution:
    source: str  # INFO KEYSIZES
    nodes: int  # the primaries whose histograms are summed
    types: tuple[TypeSizes, ...]
    comparison: tuple[SizeComparison, ...] = ()


def bucket_min(label: str) -> int:
    """`4K` -> 4096; `8` -> 8."""
    label = label.strip()
    mult = _SUFFIX.get(label[-1:].upper(), 1)
    return int(label[:-1] if mult > 1 else label) * mult


def bucket_max(low: int) -> int:
    return 0 if low == 0 else 2 * low - 1


def bucket_of(size: int) -> int:
    """The bucket a size falls in (its lower bound)."""
    return 0 if size <= 0 else 1 << (size.bit_length() - 1)


def _pairs(value: Any) -> Iterable[tuple[str, int]]:
    """A field's buckets: redis-py parses `4=10,8=990` into a dict; a raw string also works."""
    if isinstance(value, dict):
        return ((str(k), int(v)) for k, v in value.items())
    parts = (p.split("=", 1) for p in str(value).split(",") if "=" in p)
    return ((k, int(v)) for k, v in parts)


def parse(data: dict[str, Any], into: dict[tuple[int, str], dict[int, int]]) -> bool:
    """Add one node's INFO KEYSIZES fields to INTO ((db, type) -> {bucket min: keys});
    whether the node had any."""
    found = False
    for name, value in data.items():
        m = _FIELD.match(str(name))
        if m is None or m.group(2) not in TYPES:
            continue
        found = True
        hist = into.setdefault((int(m.group(1)), TYPES[m.group(2)]), {})
        for label, keys in _pairs(value):
            low = bucket_min(label)
            hist[low] = hist.get(low, 0) + keys
    return found


def build(hists: dict[tuple[int, str], dict[int, int]], nodes: int) -> SizeDistribution:
    types = []
    for (db, tname), hist in sorted(hists.items()):
        buckets = tuple(SizeBucket(lo, bucket_max(lo), n) for lo, n in sorted(hist.items()) if n)
        unit = "bytes" if tname == "string" else "elements"
        types.append(TypeSizes(db, tname, unit, sum(b.keys for b in buckets), buckets))
    return SizeDistribution(SOURCE, nodes, tuple(types))


def read(spec: ConnectionSpec, target: Target, db: int | None) -> SizeDistribution | None:
    """The summed histograms of every primary (only DB with -n); None when a primary cannot
    be read, or none has the section (a server before Redis 8, or Valkey). A primary with no
    keys of those types answers an empty section, as one without it does: it adds nothing."""
    hists: dict[tuple[int, str], dict[int, int]] = {}
    found = False
    for node in target.primaries:
        conn = client(node_spec(spec, node))
        try:
            data = conn.info("keysizes")
        except (redis.RedisError, OSError):
            return None
        finally:
            conn.close()
        found = parse(data, hists) or found
    if not found:
        return None
    if db is not None:
        hists = {k: v for k, v in hists.items() if k[0] == db}
    return build(hists, len(target.primaries))


def compare(
    dist: SizeDistribution, scanned: dict[str, dict[int, int]], factor: float
) -> SizeDistribution:
    """DIST with the sample's histograms (type -> {bucket min: keys}) set beside it."""
    server: dict[str, dict[int, int]] = {}
    for t in dist.types:
        hist = server.setdefault(t.type, {})
        for b in t.buckets:
            hist[b.min] = hist.get(b.min, 0) + b.keys
    rows = []
    for tname in sorted(set(server) | {t for t in scanned if t in TYPES.values()}):
        mine, theirs = scanned.get(tname, {}), server.get(tname, {})
        n_mine, n_theirs = sum(mine.values()), sum(theirs.values())
        lows = set(mine) | set(theirs)
        dist_ = 0.5 * sum(
            abs(mine.get(lo, 0) / (n_mine or 1) - theirs.get(lo, 0) / (n_theirs or 1))
            for lo in lows
        )
        rows.append(SizeComparison(tname, n_theirs, round(n_mine * factor), round(dist_, 4)))
    return SizeDistribution(dist.source, dist.nodes, dist.types, tuple(rows))


def for_scan(
    spec: ConnectionSpec | None,
    target: Target,
    opts: ScanOptions,
    scan: ScanSummary,
    scanned: dict[str, dict[int, int]] | None,
) -> tuple[SizeDistribution | None, list[str]]:
    """The distribution for a scan's report (None from files, or where a server lacks it),
    compared with the sample's histograms when the scan was sampled over every key (a sample
    filtered by --match or --type is not the keyspace the server counts); and the notes saying
    what was used."""
    if spec is None:
        return None, []
    dist = read(spec, target, opts.db)
    if dist is None:
        return None, []
    notes = [
        f"size_distribution: {SOURCE} of {dist.nodes} primar{'y' if dist.nodes == 1 else 'ies'}"
        " (the server's own histogram, read without a scan)"
    ]
    if not scan.sampled or scanned is None:
        return dist, notes
    if opts.match is not None or opts.type is not None:
        notes.append(f"the sample is filtered (--match/--type): not compared with {SOURCE}")
        return dist, notes
    dist = compare(dist, scanned, scan.extrapolation)
    worst = max(dist.comparison, key=lambda c: c.distance, default=None)
    if worst is not None:
        notes.append(
            f"the sample set beside {SOURCE}: {worst.type} histograms differ by "
            f"{worst.distance:.0%} at most ({worst.scan_keys:,} keys estimated, "
            f"{worst.server_keys:,} held)"
        )
    return dist, notes
