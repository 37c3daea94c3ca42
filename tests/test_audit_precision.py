"""Issue 32's audit defects, each with the behaviour a user relies on: roles from snake_case,
kebab-case and camelCase names, storms found by sliding windows (across a minute boundary,
live and from a file), times from a file never shown as 1970, the eviction share, rate-limit
windows only for counters and sorted sets, the rules file validated whole, a missing db."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from rediscope.core.audit.checks import Pattern, Thresholds, eviction_mismatch, peak_window
from rediscope.core.audit.checks import rate_limit_unbounded as rate_limit_check
from rediscope.core.audit.collector import Agg
from rediscope.core.audit.roles import classify
from rediscope.core.localserver import LocalServer
from rediscope.render.audit_tables import compact_duration
from tests.conftest import _start, load_json, run_cli
from tests.test_rdb import saved


@pytest.mark.parametrize(
    ("pattern", "types", "role"),
    [
        ("user_sessions:*", {"string": 1}, "session"),
        ("userSessions:*", {"hash": 1}, "session"),
        ("api-locks:*", {"string": 1}, "lock"),
        ("write_queue", {"list": 1}, "queue"),
        ("jobs2:*", {"list": 1}, "queue"),
        ("write_queue", {"hash": 1}, "unknown"),  # a queue word, but not a queue's type
        ("cache:page:*", {"string": 1}, "cache"),
        ("users:*", {"string": 1}, "unknown"),
    ],
)
def test_roles_come_from_every_kind_of_word(pattern: str, types: dict[str, int], role: str) -> None:
    assert classify(pattern, types) == role


def test_the_busiest_window_slides_across_a_minute_boundary() -> None:
    straddling = {second: 300 for second in range(3595, 3605)}  # xx:59:55 to xx:00:04
    assert peak_window(straddling, 60) == (3595, 3000)
    assert peak_window({0: 5, 59: 5, 60: 5, 200: 1}, 60) == (0, 10)
    assert peak_window({7: 1}, 60) == (7, 1)


def _pattern(
    name: str, role: str, types: dict[str, int], keys: int, ttl: int, size: int
) -> Pattern:
    agg = Agg()
    agg.keys, agg.with_ttl, agg.no_ttl = keys, ttl, keys - ttl
    agg.bytes, agg.bytes_no_ttl = size, size * (keys - ttl) // keys
    return Pattern(name=name, role=role, agg=agg, types=types, thresholds=Thresholds())


def test_volatile_policy_warns_from_half_the_bytes_without_ttl() -> None:
    mostly = [_pattern("data:*", "unknown", {"string": 886}, 886, 0, 886_000)]
    mostly.append(_pattern("cache:*", "cache", {"string": 114}, 114, 114, 114_000))
    found = eviction_mismatch("volatile-lru", mostly)
    assert found is not None and found.severity == "warning"
    assert found.evidence["evictable_share"] == pytest.approx(0.114, abs=0.001)
    assert found.keys == 886  # the keys without TTL, not 0
    little = [_pattern("data:*", "unknown", {"string": 10}, 10, 0, 400_000)]
    little.append(_pattern("cache:*", "cache", {"string": 90}, 90, 90, 600_000))
    assert eviction_mismatch("volatile-lru", little) is None
    almost_all = [_pattern("data:*", "unknown", {"string": 10}, 10, 0, 950_000)]
    almost_all.append(_pattern("cache:*", "cache", {"string": 5}, 5, 5, 50_000))
    critical = eviction_mismatch("volatile-lru", almost_all)
    assert critical is not None and critical.severity == "critical"


def test_a_config_hash_named_for_rate_limits_is_not_a_window() -> None:
    config = _pattern("config:ratelimit:plan*", "rate_limit", {"hash": 50}, 50, 0, 5000)
    assert rate_limit_check(config, config.thresholds) is None
    counters = _pattern("ratelimit:api:*", "rate_limit", {"string": 50}, 50, 0, 5000)
    assert rate_limit_check(counters, counters.thresholds) is not None


def test_relative_times_read_as_durations() -> None:
    assert compact_duration(7194) == "1h59m"
    assert compact_duration(45) == "45s"
    assert compact_duration(3 * 86400 + 4 * 3600) == "3d4h"


@pytest.fixture
def server(tmp_path: Path) -> Iterator[LocalServer]:
    s = _start(LocalServer(dir=tmp_path, config={"repl-diskless-sync-delay": "0"}))
    yield s
    s.cleanup()


def _storm_across_a_minute(server: LocalServer) -> int:
    """3,000 cache keys whose TTLs end within 10 s around a minute boundary an hour away (and
    1,000 keys with TTLs spread over a day): the storm's first second."""
    c = server.client()
    boundary = (int(time.time()) // 60 + 61) * 60  # a minute boundary about an hour away
    p = c.pipeline(transaction=False)
    for i in range(3000):
        p.set(f"cache:search:{i}", "s", pxat=(boundary - 5) * 1000 + i * 10 // 3)
    for i in range(1000):
        p.set(f"cache:product:{i}", "p", ex=3600 + 86 * i)
    p.execute()
    c.close()
    return boundary - 5


def _storm(doc: dict[str, object]) -> dict[str, object]:
    found = [f for f in doc["findings"] if f["id"] == "expiry_storm"]  # type: ignore[attr-defined]
    assert [f["pattern"] for f in found] == ["cache:search:*"], doc["findings"]
    return found[0]  # type: ignore[no-any-return]


def test_a_storm_across_a_minute_boundary_is_found_live_and_from_a_file(
    server: LocalServer,
) -> None:
    start = _storm_across_a_minute(server)
    live = run_cli("audit", "-p", str(server.port), "--format", "json")
    assert live.exit_code == 0, live.stderr
    storm = _storm(load_json(live.stdout))
    assert storm["evidence"]["peak_minute_keys"] == 3000  # type: ignore[index]
    assert storm["evidence"]["clock"] == "epoch"  # type: ignore[index]
    assert abs(storm["evidence"]["peak_minute_at"] - start) <= 1  # type: ignore[index,operator]
    offline = run_cli("audit", "--rdb", str(saved(server)), "--format", "json")
    assert offline.exit_code == 0, offline.stderr
    from_file = _storm(load_json(offline.stdout))
    assert from_file["evidence"]["peak_minute_keys"] == 3000  # type: ignore[index]
    # the file says when it was written: its relative times become the same epoch seconds
    assert from_file["evidence"]["clock"] == "epoch"  # type: ignore[index]
    assert abs(from_file["evidence"]["peak_minute_at"] - start) <= 2  # type: ignore[index,operator]
    table = run_cli("audit", "--rdb", str(saved(server)))
    assert "1970" not in table.stdout


def test_the_rules_file_is_checked_whole_before_the_scan(
    server: LocalServer, tmp_path: Path
) -> None:
    rules = tmp_path / "rules.yaml"
    rules.write_text("- glob: 'nothing:*'\n  name: 'nothing:*'\n  thresholds: {queue_lenght: 5}\n")
    r = run_cli("audit", "-p", str(server.port), "--rules", str(rules))
    assert r.exit_code == 2 and "unknown threshold 'queue_lenght'" in r.stderr
    rules.write_text("- glob: 'nothing:*'\n  name: 'nothing:*'\n  thresholds: {queue_length: -1}\n")
    r = run_cli("audit", "-p", str(server.port), "--rules", str(rules))
    assert r.exit_code == 2 and "must be a number >= 0" in r.stderr


def test_a_db_the_server_does_not_have_is_named(server: LocalServer) -> None:
    r = run_cli("audit", "-p", str(server.port), "-n", "99")
    assert r.exit_code == 2, r.stderr
    assert "no db 99" in r.stderr and "internal error" not in r.stderr


def test_sync_runs_the_checks_that_sample_the_live_server(server: LocalServer) -> None:
    server.client().set("doc:1", '{"rows": [' + ",".join(["1"] * 40_000) + "]}")
    r = run_cli("audit", "-p", str(server.port), "--sync", "--format", "json")
    assert r.exit_code == 0, r.stderr
    doc = load_json(r.stdout)
    assert not any("need the live server" in n for n in doc["notes"])
    assert ("big_json_string", "doc:*") in {(f["id"], f["pattern"]) for f in doc["findings"]}
