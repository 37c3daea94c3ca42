"""The backups in a directory: list (from the manifests, checked against the files) and verify."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field, replace
from datetime import datetime, timezone
from pathlib import Path
from typing import ClassVar

from rediscope.core.backup.files import BASE_NAME, TS_FORMAT
from rediscope.core.backup.load import LoadResult
from rediscope.core.backup.manifest import BackupFile, Manifest
from rediscope.core.backup.orphans import OrphanFile, find_orphans
from rediscope.core.pipeline.records import Batch
from rediscope.core.rdbfile.check import CHUNK, RdbError, check_file, open_decompressed
from rediscope.core.report import Outcome, ReportBase
from rediscope.core.target import Target
from rediscope.core.units import short_duration
from rediscope.errors import UsageError
from rediscope.exitcodes import ExitStatus

#: a backup whose name is dated more than this far past now is dated in the future (a clock
#: ahead, or a set copied from a host whose clock was): it is reported, and never counted
FUTURE_SLACK_S = 60.0


@dataclass(frozen=True)
class BackupInfo:
    base: str
    name: str
    time: datetime
    manifest: str
    files: tuple[str, ...]
    bytes: int
    bytes_raw: int
    rdb_version: int | None
    keys: int
    verified: bool  # verified when it was written (the manifest says so)
    mode: str
    finished_at_epoch: float | None = field(default=None, repr=False, metadata={"json_skip": True})
    #: what a stat of its files shows now: each file there with the size the manifest gives
    problems: tuple[str, ...] = ()
    #: the sha256 of each of `files` the manifest records ('' where it records none)
    digests: tuple[str, ...] = field(default=(), repr=False, metadata={"json_skip": True})

    @property
    def intact(self) -> bool:
        return self.verified and not self.problems

    def future_s(self, now: datetime) -> float:
        """How far past NOW its name is dated (0: not in the future, FUTURE_SLACK_S allowed)."""
        ahead = (self.time - now).total_seconds()
        return ahead if ahead > FUTURE_SLACK_S else 0.0

    @property
    def finished_epoch(self) -> float:
        """When the backup was complete (the manifest), else when it started (its name)."""
        if self.finished_at_epoch is not None:
            return self.finished_at_epoch
        return self.time.timestamp()


def _stat_problems(dest: Path, entries: tuple[BackupFile, ...]) -> tuple[str, ...]:
    """Cheap checks of a backup's files against its manifest: present, right size, sidecar."""
    out = []
    for entry in entries:
        try:
            size = (dest / entry.file).stat().st_size
        except OSError:
            out.append(f"{entry.file} is missing")
            continue
        if size != entry.bytes:
            out.append(f"{entry.file} has {size:,} bytes, the manifest says {entry.bytes:,}")
        if not (dest / f"{entry.file}.sha256").exists():
            out.append(f"{entry.file}.sha256 is missing")
    return tuple(out)


def list_backups(dest: Path) -> list[BackupInfo]:
    """Backups this tool made (a manifest naming its files), newest first, each with what a
    stat of its files shows (missing, truncated)."""
    out = []
    for path in dest.glob("*.manifest.json"):
        base = path.name[: -len(".manifest.json")]
        m = BASE_NAME.match(base)
        manifest = Manifest.read(path) if m else None
        if m is None or manifest is None:
            continue
        entries = tuple(f for f in manifest.files if f.file.startswith(base + "."))
        when = datetime.strptime(m.group("ts"), TS_FORMAT).replace(tzinfo=timezone.utc)
        out.append(
            BackupInfo(
                base=base,
                name=m.group("name"),
                time=when,
                manifest=path.name,
                files=tuple(f.file for f in entries),
                bytes=sum(f.bytes for f in manifest.files),
                bytes_raw=sum(f.bytes_raw for f in manifest.files),
                rdb_version=next((f.rdb_version for f in manifest.files), None),
                keys=sum(sum(f.keys.values()) for f in manifest.files),
                verified=manifest.verified,
                mode=manifest.mode,
                finished_at_epoch=manifest.finished_at_epoch,
                problems=_stat_problems(dest, entries),
                digests=tuple(f.sha256 for f in entries),
            )
        )
    return sorted(out, key=lambda b: (b.time, b.base), reverse=True)


