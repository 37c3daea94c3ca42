"""Tier 1: every table renderer, from report dataclasses built here, at a fixed width and
without colour; no server (as pgcli tests format_output)."""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Any

from rich.console import Console

from rediscope.core.backup import BackupListReport, ListedBackup, PruneReport, VerifyReport
from rediscope.core.backup.catalog import FileVerdict
from rediscope.core.backup.run import BackupFile, BackupRunReport
from rediscope.core.bigkeys.command import BigKey, BigKeysReport, TypeSummary
from rediscope.core.capacity.command import CapacityAdvice, CapacityReport, RecordReport
from rediscope.core.capacity.fit import NodeCapacity
from rediscope.core.health import Check, HealthReport, NotApplicable
from rediscope.core.health.ping import PingReport
from rediscope.core.hotkeys import HotkeysReport
from rediscope.core.hotkeys.report import CallShare, Flag, HotKey, HotPattern
from rediscope.core.pipeline.records import NodeScan, ScanSummary
from rediscope.core.target import Node, Target
from rediscope.render.jsonout import envelope
from rediscope.render.tables import render_table
from rediscope.render.text import render_text

TARGET = Target("redis://127.0.0.1:6379/0", "standalone", (Node("127.0.0.1:6379", "primary"),))
LONG_KEY = b"session:" + b"f" * 150 + b":end"


def text(report: Any, width: int = 80, **view: Any) -> str:
    console = Console(width=width, no_color=True, record=True, file=open("/dev/null", "w"))  # noqa: SIM115
    console.print(render_table(report, width=width, **view))
    return console.export_text()


def scan(keys: int = 3) -> ScanSummary:
    node = NodeScan("127.0.0.1:6379", "primary", dbs=[0], dbsize=keys, keys_scanned=keys)
    return ScanSummary(
        nodes=(node,),
        keys_scanned=keys,
        keys_vanished=0,
        keys_retyped=0,
        seconds=0.1,
        sampled=False,
        complete=True,
        interrupted=False,
        extrapolation=1.0,
    )


def big(key: bytes, size: int, elements: int, type_: str = "string") -> BigKey:
    return BigKey(
        key=key,
        db=0,
        node="127.0.0.1:6379",
        type=type_,
        encoding="raw",
        bytes=size,
        elements=elements,
        ttl_s=None,
    )


def bigkeys_report(**over: Any) -> BigKeysReport:
    keys = (big(LONG_KEY, 5_000_000, 5_000_000), big(b"list:1", 808_700, 20_000, "list"))
    fields: dict[str, Any] = {
        "target": TARGET,
        "complete": True,
        "scan": scan(2),
        "keys": keys,
        "top_by_elements": keys,
        "by_type": (
            TypeSummary(
                type="string",
                keys=1,
                bytes=5_000_000,
                elements=5_000_000,
                avg_bytes=5e6,
                avg_elements=5e6,
                share=0.86,
                biggest=keys[0],
                estimated=False,
            ),
        ),
        "top": 1,
        "min_bytes": 1_000_000,
        "min_elements": None,
        "over_threshold": 1,
        "over_threshold_keys": keys[:1],
        "notes": (),
    }
    fields.update(over)
    return BigKeysReport(**fields)


def test_bigkeys_table_fits_80_columns_and_cuts_the_long_key_in_the_middle() -> None:
    out = text(bigkeys_report(), min_bytes_text="1MB")
    assert all(len(line) <= 80 for line in out.splitlines())
    assert "session:fff" in out and "…" in out and "f:end" in out  # both ends of the key
    assert "1 key over the threshold (>= 1MB)" in out
    assert "789.7 KiB" in out  # a size stays on one line with its unit
    wide = text(bigkeys_report(), width=400)
    assert LONG_KEY.decode() in wide


def test_bigkeys_table_says_when_nothing_was_found() -> None:
    empty = scan(0)
    out = text(bigkeys_report(scan=empty, keys=(), top_by_elements=(), over_threshold=0))
    assert "the server holds no keys" in out and "top 0" not in out


