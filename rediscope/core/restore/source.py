"""Which files `backup restore SOURCE` reads: a backup file, a backup's name inside its
directory, or a directory (its newest intact backup, by retention's rule, with the newer ones
it passed over and why)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

from rediscope.core.backup.catalog import list_backups, not_intact
from rediscope.core.backup.manifest import Manifest
from rediscope.core.restore.plan import Input, RestoreRefused
from rediscope.errors import UsageError


def _entries(directory: Path, base: str) -> list[Input]:
    manifest = Manifest.read(directory / f"{base}.manifest.json")
    files = manifest.files if manifest else ()
    return [Input(directory / f.file, f) for f in files]


@dataclass(frozen=True)
class PassedOver:
    """A newer backup that `backup restore DIR` did not take, and why."""

    base: str
    reason: str


def newest_intact(directory: Path, name: str | None = None) -> tuple[str, tuple[PassedOver, ...]]:
    """The newest intact backup of target NAME (default: the newest backup's) in DIRECTORY
    (retention's rule: verified when written, files there with their sizes and sha256, not
    dated in the future), and the newer ones passed over. None intact: refused."""
    backups = list_backups(directory)
    if not backups:
        raise UsageError(f"{directory} holds no backup written by rediscope backup run")
    name, now = name or backups[0].name, datetime.now(timezone.utc)
    passed: list[PassedOver] = []
    for b in backups:
        if b.name == name:  # never another target's backup in its place
            why = not_intact(directory, b, now)
            if why is None:
                return b.base, tuple(passed)
            passed.append(PassedOver(b.base, why))
    raise RestoreRefused(
        f"no intact backup of {name} in {directory}: {len(passed)} backup(s), none intact "
        f"(the newest, {passed[0].base}: {passed[0].reason}); nothing was written",
        "`backup list` shows each; name a backup's file to restore it anyway "
        "(its CRC-64 is checked; --partial restores the keys before damage)",
    )


def passed_over_warning(passed: tuple[PassedOver, ...]) -> str | None:
    """The one line said on stderr before anything is written (None: nothing passed over)."""
    if not passed:
        return None
    listed = "; ".join(f"{p.base} ({p.reason})" for p in passed)
    return f"passed over {len(passed)} newer backup(s) that are not intact: {listed}"


def restore_inputs(source: Path) -> tuple[list[Input], tuple[PassedOver, ...]]:
    """A backup file, a backup's name inside its directory (its base; or its target's name:
    that target's newest intact backup), or a directory (its newest intact backup: every
    shard's file; with the newer ones passed over)."""
    if source.is_dir():
        base, passed = newest_intact(source)
        return _entries(source, base), passed
    if source.is_file():
        for b in list_backups(source.parent):
            if source.name in b.files:
                entries = _entries(source.parent, b.base)
                return [i for i in entries if i.path.name == source.name], ()
        return [Input(source, None)], ()
    parent = source.parent if source.parent.is_dir() else None
    if parent is not None:
        backups = list_backups(parent)
        if any(b.base == source.name for b in backups):  # one backup, named: as named
            return _entries(parent, source.name), ()
        if any(b.name == source.name for b in backups):  # a target: its newest intact one
            base, passed = newest_intact(parent, source.name)
            return _entries(parent, base), passed
    raise UsageError(f"no such backup file, backup name or backup directory: {source}")
