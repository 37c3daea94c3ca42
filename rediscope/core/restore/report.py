"""What `backup restore` did (or, with --dry-run, would do): per db, per node, the failures."""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from rediscope.core.report import Outcome, ReportBase
from rediscope.core.restore.source import PassedOver
from rediscope.core.restore.writer import Counts, Failure, Tally
from rediscope.core.target import Target
from rediscope.exitcodes import ExitStatus


@dataclass(frozen=True)
class DbRow:
    db: int  # in the file
    to_db: int  # on the target
    restored: int  # with --dry-run: keys that would be restored
    bytes: int
    exists: int  # skipped: already on the target (--merge), or conflicts (--dry-run)
    expired: int
    filtered: int
    module_missing: int
    empty: int
    failed: int
    unconfirmed: int  # sent, no reply: the target stopped answering (it may hold them)


@dataclass(frozen=True)
class NodeRow:
    node: str
    restored: int
    bytes: int
    exists: int
    module_missing: int
    failed: int
    unconfirmed: int


@dataclass(frozen=True)
class Functions:
    in_file: int
    restored: int
    skipped: int
    failed: int
    errors: tuple[str, ...] = ()


@dataclass(frozen=True)
class RestoreReport(ReportBase):
    command: ClassVar[str] = "backup restore"
    target: Target  # the server written to
    complete: bool
    source: tuple[str, ...]  # the files read
    dry_run: bool
    mode: str  # refuse-nonempty | merge | replace
    file_rdb_version: int
    target_rdb_version: int | None  # None: not probed (a dry run of an empty target)
    payload_rdb_version: int
    restored: int
    bytes: int
    seconds: float
    skipped: dict[str, int]  # exists, expired, filtered, module_missing, empty
    failed: int
    per_db: tuple[DbRow, ...]
    per_node: tuple[NodeRow, ...]
    functions: Functions
    modules_missing: dict[str, int]
    failures: tuple[Failure, ...]  # the first MAX_FAILURES of them
    failures_truncated: bool = False  # more keys failed (`failed`) than `failures` holds
    unconfirmed: int = 0  # sent to a primary that stopped answering: it may hold them
    unverified: int = 0  # restored from a file whose CRC-64 did not vouch for them
    interrupted: bool = False
    error: str | None = None  # why it stopped early: the file's damage, a lost primary
    refused: str | None = None  # a dry run: why the restore itself would be refused
    notes: tuple[str, ...] = ()
    #: what `backup list` shows against the backup (DAMAGED: a .sha256 gone, a wrong size)
    backup_problems: tuple[str, ...] = ()
    #: the checks every file passed before the first write: crc64, header-eof, records
    checks: tuple[str, ...] = ()
    #: SOURCE a directory: the newer backups not taken because they are not intact, and why
    passed_over: tuple[PassedOver, ...] = ()

    def outcome(self) -> Outcome:
        """0 when everything meant to be restored was; 130 interrupted; 1 otherwise (a dry
        run exits as the restore itself would)."""
        errors = tuple(f"{f.key} (db {f.db}, {f.node}): {f.error}" for f in self.failures[:20])
        if self.failed > len(self.failures[:20]):
            where = (
                f"the first {len(self.failures):,} of them in --format json"
                if self.failures_truncated
                else "all of them in --format json"
            )
            errors += (f"... {self.failed - 20:,} more failures ({where})",)
        if self.error:
            errors = (self.error, *errors)
        if self.refused:
            errors = (f"the restore itself would be refused: {self.refused}", *errors)
        errors += self.functions.errors
        if self.interrupted:
            return Outcome(ExitStatus.INTERRUPTED, errors, True)
        if errors or self.failed or self.functions.failed:
            return Outcome(ExitStatus.ERROR, errors)
        return Outcome(ExitStatus.OK)


def db_rows(counts: Counts) -> tuple[DbRow, ...]:
    return tuple(
        DbRow(
            db,
            counts.to_db.get(db, db),
            t.restored,
            t.bytes,
            t.exists,
            t.expired,
            t.filtered,
            t.module_missing,
            t.empty,
            t.failed,
            t.unconfirmed,
        )
        for db, t in sorted(counts.per_db.items())
    )


def node_rows(counts: Counts) -> tuple[NodeRow, ...]:
    return tuple(
        NodeRow(node, t.restored, t.bytes, t.exists, t.module_missing, t.failed, t.unconfirmed)
        for node, t in sorted(counts.per_node.items())
    )


def skipped(total: Tally) -> dict[str, int]:
    return {
        "exists": total.exists,
        "expired": total.expired,
        "filtered": total.filtered,
        "module_missing": total.module_missing,
        "empty": total.empty,
    }