def test_ping_and_health_tables() -> None:
    ping = PingReport(
        target=TARGET,
        complete=True,
        server="valkey",
        version="8.0.1",
        mode="standalone",
        role="primary",
        pings=3,
        rtt_min_ms=0.1,
        rtt_avg_ms=0.2,
        rtt_max_ms=0.3,
    )
    assert "valkey 8.0.1" in text(ping)
    checks = (
        Check(
            id="memory",
            status="WARNING",
            value=85.0,
            unit="%",
            warn=80.0,
            crit=90.0,
            message="used_memory 1.2 GiB is 85%",
        ),
        Check(
            id="backup_age",
            status="OK",
            value=93_600.0,
            unit="s",
            warn=93_600.0,
            crit=180_000.0,
            message="newest intact backup",
        ),
    )
    report = HealthReport(
        target=TARGET,
        complete=True,
        status="WARNING",
        exit_code=1,
        window_s=0.0,
        checks=checks,
        notes=(),
        not_applicable=(NotApplicable("cluster", "not a cluster"),),
    )
    out = text(report, width=160)
    assert "1.1 d / 2.1 d" in out  # thresholds in the value's unit, not 93600 / 180000
    assert "not applicable: cluster: not a cluster" in out
    assert "overall WARNING" in out and "1 check not applicable" in out
    nagios = render_text(report, "nagios")
    assert nagios.startswith("REDISCOPE WARNING - memory WARNING")
    assert "'backup_age'=93600s;93600;180000;;" in nagios


def listed(base: str, state: str = "ok") -> ListedBackup:
    return ListedBackup(
        base, "2026-11-30T10:00:00Z", 3600.0, (f"{base}.rdb.gz",), 1_000_000, 4_000_000, 0.25,
        11, 5000, True, None, state, () if state == "ok" else (f"{base}.rdb.gz is missing",),
    )  # fmt: skip


def test_backup_tables() -> None:
    local = Target("file:///var/backups/redis", "standalone", ())
    names = ("db1-6379-20261130T100000Z", "db1-6379-20261129T100000Z")
    report = BackupListReport(local, True, "/var/backups/redis",
                              (listed(names[0], "missing"), listed(names[1])))  # fmt: skip
    out = text(report)
    assert "MISSING" in out and all(name in out for name in names)
    assert all(len(line) <= 80 for line in out.splitlines())
    prune = PruneReport(local, True, "/var/backups/redis", True, (listed(names[1]),), ())
    assert "would remove nothing" in text(prune)
    verdicts = (FileVerdict("a.rdb.gz", False, "sha256 mismatch", None, None),)
    shown = text(VerifyReport(local, True, "/b", verdicts, False))
    assert "BAD" in shown and "a.rdb.gz: sha256 mismatch" in shown.splitlines()
    long_error = "Fatal error loading the DB: " + "x" * 150  # a loader's message: its own line
    stamped = (
        FileVerdict(
            "db1.example.internal-6379-20261130T100000Z.rdb.gz", False, long_error, 12, None
        ),
        FileVerdict("db1.example.internal-6379-20261129T100000Z.rdb.gz", True, None, 12, "ab" * 8),
    )
    narrow = text(VerifyReport(local, True, "/b", stamped, True), width=80)
    assert "backups of db1.example.internal-6379" in narrow
    assert "20261130T100000Z.rdb.gz" in narrow and "20261129T100000Z.rdb.gz" in narrow
    table_lines = narrow.split("Fatal error")[0].splitlines()
    assert all(len(line) <= 80 for line in table_lines)
    file = BackupFile("a.rdb.gz", "0" * 64, 10, 40, "0" * 16, True, 11, None, None, [], {"db0": 3})
    run = BackupRunReport(TARGET, True, "a", "/b", "a.manifest.json", "sync", "gzip", (file,),
                          10, 40, 0.5, (), ())  # fmt: skip
    assert "a.rdb.gz" in text(run, width=160)


