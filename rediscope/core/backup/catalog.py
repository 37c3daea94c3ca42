"""The backups in a directory: list (from the manifests, checked against the files) and verify."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, ClassVar

from rediscope.core.backup.files import BASE_NAME, TEMP_PREFIX, TS_FORMAT
from rediscope.core.rdb import CHUNK, RdbError, check_file
from rediscope.core.target import Target
from rediscope.errors import UsageError


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
    verified: bool
    mode: str
    raw: dict[str, Any] = field(default_factory=dict, repr=False, metadata={"json_skip": True})


def list_backups(dest: Path) -> list[BackupInfo]:
    """Backups this tool made (a manifest naming its files), newest first."""
    out = []
    for path in dest.glob("*.manifest.json"):
        base = path.name[: -len(".manifest.json")]
        m = BASE_NAME.match(base)
        if not m:
            continue
        try:
            data = json.loads(path.read_text())
        except (OSError, ValueError):
            continue
        if data.get("tool") != "rediscope" or not isinstance(data.get("files"), list):
            continue
        files = tuple(
            str(f.get("file"))
            for f in data["files"]
            if str(f.get("file", "")).startswith(base + ".")
        )
        when = datetime.strptime(m.group("ts"), TS_FORMAT).replace(tzinfo=timezone.utc)
        out.append(
            BackupInfo(
                base=base,
                name=m.group("name"),
                time=when,
                manifest=path.name,
                files=files,
                bytes=sum(int(f.get("bytes", 0)) for f in data["files"]),
                bytes_raw=sum(int(f.get("bytes_raw", 0)) for f in data["files"]),
                rdb_version=next((f.get("rdb_version") for f in data["files"]), None),
                keys=sum(sum(f.get("keys", {}).values()) for f in data["files"]),
                verified=bool(data.get("verified")),
                mode=str(data.get("mode", "standalone")),
                raw=data,
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


@dataclass(frozen=True)
class VerifyReport:
    command: ClassVar[str] = "backup verify"
    target: Target
    complete: bool
    path: str
    files: tuple[FileVerdict, ...]
    ok: bool


def sha256_of(path: Path) -> str:
    sha = hashlib.sha256()
    with path.open("rb") as fh:
        while chunk := fh.read(CHUNK):
            sha.update(chunk)
    return sha.hexdigest()


def verify_file(path: Path) -> FileVerdict:
    """sha256 (against the .sha256 beside it, when there is one) and the RDB checks."""
    side = path.with_name(path.name + ".sha256")
    try:
        if side.exists():
            expected = side.read_text().split()[0]
            if sha256_of(path) != expected:
                return FileVerdict(path.name, False, "sha256 mismatch", None, None)
        check = check_file(path)
    except (OSError, IndexError) as exc:
        return FileVerdict(path.name, False, f"unreadable: {exc}", None, None)
    except RdbError as exc:
        return FileVerdict(path.name, False, str(exc), None, None)
    return FileVerdict(path.name, True, None, check.version, f"{check.crc:016x}")


def verify(path: Path) -> VerifyReport:
    if path.is_dir():
        targets = [path / f for b in list_backups(path) for f in b.files]
        listed = {t.name for t in targets}
        targets += [
            p
            for p in sorted(path.glob("*.rdb*"))
            if not p.name.endswith(".sha256")
            and p.name not in listed
            and not p.name.startswith(TEMP_PREFIX)
        ]
    elif path.exists():
        targets = [path]
    else:
        raise UsageError(f"{path} does not exist")
    verdicts = []
    for t in targets:
        verdicts.append(
            verify_file(t)
            if t.exists()
            else FileVerdict(t.name, False, "missing (listed in its manifest)", None, None)
        )
    return VerifyReport(
        target=local_target(path),
        complete=True,
        path=str(path),
        files=tuple(verdicts),
        ok=all(v.ok for v in verdicts),
    )


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
    verified: bool
    keep: tuple[str, ...] | None = None  # with prune: the rules that keep it


@dataclass(frozen=True)
class BackupListReport:
    command: ClassVar[str] = "backup list"
    target: Target
    complete: bool
    directory: str
    backups: tuple[ListedBackup, ...]


def listed(b: BackupInfo, now: datetime, keep: tuple[str, ...] | None = None) -> ListedBackup:
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
    )


def list_report(dest: Path) -> BackupListReport:
    if not dest.is_dir():
        raise UsageError(f"{dest} is not a directory")
    now = datetime.now(timezone.utc)
    return BackupListReport(
        target=local_target(dest),
        complete=True,
        directory=str(dest),
        backups=tuple(listed(b, now) for b in list_backups(dest)),
    )
