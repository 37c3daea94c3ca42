"""Growth by pattern over time: analyzed snapshots in the capacity history (backup run
--analyze, capacity record --patterns) and `capacity report --by-pattern` fitted from them."""

from __future__ import annotations

import sqlite3
import time
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from rediscope.core.capacity.bypattern import summarize
from rediscope.core.capacity.history import History, PatternRow, PatternSample, Sample
from rediscope.core.collectors.patterns import OTHER, _Agg
from rediscope.core.localserver import LocalServer
from tests.helpers import ACL_PASSWORD, ACL_RULES, invoke, load_json, setuser

#: client-side behaviour: the matrix runs it on the distribution's server only (.ci/matrix)
pytestmark = pytest.mark.once

TARGET = "redis://db1:6379/0"
DAY = 86400.0
MB = 1_000_000
#: the truth: bytes per day each pattern grows by
RATES = {"user:*": 10 * MB, "session:*": 2 * MB, "cache:*": 0}


def _history(path: Path, days: int, with_patterns: int | None = None) -> History:
    """INFO samples once a day for DAYS days up to now, and as many analyzed snapshots
    (WITH_PATTERNS of them, default all) with each pattern growing at its RATES, plus a
    deterministic wobble of 3% of the daily growth."""
    history = History(path)
    now = time.time()
    start = now - (days - 1) * DAY
    for d in range(days):
        ts = start + d * DAY
        used = 100 * MB + 12 * MB * d
        history.append(
            [
                Sample(
                    ts=ts,
                    target=TARGET,
                    node="db1:6379",
                    role="primary",
                    run_id="r1",
                    values={
                        "used_memory": used,
                        "maxmemory": 1000 * MB,
                        "used_memory_dataset": used,
                    },
                    keys={"db0": {"keys": 1000 + d, "expires": 0}},
                )
            ]
        )
    for d in range(days if with_patterns is None else with_patterns):
        wobble = (1 if d % 2 else -1) * 0.03
        rows = [
            PatternRow(p, 1000 + d * 10, int(50 * MB + rate * d + wobble * rate))
            for p, rate in RATES.items()
        ]
        rows.append(PatternRow(OTHER, 5, 1000))
        history.append_patterns(TARGET, PatternSample(start + d * DAY, "backup:x", tuple(rows)))
    return history


def _report(path: Path, *extra: str) -> dict[str, Any]:
    target = () if "--target" in extra else ("--target", TARGET)
    res = invoke(
        "capacity", "report", "--history", str(path), *target, "--by-pattern",
        "--format", "json", *extra,
    )  # fmt: skip
    assert res.exit_code == 0, res.stderr
    return load_json(res.stdout)  # type: ignore[no-any-return]


def test_by_pattern_orders_by_growth_with_rates_within_10_percent(tmp_path: Path) -> None:
    path = tmp_path / "h.sqlite"
    _history(path, 10)
    bp = _report(path)["by_pattern"]
    assert bp["samples"] == 10 and bp["note"] is None
    order = [p["pattern"] for p in bp["patterns"]]
    assert order[:2] == ["user:*", "session:*"]
    fitted = {p["pattern"]: p for p in bp["patterns"]}
    for pattern, rate in RATES.items():
        got = fitted[pattern]["growth_bytes_per_day"]
        assert abs(got - rate) <= 0.1 * max(rate, 1 * MB), (pattern, got, rate)
    assert fitted["user:*"]["r2"] > 0.99 and fitted["user:*"]["drives_full"]
    assert not fitted["cache:*"]["drives_full"]
    assert abs(fitted["user:*"]["share_of_growth"] - 10 / 12) < 0.05
    assert bp["drivers"][0] == "user:*"
    assert len(fitted["user:*"]["history"]) == 10
    table = invoke("capacity", "report", "--history", str(path), "--target", TARGET, "--by-pattern")
    assert table.exit_code == 0
    assert "growth by pattern" in table.stdout and "user:*" in table.stdout
    share = fitted["user:*"]["share_of_growth"]  # the drivers' own share, not the 80% cut-off
    assert f"user:* makes {share:.0%} of the growth" in table.stdout
    assert "(the fewest that reach 80%)" in table.stdout