@dataclass(frozen=True)
class FileVerdict:
    file: str
    ok: bool
    problem: str | None
    rdb_version: int | None
    crc64: str | None
    #: with --deep: keys per db and type, every record parsed (None: not parsed)
    keys: dict[str, dict[str, int]] | None = None
    #: with --load: what a throwaway server loaded from it (None: not loaded)
    load: LoadResult | None = None
    #: the checks that ran and passed, in order: sha256 (against its .sha256), crc64 (the
    #: RDB's own checksum over every byte) or header-eof (a file written with checksums off:
    #: magic, version and EOF opcode only), records (--deep: every record parsed), load
    checks: tuple[str, ...] = ()
    #: no readable manifest names it (see `orphans`)
    orphan: bool = False

    @property
    def records_unchecked(self) -> bool:
        """Passed, but nothing looked at its records: no CRC-64 and no --deep."""
        return self.ok and "header-eof" in self.checks and "records" not in self.checks


def sha256_of(path: Path) -> str:
    sha = hashlib.sha256()
    with path.open("rb") as fh:
        while chunk := fh.read(CHUNK):
            sha.update(chunk)
    return sha.hexdigest()


def digest_problems(dest: Path, backup: BackupInfo) -> tuple[str, ...]:
    """Each file of BACKUP read in full: its sha256 against the manifest's and its .sha256's
    (what retention checks before it counts a backup as intact)."""
    out = []
    digests = backup.digests or ("",) * len(backup.files)
    for name, recorded in zip(backup.files, digests, strict=True):
        try:
            actual = sha256_of(dest / name)
            side = (dest / f"{name}.sha256").read_text().split()
        except OSError as exc:
            out.append(f"{name} is unreadable: {exc.strerror or exc}")
            continue
        if recorded and actual != recorded:
            out.append(f"{name}: sha256 mismatch (the manifest's)")
        elif not side or side[0] != actual:
            out.append(f"{name}: sha256 mismatch ({name}.sha256)")
    return tuple(out)


def not_intact(dest: Path, backup: BackupInfo, now: datetime) -> str | None:
    """Why BACKUP does not count as intact, by retention's rule (None: it does): dated in the
    future, not verified when written, or its files missing, resized or not matching their
    sha256 (each file read in full)."""
    ahead = backup.future_s(now)
    if ahead:
        return f"dated {short_duration(ahead)} in the future"
    if not backup.verified:
        return "not verified when it was written"
    problems = backup.problems or digest_problems(dest, backup)
    return f"damaged: {'; '.join(problems)}" if problems else None


def deep_count(path: Path) -> dict[str, dict[str, int]]:
    """Parse every record of a (compressed) RDB: keys per db and per type. RdbError names the
    offset and key where the data goes wrong, also in a file written with checksums off."""
    from rediscope.core.rdbfile.reader import RdbReader

    counts: dict[str, dict[str, int]] = {}

    def count(batch: Batch) -> None:
        per_type = counts.setdefault(f"db{batch.db}", {})
        for t in batch.types:
            name = t.decode("utf-8", "replace")
            per_type[name] = per_type.get(name, 0) + 1

    with open_decompressed(path) as fh:
        RdbReader(fh, path.name, lambda _: 0, count).read()
    return counts


def verify_file(
    path: Path, sidecar: bool = False, deep: bool = False, digest: str = ""
) -> FileVerdict:
    """sha256 (against DIGEST, its manifest's, when given, and the .sha256 beside it;
    `sidecar`: one must be there, as for every file a manifest lists) and the RDB checks."""
    side = path.with_name(path.name + ".sha256")
    checks: list[str] = []
    try:
        if side.exists() or digest:
            actual = sha256_of(path)
            if digest and actual != digest:
                return FileVerdict(path.name, False, "sha256 mismatch (the manifest's)", None, None)
        if side.exists():
            if actual != (side.read_text().split() or [""])[0]:
                return FileVerdict(path.name, False, f"sha256 mismatch ({side.name})", None, None)
            checks.append("sha256")
        elif sidecar:
            return FileVerdict(path.name, False, f"{side.name} is missing", None, None)
        check = check_file(path)
        checks.append("crc64" if check.crc_checked else "header-eof")
        keys = deep_count(path) if deep else None
    except (OSError, IndexError, EOFError) as exc:
        return FileVerdict(path.name, False, f"unreadable: {exc}", None, None)
    except RdbError as exc:
        return FileVerdict(path.name, False, str(exc), None, None)
    if deep:
        checks.append("records")
    crc = f"{check.crc:016x}"  # 0000000000000000: the file carries no CRC (see checks)
    return FileVerdict(path.name, True, None, check.version, crc, keys, checks=tuple(checks))


