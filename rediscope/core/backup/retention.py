"""Retention: restic's forget semantics over the catalogue, per target, and `backup prune`.

Only intact backups count toward a rule (verified when written, every file there with its size,
its sha256 matching the manifest and its .sha256), and only those a rule would count are read in
full. A damaged, missing or future-dated backup neither counts nor displaces an intact one."""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta, timezone
from functools import partial
from itertools import islice
from pathlib import Path
from typing import Any, ClassVar

from rediscope.core.backup.catalog import (
    BackupInfo,
    ListedBackup,
    digest_problems,
    list_backups,
    listed,
    local_target,
)
from rediscope.core.backup.files import dir_lock, fsync_dir
from rediscope.core.backup.orphans import OrphanFile, find_orphans, remove_orphans
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
    #: what reading the files found (base -> problems) for the backups a rule looked at
    found: dict[str, tuple[str, ...]] = field(default_factory=dict)
    #: the bases whose files were read in full (found or not)
    read: frozenset[str] = frozenset()


#: the problems a full read of a backup's files finds (none: intact)
ReadCheck = Callable[[BackupInfo], tuple[str, ...]]
DAMAGED = "damaged: not counted"
FUTURE = "dated in the future: not counted"


class _Target:
    """One target's backups, newest first. Those that count are intact (verified when written,
    files there with their sizes, and READ finding nothing) and not dated in the future; READ
    runs only on a backup that a rule would count, once."""

    def __init__(self, backups: list[BackupInfo], now: datetime, read: ReadCheck) -> None:
        self.ordered = sorted(backups, key=lambda b: (b.time, b.base), reverse=True)
        self.now = now
        self.read = read
        self.found: dict[str, tuple[str, ...]] = {}
        self.reasons: dict[str, list[str]] = {b.base: [] for b in self.ordered}

    def counts(self, b: BackupInfo) -> bool:
        if b.future_s(self.now) or not b.intact:
            return False
        if b.base not in self.found:
            self.found[b.base] = self.read(b)
        return not self.found[b.base]

    def counted(self) -> Iterator[BackupInfo]:
        return (b for b in self.ordered if self.counts(b))

    def apply(self, policy: RetentionPolicy) -> None:
        """restic's rules over the backups that count, then the newest intact one."""
        for b in islice(self.counted(), policy.last):
            self.reasons[b.base].append("last")
        for rule, key in _BUCKETS.items():
            remaining: int = getattr(policy, rule)
            last_bucket: Any = None
            for b in self.counted() if remaining > 0 else ():
                bucket = key(b.time)
                if bucket != last_bucket:
                    self.reasons[b.base].append(rule)
                    last_bucket = bucket
                    remaining -= 1
                    if remaining <= 0:
                        break
        newest = next(self.counted(), None)
        if policy.within is not None and newest is not None:
            for b in self.counted():
                if b.time < newest.time - policy.within:
                    break
                self.reasons[b.base].append("within")
        if newest is not None and not self.reasons[newest.base]:
            self.reasons[newest.base].append("newest intact")
        self._keep_uncounted()

    def _keep_uncounted(self) -> None:
        """A backup dated in the future is kept; a damaged one is kept while it is newer than
        the oldest intact backup kept (to be looked at; no intact one kept: every one)."""
        kept = [b.time for b in self.ordered if self.reasons[b.base]]
        oldest = min(kept) if kept else None
        for b in self.ordered:
            if b.future_s(self.now):
                self.reasons[b.base].append(FUTURE)
            elif (not b.intact or self.found.get(b.base)) and (oldest is None or b.time > oldest):
                self.reasons[b.base].append(DAMAGED)


def plan_prune(
    backups: list[BackupInfo],
    policy: RetentionPolicy,
    now: datetime | None = None,
    read: ReadCheck | None = None,
) -> PrunePlan:
    """restic forget, per target (the backup's name), never across targets: rules combine with
    OR over the intact backups; a bucket counts only if it has one; the newest intact backup of
    each target is always kept. Buckets are in UTC. READ: the full check of a backup's files
    (default: none beyond the stat the catalogue did)."""
    policy.validate()
    now = now or datetime.now(timezone.utc)
    keep: dict[str, tuple[str, ...]] = {}
    remove: list[str] = []
    found: dict[str, tuple[str, ...]] = {}
    looked: set[str] = set()
    groups: dict[str, list[BackupInfo]] = {}
    for b in backups:
        groups.setdefault(b.name, []).append(b)
    for group in groups.values():
        target = _Target(group, now, read or (lambda _: ()))
        if policy.any():
            target.apply(policy)
        else:
            for b in target.ordered:
                target.reasons[b.base].append("no policy")
        keep.update({base: tuple(r) for base, r in target.reasons.items() if r})
        remove += [b.base for b in target.ordered if not target.reasons[b.base]]
        found.update({base: p for base, p in target.found.items() if p})
        looked.update(target.found)
    return PrunePlan(keep, tuple(remove), found, frozenset(looked))


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
    #: files no readable manifest names, as `backup list` shows them
    orphans: tuple[OrphanFile, ...] = ()
    #: with --orphans: the orphans removed (with --dry-run: that would be)
    removed_orphans: tuple[str, ...] = ()


NOT_KEPT = "no --keep-* rule keeps it"


def prune(
    dest: Path, policy: RetentionPolicy, dry_run: bool = False, orphans: bool = False
) -> PruneReport:
    """Apply POLICY to each target's backups in DEST (`orphans`: and remove the orphans)."""
    if not dest.is_dir():
        raise UsageError(f"{dest} is not a directory")
    if not policy.any() and not orphans:
        raise UsageError(
            "no --keep-* option given: refusing to remove every backup",
            "e.g. --keep-daily 7 --keep-weekly 4 (or --orphans alone)",
        )
    now = datetime.now(timezone.utc)
    with dir_lock(dest):
        backups = list_backups(dest)
        plan = plan_prune(backups, policy, now, partial(digest_problems, dest))
        # the report reads every backup the rules did not, as `backup list` does: a damaged
        # one kept or removed is named damaged (the same set as list and verify), never `ok`
        seen = {
            b.base: digest_problems(dest, b)
            for b in backups
            if b.base not in plan.read and not b.problems
        }
        found = find_orphans(dest)
        gone = tuple(o.file for o in found if o.removable) if orphans else ()
        if not dry_run:
            delete_backups(dest, plan.remove)
            if orphans:  # the set list shows: never a live run's temp file
                gone = remove_orphans(dest, found)
    by_base = {
        b.base: replace(b, problems=b.problems + plan.found.get(b.base, seen.get(b.base, ())))
        for b in backups
    }
    return PruneReport(
        target=local_target(dest),
        complete=True,
        directory=str(dest),
        dry_run=dry_run,
        kept=tuple(listed(by_base[b], now, r) for b, r in plan.keep.items()),
        removed=tuple(listed(by_base[b], now, reason=NOT_KEPT) for b in plan.remove),
        orphans=found,
        removed_orphans=gone,
    )