def test_by_pattern_with_fewer_than_two_snapshots_says_how_to_get_them(tmp_path: Path) -> None:
    path = tmp_path / "h.sqlite"
    _history(path, 5, with_patterns=1)
    bp = _report(path)["by_pattern"]
    assert bp["samples"] == 1 and bp["patterns"] == []
    assert "backup run DIR --analyze" in bp["note"] and "capacity record --patterns" in bp["note"]
    # without --by-pattern the report is as before
    res = invoke(
        "capacity", "report", "--history", str(path), "--target", TARGET, "--format", "json"
    )
    assert load_json(res.stdout)["by_pattern"] is None


def test_summary_is_bounded_to_the_top_200_and_other() -> None:
    table = {}
    for i in range(250):
        agg = _Agg()
        agg.keys, agg.bytes = 1, 1000 + i
        table[f"p{i}:*"] = agg
    rows = summarize(table)
    assert len(rows) == 201 and rows[-1].pattern == OTHER
    assert rows[0].pattern == "p249:*" and rows[-1].keys == 50
    assert sum(r.bytes for r in rows) == sum(a.bytes for a in table.values())


def test_backup_run_analyze_and_record_patterns_store_snapshots(
    plain: LocalServer, tmp_path: Path
) -> None:
    c = plain.client()
    pipe = c.pipeline(transaction=False)
    for i in range(300):
        pipe.set(f"user:{i}:name", "x" * 50)
    for i in range(100):
        pipe.hset(f"session:{i}", mapping={"a": 1})
    pipe.execute()
    history = tmp_path / "h.sqlite"
    dest = tmp_path / "backups"
    dest.mkdir()
    port = str(plain.port)
    res = invoke("backup", "run", str(dest), "-p", port, "--analyze", "--history", str(history))
    assert res.exit_code == 0, res.stderr
    pipe = c.pipeline(transaction=False)
    for i in range(300, 500):
        pipe.set(f"user:{i}:name", "x" * 50)
    pipe.execute()
    c.close()
    res = invoke(
        "capacity",
        "record",
        "-p",
        port,
        "--history",
        str(history),
        "--patterns",
        "--format",
        "json",
    )
    assert res.exit_code == 0, res.stderr
    assert load_json(res.stdout)["patterns_recorded"] == 2
    url = f"redis://127.0.0.1:{port}/0"
    snapshots = History(history).load_patterns(url)
    assert [s.source.split(":")[0] for s in snapshots] == ["backup", "live"]
    keys = [{r.pattern: r.keys for r in s.rows} for s in snapshots]
    assert keys == [{"user:*:name": 300, "session:*": 100}, {"user:*:name": 500, "session:*": 100}]
    assert len(History(history).load(url)) == 2  # an INFO sample beside each snapshot
    doc = _report_live(history, port)
    assert doc["by_pattern"]["samples"] == 2
    assert doc["by_pattern"]["patterns"][0]["pattern"] == "user:*:name"
    bad = invoke("backup", "run", str(dest), "-p", port, "--history", str(history))
    assert bad.exit_code == 2 and "--history is for --analyze" in bad.stderr


def _report_live(history: Path, port: str) -> dict[str, Any]:
    res = invoke(
        "capacity",
        "report",
        "-p",
        port,
        "--history",
        str(history),
        "--by-pattern",
        "--format",
        "json",
    )
    assert res.exit_code == 0, res.stderr
    return load_json(res.stdout)  # type: ignore[no-any-return]


