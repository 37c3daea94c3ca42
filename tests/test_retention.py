"""Tier 1: retention keeps exactly what restic's forget rules keep (UTC buckets)."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from rediscope.core.backup import BackupInfo, RetentionPolicy, plan_prune


def _b(stamp: str, verified: bool = True) -> BackupInfo:
    when = datetime.strptime(stamp, "%Y-%m-%d %H:%M").replace(tzinfo=timezone.utc)
    base = f"r-{when:%Y%m%dT%H%M%SZ}"
    return BackupInfo(
        base=base,
        name="r",
        time=when,
        manifest=f"{base}.manifest.json",
        files=(f"{base}.rdb.gz",),
        bytes=1,
        bytes_raw=2,
        rdb_version=10,
        keys=1,
        verified=verified,
        mode="standalone",
    )


def _kept(stamps: list[str], **policy: object) -> list[str]:
    backups = [_b(s) for s in stamps]
    plan = plan_prune(backups, RetentionPolicy(**policy))  # type: ignore[arg-type]
    names = {b.base: s for b, s in zip(backups, stamps, strict=True)}
    return sorted(names[base] for base in plan.keep)


HOURLY = [f"2026-03-0{d} {h:02d}:{m:02d}" for d in (1, 2) for h in (9, 10) for m in (5, 35)]


def test_keep_last() -> None:
    assert _kept(HOURLY, last=3) == sorted(
        ["2026-03-02 10:35", "2026-03-02 10:05", "2026-03-02 09:35"]
    )


def test_keep_hourly_takes_the_newest_in_each_hour() -> None:
    assert _kept(HOURLY, hourly=3) == ["2026-03-01 10:35", "2026-03-02 09:35", "2026-03-02 10:35"]


def test_keep_daily_buckets_are_utc_days_and_only_days_with_a_backup_count() -> None:
    stamps = [
        "2026-03-01 23:59",
        "2026-03-02 00:00",
        "2026-03-02 12:00",
        "2026-03-05 08:00",
        "2026-03-09 08:00",
    ]
    # days with backups: 09, 05, 02, 01 -> the newest of the newest three days
    assert _kept(stamps, daily=3) == ["2026-03-02 12:00", "2026-03-05 08:00", "2026-03-09 08:00"]


def test_keep_weekly_uses_iso_weeks_across_the_year_edge() -> None:
    # 2025-12-28 is a Sunday (ISO 2025-W52); 2025-12-29 Monday starts ISO 2026-W01,
    # which runs to Sunday 2026-01-04; 2026-01-05 starts W02.
    stamps = [
        "2025-12-27 10:00",
        "2025-12-28 10:00",
        "2025-12-29 10:00",
        "2026-01-01 10:00",
        "2026-01-04 23:00",
        "2026-01-05 01:00",
    ]
    assert _kept(stamps, weekly=3) == ["2025-12-28 10:00", "2026-01-04 23:00", "2026-01-05 01:00"]


def test_keep_monthly_and_yearly() -> None:
    stamps = [
        "2024-12-31 23:00",
        "2025-01-15 10:00",
        "2025-01-31 10:00",
        "2025-02-01 10:00",
        "2025-12-31 10:00",
        "2026-01-01 00:30",
    ]
    assert _kept(stamps, monthly=3) == ["2025-02-01 10:00", "2025-12-31 10:00", "2026-01-01 00:30"]
    assert _kept(stamps, yearly=2) == ["2025-12-31 10:00", "2026-01-01 00:30"]
    assert _kept(stamps, yearly=5) == ["2024-12-31 23:00", "2025-12-31 10:00", "2026-01-01 00:30"]


def test_rules_combine_with_or_and_record_why() -> None:
    stamps = ["2026-01-01 10:00", "2026-01-02 10:00", "2026-01-03 10:00", "2026-01-03 11:00"]
    backups = [_b(s) for s in stamps]
    plan = plan_prune(backups, RetentionPolicy(last=1, daily=2))
    assert plan.keep[backups[3].base] == ("last", "daily")
    assert plan.keep[backups[1].base] == ("daily",)
    assert set(plan.remove) == {backups[0].base, backups[2].base}


def test_keep_within_is_relative_to_the_newest_backup() -> None:
    stamps = ["2026-01-01 10:00", "2026-01-09 10:00", "2026-01-10 09:00", "2026-01-10 10:00"]
    assert _kept(stamps, within=timedelta(days=1)) == [
        "2026-01-09 10:00",
        "2026-01-10 09:00",
        "2026-01-10 10:00",
    ]


def test_newest_verified_is_never_removed() -> None:
    backups = [_b("2026-01-01 10:00"), _b("2026-01-02 10:00", verified=False)]
    plan = plan_prune(backups, RetentionPolicy(last=1))
    assert set(plan.keep) == {b.base for b in backups}
    # an unverified backup does not count toward --keep-last (issue 31): the verified one does
    assert plan.keep[backups[0].base] == ("last",)


def test_negative_counts_are_rejected() -> None:
    from rediscope.errors import UsageError

    with pytest.raises(UsageError):
        plan_prune([], RetentionPolicy(daily=-1))