def local_target(path: Path) -> Target:
    return Target(url=f"file://{path.resolve()}", mode="standalone", nodes=())


@dataclass(frozen=True)
class ListedBackup:
    base: str
    time: str
    age_s: float
    files: tuple[str, ...]
    bytes: int
    bytes_raw: int
    ratio: float | None
    rdb_version: int | None
    keys: int
    verified: bool  # verified when written (the manifest)
    keep: tuple[str, ...] | None = None  # with prune: the rules that keep it
    #: now: ok (files there, sizes and sha256 right), missing, damaged, unverified, future (dated in the
    #: future); with --verify: verified (every file re-read and checked) or bad
    state: str = "ok"
    problems: tuple[str, ...] = ()
    #: with prune: why it is (or would be) removed
    reason: str | None = None


@dataclass(frozen=True)
class BackupListReport(ReportBase):
    command: ClassVar[str] = "backup list"
    target: Target
    complete: bool
    directory: str
    backups: tuple[ListedBackup, ...]
    deep: bool = False  # --verify: every file was re-read
    notes: tuple[str, ...] = ()
    #: files no readable manifest names (and unreadable manifests): the set verify shows
    orphans: tuple[OrphanFile, ...] = ()

    @property
    def ok(self) -> bool:
        return all(b.state in ("ok", "verified") for b in self.backups)

    def outcome(self) -> Outcome:
        """With --verify a bad backup exits 1; a plain listing reports and exits 0."""
        return Outcome(ExitStatus.ERROR if self.deep and not self.ok else ExitStatus.OK)


def _state(
    b: BackupInfo, now: datetime, deep: tuple[FileVerdict, ...] | None
) -> tuple[str, tuple[str, ...]]:
    problems = b.problems
    ahead = b.future_s(now)
    if deep is not None:
        problems += tuple(f"{v.file}: {v.problem}" for v in deep if not v.ok and v.problem)
        problems = tuple(dict.fromkeys(problems))  # a missing file is named by both
    if any(p.endswith(" is missing") and ".sha256" not in p for p in b.problems):
        return "missing", problems
    if problems:
        return ("bad" if deep is not None else "damaged"), problems
    if ahead:
        return "future", (
            f"dated {short_duration(ahead)} in the future: a clock ahead, or copied from a "
            "host whose clock was; retention does not count it",
        )
    if not b.verified:
        return "unverified", problems
    return ("verified" if deep is not None else "ok"), problems


def listed(
    b: BackupInfo,
    now: datetime,
    keep: tuple[str, ...] | None = None,
    deep: tuple[FileVerdict, ...] | None = None,
    reason: str | None = None,
) -> ListedBackup:
    state, problems = _state(b, now, deep)
    return ListedBackup(
        base=b.base,
        time=f"{b.time:%Y-%m-%dT%H:%M:%SZ}",
        age_s=round((now - b.time).total_seconds(), 1),
        files=b.files,
        bytes=b.bytes,
        bytes_raw=b.bytes_raw,
        ratio=round(b.bytes / b.bytes_raw, 4) if b.bytes_raw else None,
        rdb_version=b.rdb_version,
        keys=b.keys,
        verified=b.verified,
        keep=keep,
        state=state,
        problems=problems,
        reason=reason,
    )


def list_report(dest: Path, deep: bool = False) -> BackupListReport:
    """The backups in `dest`, each file's sha256 read in full (against its manifest's and its
    .sha256); `deep` re-reads every file as verify does (sha256 and the RDB checks)."""
    if not dest.is_dir():
        raise UsageError(f"{dest} is not a directory")
    now = datetime.now(timezone.utc)
    rows = []
    for b in list_backups(dest):
        checks = None
        if deep:
            checks = tuple(
                verify_file(dest / f, sidecar=True, digest=d)
                if (dest / f).exists()
                else FileVerdict(f, False, "missing", None, None)
                for f, d in zip(b.files, b.digests or ("",) * len(b.files), strict=True)
            )
        elif not b.problems:  # every file read in full: its sha256, as retention reads it
            b = replace(b, problems=digest_problems(dest, b))
        rows.append(listed(b, now, deep=checks))
    return BackupListReport(
        target=local_target(dest),
        complete=True,
        directory=str(dest),
        backups=tuple(rows),
        deep=deep,
        orphans=find_orphans(dest),
    )