def node_capacity(**over: Any) -> NodeCapacity:
    fields: dict[str, Any] = {
        "node": "127.0.0.1:6379", "role": "primary", "samples": 3, "span_s": 7200.0,
        "used_memory": 1_000_000, "fitted_now": 1e6, "growth_bytes_per_day": 282_318_095_426.0,
        "r2": 0.99, "limit_bytes": 8 << 30, "limit_source": "maxmemory", "days_until_full": 2.5,
        "low_confidence": False, "segments": (), "keys_growth_per_day": {}, "hit_rate": (None, None),
        "evictions_per_day": None, "expirations_per_day": None, "peak_memory": None,
        "fragmentation": (None, None), "ops_per_s": (None, None),
        "history": ((0.0, 900_000), (3600.0, 950_000), (7200.0, 1_000_000)), "note": None,
    }  # fmt: skip
    fields.update(over)
    return NodeCapacity(**fields)


def test_capacity_tables_humanize_bytes_per_day() -> None:
    node = node_capacity()
    report = CapacityReport(
        target=TARGET, complete=True, history_path="/h.sqlite", samples=3, span_s=7200.0, used_memory=1_000_000, limit_bytes=8 << 30, limit_source="maxmemory", growth_bytes_per_day=node.growth_bytes_per_day,
        r2=0.99, days_until_full=2.5, segments=(), nodes=(node,), recommendations=(CapacityAdvice("projected_full", "critical", "soon"),), projection=True, note=None, samples_recorded=3,
    )  # fmt: skip
    out = text(report, width=120)
    assert "262.9 GiB/day" in out and "282,318,095,426" not in out
    assert "3 samples over" in out
    record = RecordReport(
        target=TARGET,
        complete=True,
        history="/h.sqlite",
        samples=({"node": "n", "used_memory": 1024},),
        errors=(),
    )
    assert "1.0 KiB" in text(record)


def test_hotkeys_table_groups_and_flags() -> None:
    hot = HotKey(
        key=LONG_KEY,
        db=0,
        node="127.0.0.1:6379",
        hits=900,
        reads=900,
        writes=0,
        share=0.9,
        pattern="session:*",
    )
    report = HotkeysReport(
        target=TARGET, complete=True, method="monitor", reason="asked for", window_s=2.0, commands_seen=1000, ops_per_s=500.0, keys=(hot,),
        patterns=(HotPattern("session:*", 900, 900, 0, 0.9),), commands=(CallShare("get", 1000, 1.0),),
        clients=(CallShare("webapp @ 10.0.0.5", 1000, 1.0),), flagged=(Flag(LONG_KEY, 0.9, ("replicate it",)),),
    )  # fmt: skip
    out = text(report)
    assert "webapp @ 10.0.0.5" in out and "HOT: session:fff" in out
    assert all(len(line) <= 80 for line in out.splitlines())


def test_json_of_a_hand_made_report_keeps_raw_units_and_whole_keys() -> None:
    when = datetime(2026, 12, 1, tzinfo=timezone.utc)
    doc = envelope(bigkeys_report(), generated_at=when)
    assert doc["generated_at"] == "2026-12-01T00:00:00Z" and doc["command"] == "bigkeys"
    assert doc["keys"][0]["key"] == LONG_KEY.decode() and doc["keys"][1]["bytes"] == 808_700


def test_a_report_says_the_exit_status_it_implies() -> None:
    """finish() asks the report (the Report protocol) instead of probing its attributes."""
    from rediscope.core.report import scan_outcome
    from rediscope.exitcodes import ExitStatus

    assert bigkeys_report().outcome().status == ExitStatus.OK
    failed = NodeScan("127.0.0.1:6380", "primary", error="127.0.0.1:6380: closed the connection")
    partial = ScanSummary(
        nodes=(scan().nodes[0], failed),
        keys_scanned=3,
        keys_vanished=0,
        keys_retyped=0,
        seconds=0.1,
        sampled=False,
        complete=False,
        interrupted=False,
        extrapolation=1.0,
    )
    outcome = bigkeys_report(scan=partial).outcome()
    assert outcome.status == ExitStatus.ERROR and outcome.errors == (failed.error,)
    stopped = ScanSummary(
        nodes=scan().nodes,
        keys_scanned=3,
        keys_vanished=0,
        keys_retyped=0,
        seconds=0.1,
        sampled=False,
        complete=False,
        interrupted=True,
        extrapolation=1.0,
    )
    assert bigkeys_report(scan=stopped).outcome().status == ExitStatus.INTERRUPTED
    assert scan_outcome(None, errors=("a node failed",)).status == ExitStatus.ERROR
