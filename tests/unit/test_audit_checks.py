"""The audit's checks on synthetic tallies (an Agg filled by hand): each fires where its
threshold is crossed and stays quiet just short of it, with the severity its role implies. No
server."""

from __future__ import annotations

from rediscope.core.audit.checks import (
    Pattern,
    Thresholds,
    cache_without_ttl,
    eviction_mismatch,
    expiry_storm,
    lock_without_ttl,
    queue_backlog,
    ttl_missing,
)
from rediscope.core.audit.collector import Agg

T = Thresholds()


def tally(keys: int, with_ttl: int, size: int = 100, **more: object) -> Agg:
    a = Agg()
    a.keys, a.with_ttl, a.no_ttl = keys, with_ttl, keys - with_ttl
    a.bytes, a.bytes_no_ttl = keys * size, (keys - with_ttl) * size
    a.no_ttl_examples = [b"k:%d" % i for i in range(min(a.no_ttl, 5))]
    for name, value in more.items():
        setattr(a, name, value)
    return a


def pattern(agg: Agg, role: str = "unknown", name: str = "k:*") -> Pattern:
    return Pattern(name=name, role=role, agg=agg)


def test_ttl_missing_fires_from_the_share_up_and_is_critical_for_a_cache() -> None:
    assert ttl_missing(pattern(tally(100, 79)), T) is None  # 79 %: most keys have none
    found = ttl_missing(pattern(tally(100, 80)), T)
    assert found is not None and found.severity == "warning" and found.keys == 20
    assert found.bytes == 2000 and found.evidence["share_with_ttl"] == 0.8
    assert found.examples == ("k:0", "k:1", "k:2", "k:3", "k:4")
    cache = ttl_missing(pattern(tally(100, 99), role="cache"), T)
    assert cache is not None and cache.severity == "critical"
    assert ttl_missing(pattern(tally(19, 18)), T) is None  # too few keys to judge on shares
    assert ttl_missing(pattern(tally(100, 100)), T) is None  # nothing without a TTL


def test_a_cache_pattern_without_any_ttl() -> None:
    assert cache_without_ttl(pattern(tally(50, 0), role="cache"), T) is not None
    assert cache_without_ttl(pattern(tally(50, 0), role="counter"), T) is None
    assert cache_without_ttl(pattern(tally(50, 1), role="cache"), T) is None


def test_an_expiry_storm_by_the_second_and_none_for_spread_ttls() -> None:
    at = 1_800_000_000
    storm = tally(200, 200, expiry={at: 120, **{at + 100 + i: 1 for i in range(80)}})
    found = expiry_storm(pattern(storm, role="cache"), T)
    assert found is not None and found.severity == "critical"  # 60 % in one second
    assert found.evidence["peak_second_keys"] == 120 and found.evidence["peak_second_at"] == at
    spread = tally(200, 200, expiry={at + 7 * i: 1 for i in range(200)})
    assert expiry_storm(pattern(spread, role="cache"), T) is None
    assert expiry_storm(pattern(storm, role="lock"), T) is None  # locks expiring together: fine


def test_a_lock_without_ttl_is_critical_and_a_long_lease_warns() -> None:
    held = lock_without_ttl(pattern(tally(3, 2), role="lock"), T)
    assert held is not None and held.severity == "critical" and held.keys == 1
    long = lock_without_ttl(pattern(tally(3, 3, max_ttl_ms=2 * 86_400_000), role="lock"), T)
    assert long is not None and long.severity == "warning"
    assert lock_without_ttl(pattern(tally(3, 3, max_ttl_ms=30_000), role="lock"), T) is None


def test_a_queue_at_its_limit_is_a_backlog() -> None:
    q = tally(2, 0)
    q.longest.push(T.queue_length - 1, b"q:a")
    assert queue_backlog(pattern(q, role="queue"), T) is None
    q.longest.push(T.queue_length, b"q:b")
    found = queue_backlog(pattern(q, role="queue"), T)
    assert found is not None and found.evidence["longest"] == T.queue_length and found.keys == 1


def test_eviction_policy_against_the_keyspace() -> None:
    no_ttl = [pattern(tally(100, 5), name="a:*")]
    found = eviction_mismatch("volatile-lru", no_ttl)
    assert found is not None and found.severity == "critical"
    cache = [pattern(tally(100, 100), role="cache")]
    noev = eviction_mismatch("noeviction", cache)
    assert noev is not None and noev.severity == "warning"
    sessions = [pattern(tally(10, 10), role="session"), pattern(tally(90, 90), role="cache")]
    assert eviction_mismatch("allkeys-lru", sessions) is not None
    assert eviction_mismatch("allkeys-lru", cache) is None
