"""The audit's checks: each looks at one pattern's aggregate (or the keyspace's shares) and
returns findings with their evidence and the fix."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import Any, Literal

from rediscope.core.audit.collector import Agg
from rediscope.core.keynames import display_key

Severity = Literal["info", "warning", "critical"]
#: lowest first
SEVERITIES: tuple[Severity, ...] = ("info", "warning", "critical")
CHECK_IDS = (
    "ttl_missing",
    "cache_without_ttl",
    "expiry_storm",
    "lock_without_ttl",
    "tag_dangling",
    "rate_limit_unbounded",
    "counter_unbounded",
    "queue_backlog",
    "hot_copy_drift",
    "big_json_string",
    "idle_without_ttl",
    "eviction_mismatch",
)


@dataclass(frozen=True)
class Thresholds:
    ttl_missing_share: float = 0.8  # most keys of the pattern have a TTL
    min_keys: int = 20  # a pattern this small is not judged on shares
    storm_second_share: float = 0.2
    storm_second_keys: int = 50
    storm_minute_share: float = 0.9  # and TTLs of at least 10 minutes: no jitter at all
    storm_minute_keys: int = 100
    lock_lease_s: float = 86_400.0
    counter_keys: int = 1_000
    queue_length: int = 10_000
    idle_keys: int = 10


@dataclass(frozen=True, kw_only=True)
class Finding:
    id: str
    severity: Severity
    pattern: str
    role: str
    keys: int
    bytes: int | None  # None: not measured for this check
    evidence: dict[str, Any]
    examples: tuple[str, ...]
    fix: str


@dataclass(kw_only=True)
class Pattern:
    """One pattern as the checks see it (a rule of --rules may set its role, silence checks
    for it and change thresholds)."""

    name: str
    role: str
    agg: Agg
    types: dict[str, int] = field(default_factory=dict)
    ignore: frozenset[str] = frozenset()
    thresholds: Thresholds = field(default_factory=Thresholds)


def _ex(keys: list[bytes] | list[tuple[int, bytes]]) -> tuple[str, ...]:
    return tuple(display_key(k if isinstance(k, bytes) else k[1]) for k in keys[:5])


def ttl_missing(p: Pattern, t: Thresholds) -> Finding | None:
    a = p.agg
    if a.keys < t.min_keys or not a.no_ttl or a.with_ttl / a.keys < t.ttl_missing_share:
        return None
    return Finding(
        id="ttl_missing",
        severity="critical" if p.role in ("cache", "session") else "warning",
        pattern=p.name,
        role=p.role,
        keys=a.no_ttl,
        bytes=a.bytes_no_ttl,
        evidence={
            "with_ttl": a.with_ttl,
            "without_ttl": a.no_ttl,
            "share_with_ttl": round(a.with_ttl / a.keys, 4),
        },
        examples=_ex(a.no_ttl_examples),
        fix="A code path writes these keys without a TTL (a SET after which EXPIRE failed or "
        "was never sent): write value and TTL in one command (SET key value EX n).",
    )


def cache_without_ttl(p: Pattern, t: Thresholds) -> Finding | None:
    a = p.agg
    if p.role not in ("cache", "session") or a.with_ttl or not a.no_ttl:
        return None
    return Finding(
        id="cache_without_ttl",
        severity="warning",
        pattern=p.name,
        role=p.role,
        keys=a.no_ttl,
        bytes=a.bytes_no_ttl,
        evidence={"keys": a.no_ttl, "idle_old": a.idle_old if a.idle_known else None},
        examples=_ex(a.no_ttl_examples),
        fix=f"A {p.role} that never expires grows until maxmemory: give every write a TTL "
        "(SET key value EX n), or mark the pattern as intended in the rules file.",
    )


def expiry_storm(p: Pattern, t: Thresholds) -> Finding | None:
    """Cache keys (or keys of no known role) expiring together: a stampede on the backing
    store. Locks, sessions, rate-limit windows and counters expiring together harm no one."""
    a = p.agg
    if not a.expiry or p.role not in ("cache", "unknown"):
        return None
    second, peak = max(a.expiry.items(), key=lambda kv: (kv[1], -kv[0]))
    minutes: dict[int, int] = {}
    for s, n in a.expiry.items():
        minutes[s // 60] = minutes.get(s // 60, 0) + n
    minute_at, peak_min = peak_window(a.expiry, 60)  # any 60 s, not calendar minutes
    by_second = peak >= t.storm_second_keys and peak / a.with_ttl >= t.storm_second_share
    by_minute = (
        peak_min >= t.storm_minute_keys
        and peak_min / a.with_ttl >= t.storm_minute_share
        and a.max_ttl_ms >= 600_000
    )
    if not (by_second or by_minute):
        return None
    share = peak / a.with_ttl if by_second else peak_min / a.with_ttl
    return Finding(
        id="expiry_storm",
        severity="critical" if share >= 0.5 else "warning",
        pattern=p.name,
        role=p.role,
        keys=peak if by_second else peak_min,
        bytes=None,
        evidence={
            "with_ttl": a.with_ttl,
            "peak_second_keys": peak,
            "peak_second_at": second,
            "peak_minute_keys": peak_min,
            "peak_minute_at": minute_at,
            "share": round(share, 4),
            "by_second": _busiest(a.expiry),
            "by_minute": [[m * 60, n] for m, n in _busiest(minutes)],
            "histogram_truncated": a.expiry_truncated,
        },
        examples=(),
        fix="Keys written together with the same TTL expire together, and every reader misses "
        "at once (a cache stampede): add jitter to the TTL (ttl + random(0, ttl/10)).",
    )


def peak_window(counts: dict[int, int], width: int) -> tuple[int, int]:
    """The busiest window of WIDTH seconds anywhere in a per-second histogram: (its first
    second, its keys). A sliding window: a burst across a minute boundary counts whole."""
    seconds = sorted(counts)
    best_at, best, inside, lo = seconds[0], 0, 0, 0
    for at in seconds:
        inside += counts[at]
        while seconds[lo] <= at - width:
            inside -= counts[seconds[lo]]
            lo += 1
        if inside > best:
            best_at, best = seconds[lo], inside
    return best_at, best


def _busiest(counts: dict[int, int], n: int = 10) -> list[list[int]]:
    """The N busiest buckets of a histogram, [[time, keys], ...], busiest first."""
    return [[t, k] for t, k in sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))[:n]]


def lock_without_ttl(p: Pattern, t: Thresholds) -> Finding | None:
    a = p.agg
    if p.role != "lock":
        return None
    if a.no_ttl:
        return Finding(
            id="lock_without_ttl",
            severity="critical",
            pattern=p.name,
            role=p.role,
            keys=a.no_ttl,
            bytes=a.bytes_no_ttl,
            evidence={"without_ttl": a.no_ttl, "with_ttl": a.with_ttl},
            examples=_ex(a.no_ttl_examples),
            fix="A lock without a TTL is held forever when its holder dies: take it with "
            "SET key token NX PX lease, never SETNX then EXPIRE.",
        )
    if a.max_ttl_ms / 1000 > t.lock_lease_s:
        return Finding(
            id="lock_without_ttl",
            severity="warning",
            pattern=p.name,
            role=p.role,
            keys=a.with_ttl,
            bytes=a.bytes,
            evidence={"max_ttl_s": a.max_ttl_ms // 1000, "lease_limit_s": t.lock_lease_s},
            examples=(),
            fix="A lease longer than a day blocks everyone for that long after a crash: use a "
            "short lease and renew it while the work runs.",
        )
    return None


def idle_without_ttl(p: Pattern, t: Thresholds) -> Finding | None:
    a = p.agg
    if a.idle_old < t.idle_keys:
        return None
    return Finding(
        id="idle_without_ttl",
        severity="warning",
        pattern=p.name,
        role=p.role,
        keys=a.idle_old,
        bytes=a.idle_old_bytes,
        evidence={"idle_without_ttl": a.idle_old, "without_ttl": a.no_ttl},
        examples=_ex(a.old_examples),
        fix="Keys nobody has read or written for that long, and which never expire, are dead "
        "weight: delete them, or write them with a TTL.",
    )


def counter_unbounded(p: Pattern, t: Thresholds) -> Finding | None:
    a = p.agg
    if p.role != "counter" or a.with_ttl or a.no_ttl < t.counter_keys:
        return None
    return Finding(
        id="counter_unbounded",
        severity="warning",
        pattern=p.name,
        role=p.role,
        keys=a.no_ttl,
        bytes=a.bytes_no_ttl,
        evidence={"keys": a.no_ttl},
        examples=_ex(a.no_ttl_examples),
        fix="One counter per entity, none expiring, grows with the number of entities forever: "
        "expire counters that have served their purpose, or keep them in one hash per group.",
    )


def rate_limit_unbounded(p: Pattern, t: Thresholds) -> Finding | None:
    a = p.agg
    if p.role != "rate_limit" or not a.no_ttl or not p.types.keys() & {"string", "zset"}:
        return None  # only counters and sorted-set windows are windows (a config hash is not)
    return Finding(
        id="rate_limit_unbounded",
        severity="warning",
        pattern=p.name,
        role=p.role,
        keys=a.no_ttl,
        bytes=a.bytes_no_ttl,
        evidence={"without_ttl": a.no_ttl, "with_ttl": a.with_ttl, "longest": a.longest.items[:1]},
        examples=_ex(a.no_ttl_examples),
        fix="A rate-limit window without a TTL outlives its window: set the TTL with every write "
        "(INCR then EXPIRE in one MULTI, or SET ... EX), and trim sorted-set windows.",
    )


def queue_backlog(p: Pattern, t: Thresholds) -> Finding | None:
    a = p.agg
    if p.role != "queue" or not a.longest.items or a.longest.items[0][0] < t.queue_length:
        return None
    longest = a.longest.items[0][0]
    return Finding(
        id="queue_backlog",
        severity="warning",
        pattern=p.name,
        role=p.role,
        keys=sum(1 for n, _ in a.longest.items if n >= t.queue_length),
        bytes=a.bytes,
        evidence={"longest": longest, "limit": t.queue_length},
        examples=_ex(a.longest.items),
        fix="A queue this long is not being drained as fast as it is filled (stalled or too few "
        "consumers): look at its consumers; cap it (LTRIM, XADD MAXLEN) if it may drop work.",
    )


CHECKS: tuple[Callable[[Pattern, Thresholds], Finding | None], ...] = (
    ttl_missing,
    cache_without_ttl,
    expiry_storm,
    lock_without_ttl,
    idle_without_ttl,
    counter_unbounded,
    rate_limit_unbounded,
    queue_backlog,
)


def eviction_mismatch(policy: str, patterns: list[Pattern]) -> Finding | None:
    """The maxmemory-policy against the keyspace's shape."""
    total = sum(p.agg.bytes for p in patterns) or 1
    no_ttl = sum(p.agg.bytes_no_ttl for p in patterns)
    no_ttl_keys = sum(p.agg.no_ttl for p in patterns)
    if policy.startswith("volatile-") and no_ttl / total >= 0.5:
        found = _eviction(
            policy,
            "critical" if no_ttl / total >= 0.9 else "warning",
            no_ttl_keys,
            no_ttl,
            no_ttl / total,
            "without TTL",
            f"{policy} evicts only keys with a TTL, and {no_ttl / total:.0%} of the bytes have "
            f"none: only {1 - no_ttl / total:.0%} can be evicted before writes fail (OOM) at "
            "maxmemory. Use an allkeys-* policy, or TTLs.",
        )
        return replace(
            found, evidence={**found.evidence, "evictable_share": round(1 - no_ttl / total, 4)}
        )
    cache = sum(p.agg.bytes for p in patterns if p.role in ("cache",))
    if policy == "noeviction" and cache / total >= 0.5:
        return _eviction(
            policy,
            "warning",
            sum(p.agg.keys for p in patterns if p.role == "cache"),
            cache,
            cache / total,
            "in cache patterns",
            "noeviction on a cache-shaped keyspace turns a full cache into write errors: a "
            "cache wants allkeys-lru or allkeys-lfu.",
        )
    keep = [p for p in patterns if p.role in ("session", "lock")]
    if policy.startswith("allkeys-") and keep:
        kept = sum(p.agg.bytes for p in keep)
        return _eviction(
            policy,
            "warning",
            sum(p.agg.keys for p in keep),
            kept,
            kept / total,
            "in session and lock patterns",
            f"{policy} may evict sessions and locks under memory pressure: keep them on a "
            "server of their own, or use a volatile-* policy with TTLs on the cache keys only.",
        )
    return None


def _eviction(
    policy: str, severity: Severity, keys: int, size: int, share: float, what: str, fix: str
) -> Finding:
    return Finding(
        id="eviction_mismatch",
        severity=severity,
        pattern="(keyspace)",
        role="unknown",
        keys=keys,
        bytes=size,
        evidence={"policy": policy, "share_of_bytes": round(share, 4), "bytes_are": what},
        examples=(),
        fix=fix,
    )