def test_analyzed_backups_of_two_growing_patterns_fit_within_10_percent(
    plain: LocalServer, tmp_path: Path
) -> None:
    """Real backups, analyzed as they are taken, of a keyspace where `fast:*` gains 1,000
    keys a step and `slow:*` 250 (same sizes); their snapshots re-dated one day apart through
    the history API (no waiting on real time) give rates within 10% of the truth, fast first."""
    c = plain.client()
    taken = tmp_path / "taken.sqlite"
    dest = tmp_path / "backups"
    dest.mkdir()
    for step in range(4):
        pipe = c.pipeline(transaction=False)
        for i in range(1000):
            pipe.set(f"fast:{step * 1000 + i}", "x" * 40)
        for i in range(250):
            pipe.set(f"slow:{step * 1000 + i}", "y" * 40)
        pipe.execute()
        res = invoke(
            "backup", "run", str(dest), "-p", str(plain.port), "--name", f"s{step}",
            "--analyze", "--history", str(taken),
        )  # fmt: skip
        assert res.exit_code == 0, res.stderr
    c.close()
    url = f"redis://127.0.0.1:{plain.port}/0"
    snapshots = History(taken).load_patterns(url)
    assert len(snapshots) == 4
    info = History(taken).load(url)  # the INFO sample taken beside each snapshot
    assert len(info) == 4
    redated = History(tmp_path / "redated.sqlite")
    start = time.time() - 3 * DAY
    for day, (snap, sample) in enumerate(zip(snapshots, info, strict=True)):
        redated.append_patterns(url, PatternSample(start + day * DAY, snap.source, snap.rows))
        redated.append([replace(sample, ts=start + day * DAY)])
    doc = _report(tmp_path / "redated.sqlite", "--target", url)
    fitted = {p["pattern"]: p for p in doc["by_pattern"]["patterns"]}
    assert [p["pattern"] for p in doc["by_pattern"]["patterns"][:2]] == ["fast:*", "slow:*"]
    latest = {r.pattern: r for r in snapshots[-1].rows}
    for pattern, keys_per_day in (("fast:*", 1000), ("slow:*", 250)):
        got = fitted[pattern]
        assert abs(got["keys_growth_per_day"] - keys_per_day) <= 0.1 * keys_per_day
        truth = keys_per_day * latest[pattern].bytes / latest[pattern].keys  # bytes per key
        assert abs(got["growth_bytes_per_day"] - truth) <= 0.1 * truth, (pattern, got, truth)


def test_record_patterns_without_memory_usage_stores_no_pattern_bytes(
    acl_server: LocalServer, tmp_path: Path
) -> None:
    """A user denied MEMORY USAGE: nothing is stored for the patterns (zero bytes would read
    as a collapse), one line says what to grant; the diff's live side then has no bytes."""
    admin = acl_server.client()
    setuser(admin, "nomem", f"on >{ACL_PASSWORD} {ACL_RULES} -memory|usage")
    admin.set("nomem:1", "x")
    try:
        _without_memory_usage(acl_server.port, tmp_path)
    finally:  # the server is shared: leave it as it was
        admin.delete("nomem:1")
        admin.execute_command("ACL", "DELUSER", "nomem")
        admin.close()


def _without_memory_usage(port: int, tmp_path: Path) -> None:
    history = tmp_path / "h.sqlite"
    login = ("-p", str(port), "--user", "nomem")
    env = {"REDISCLI_AUTH": ACL_PASSWORD}
    res = invoke("capacity", "record", *login, "--history", str(history), "--patterns", env=env)
    assert res.exit_code == 1 and "MEMORY USAGE" in res.stderr and "+memory|usage" in res.stderr
    with sqlite3.connect(history) as db:  # the INFO sample went in, no pattern row did
        assert db.execute("SELECT COUNT(*) FROM samples").fetchone()[0] == 1
        assert db.execute("SELECT COUNT(*) FROM pattern_samples").fetchone()[0] == 0
    saved = tmp_path / "p.json"
    saved.write_text(
        invoke("patterns", *login, "--match", "nomem:*", "--format", "json", env=env).stdout
    )
    doc = invoke(
        "diff", str(saved), *login, "--match", "nomem:*", "--format", "json", env=env
    ).json()
    assert doc["new"]["bytes"] is None and doc["totals"]["bytes_delta"] is None
    assert _by_pattern_keys(doc) == {"nomem:*": 0}


def _by_pattern_keys(doc: dict[str, Any]) -> dict[str, int]:
    return {p["pattern"]: p["keys_delta"] for p in doc["patterns"]}


def test_record_patterns_from_a_backup_directory(plain: LocalServer, tmp_path: Path) -> None:
    c = plain.client()
    c.mset({f"order:{i}": "x" * 30 for i in range(120)})
    c.close()
    dest = tmp_path / "backups"
    dest.mkdir()
    port = str(plain.port)
    assert invoke("backup", "run", str(dest), "-p", port).exit_code == 0
    history = tmp_path / "h.sqlite"
    args = ("capacity", "record", "-p", port, "--history", str(history))
    res = invoke(*args, "--patterns", "--rdb", str(dest), "--format", "json")
    assert res.exit_code == 0, res.stderr
    (snap,) = History(history).load_patterns(f"redis://127.0.0.1:{port}/0")
    assert snap.source == "rdb" and {r.pattern: r.keys for r in snap.rows} == {"order:*": 120}
    assert all(r.bytes > 0 for r in snap.rows)
    bad = invoke(*args, "--rdb", str(dest))
    assert bad.exit_code == 2 and "--rdb and --separators are for --patterns" in bad.stderr
