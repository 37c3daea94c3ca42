"""Retention: restic's forget semantics over the catalogue, and `backup prune`."""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any, ClassVar

from rediscope.core.backup.catalog import (
    BackupInfo,
    ListedBackup,
    list_backups,
    listed,
    local_target,
)
from rediscope.core.backup.files import dir_lock, fsync_dir
from rediscope.core.report import ReportBase
from rediscope.core.target import Target
from rediscope.errors import UsageError


@dataclass(frozen=True)
class RetentionPolicy:
    last: int = 0
    hourly: int = 0
    daily: int = 0
    weekly: int = 0
    monthly: int = 0
    yearly: int = 0
    within: timedelta | None = None

    def any(self) -> bool:
        return bool(
            self.last
            or self.hourly
            or self.daily
            or self.weekly
            or self.monthly
            or self.yearly
            or self.within
        )

    def validate(self) -> None:
        for name in ("last", "hourly", "daily", "weekly", "monthly", "yearly"):
            if getattr(self, name) < 0:
                raise UsageError(f"--keep-{name} must be >= 0")


_BUCKETS: dict[str, Callable[[datetime], Any]] = {
    "hourly": lambda t: (t.year, t.month, t.day, t.hour),
    "daily": lambda t: (t.year, t.month, t.day),
    "weekly": lambda t: t.isocalendar()[:2],  # ISO year and week
    "monthly": lambda t: (t.year, t.month),
    "yearly": lambda t: t.year,
}


@dataclass(frozen=True)
class PrunePlan:
    keep: dict[str, tuple[str, ...]]  # base -> the rules that keep it
    remove: tuple[str, ...]  # bases


def plan_prune(backups: list[BackupInfo], policy: RetentionPolicy) -> PrunePlan:
    """restic forget: rules combine with OR; a bucket counts only if it has a backup; the newest
    verified backup is always kept. Buckets are in UTC."""
    policy.validate()
    ordered = sorted(backups, key=lambda b: (b.time, b.base), reverse=True)
    reasons: dict[str, list[str]] = {b.base: [] for b in ordered}
    if not policy.any():
        return PrunePlan({b.base: ("no policy",) for b in ordered}, ())
    for b in ordered[: policy.last]:
        reasons[b.base].append("last")
    for rule, key in _BUCKETS.items():
        remaining = getattr(policy, rule)
        last_bucket: Any = None
        for b in ordered:
            if remaining <= 0:
                break
            bucket = key(b.time)
            if bucket != last_bucket:
                reasons[b.base].append(rule)
                last_bucket = bucket
                remaining -= 1
    if policy.within is not None and ordered:
        newest = ordered[0].time
        for b in ordered:
            if b.time >= newest - policy.within:
                reasons[b.base].append("within")
    newest_verified = next((b for b in ordered if b.verified), None)
    if newest_verified is not None and not reasons[newest_verified.base]:
        reasons[newest_verified.base].append("newest verified")
    keep = {base: tuple(r) for base, r in reasons.items() if r}
    remove = tuple(b.base for b in ordered if b.base not in keep)
    return PrunePlan(keep, remove)


def delete_backups(dest: Path, bases: tuple[str, ...]) -> list[str]:
    """Delete whole backups: the manifest first (so a half-deleted one is never listed), then
    the files it names and their .sha256. Only names this tool made are touched."""
    by_base = {b.base: b for b in list_backups(dest)}
    deleted = []
    for base in bases:
        backup = by_base.get(base)
        if backup is None:
            continue
        with contextlib.suppress(FileNotFoundError):
            (dest / backup.manifest).unlink()
        for f in backup.files:
            for path in (dest / f, dest / f"{f}.sha256"):
                with contextlib.suppress(FileNotFoundError):
                    path.unlink()
        deleted.append(base)
    if deleted:
        fsync_dir(dest)
    return deleted


@dataclass(frozen=True)
class PruneReport(ReportBase):
    command: ClassVar[str] = "backup prune"
    target: Target
    complete: bool
    directory: str
    dry_run: bool
    kept: tuple[ListedBackup, ...]
    removed: tuple[ListedBackup, ...]
    notes: tuple[str, ...] = ()


def prune(dest: Path, policy: RetentionPolicy, dry_run: bool = False) -> PruneReport:
    if not dest.is_dir():
        raise UsageError(f"{dest} is not a directory")
    if not policy.any():
        raise UsageError(
            "no --keep-* option given: refusing to remove every backup",
            "e.g. --keep-daily 7 --keep-weekly 4",
        )
    now = datetime.now(timezone.utc)
    with dir_lock(dest):
        backups = list_backups(dest)
        plan = plan_prune(backups, policy)
        if not dry_run:
            delete_backups(dest, plan.remove)
    by_base = {b.base: b for b in backups}
    return PruneReport(
        target=local_target(dest),
        complete=True,
        directory=str(dest),
        dry_run=dry_run,
        kept=tuple(listed(by_base[b], now, r) for b, r in plan.keep.items()),
        removed=tuple(listed(by_base[b], now) for b in plan.remove),
    )
