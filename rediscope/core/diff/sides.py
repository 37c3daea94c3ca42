"""What each side of a diff is: an RDB file, a backup (a directory's newest, or one named by
its base), stdin, a saved memory/patterns JSON report, or the live target; and when it was
taken."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from rediscope.core.backup.catalog import BackupInfo, list_backups
from rediscope.core.pipeline.records import SourceFile
from rediscope.core.rdbfile.source import RdbInput, file_inputs
from rediscope.errors import UsageError

#: the word that stands for the live target (the connection options) as a side
LIVE = "live"

MANIFEST = ".manifest.json"


@dataclass(frozen=True)
class SideSpec:
    given: str
    kind: str  # rdb | backup | stdin | report | live
    inputs: tuple[RdbInput, ...] = ()
    report: dict[str, Any] | None = None  # a saved report's JSON
    backup_time: float | None = None  # when the backup was taken (its manifest)

    @property
    def files(self) -> tuple[str, ...]:
        if self.kind == "report":
            return (self.given,)
        return tuple(i.path for i in self.inputs)


def resolve(given: str | None) -> SideSpec:
    """A side from its argument (None or "live": the live target)."""
    if given is None or given == LIVE:
        return SideSpec(LIVE, "live")
    if given == "-":
        return SideSpec("-", "stdin", tuple(file_inputs(["-"])))
    path = Path(given)
    if path.is_dir():
        backups = list_backups(path)
        if not backups:
            raise UsageError(f"{path} holds no backup written by rediscope backup run")
        return _backup(given, path, backups[0])
    named = _named_backup(path)
    if named is not None:
        return _backup(given, path.parent, named)
    if not path.is_file():
        raise UsageError(
            f"no such RDB file, backup, backup directory or report: {given}",
            f"a side is a file, a backup directory, a backup's name (DIR/BASE), - or {LIVE}",
        )
    head = _head(path)
    if head[:1] != b"" and head[:1] in b'{["-0123456789tfn':  # any JSON document
        return SideSpec(given, "report", report=_load_report(path))
    if not path.name.endswith((".gz", ".zst")) and not head.startswith((b"REDIS", b"VALKEY")):
        raise UsageError(
            f"{given} is neither an RDB file (it does not start with REDIS or VALKEY) nor a "
            "saved JSON report",
            f"a side is a file, a backup directory, a backup's name (DIR/BASE), - or {LIVE}",
        )
    return SideSpec(given, "rdb", tuple(file_inputs([given])))


def _named_backup(path: Path) -> BackupInfo | None:
    """The backup PATH names: DIR/BASE or DIR/BASE.manifest.json."""
    base = path.name[: -len(MANIFEST)] if path.name.endswith(MANIFEST) else path.name
    if not (path.parent / f"{base}{MANIFEST}").is_file():
        return None
    found = [b for b in list_backups(path.parent) if b.base == base]
    if not found:
        raise UsageError(f"{path}: the manifest of this backup is not readable")
    return found[0]


def _backup(given: str, folder: Path, backup: BackupInfo) -> SideSpec:
    if backup.problems:
        raise UsageError(f"backup {backup.base} is damaged: {'; '.join(backup.problems)}")
    inputs = file_inputs([str(folder / f) for f in backup.files])
    return SideSpec(given, "backup", tuple(inputs), backup_time=backup.finished_epoch)


def _head(path: Path) -> bytes:
    """The file's first bytes, leading blanks left out (an RDB has none: it starts with its
    magic, REDIS or VALKEY, unless it is in a .gz or .zst container)."""
    try:
        with path.open("rb") as fh:
            return fh.read(64).lstrip()
    except OSError as exc:
        raise UsageError(f"cannot read {path}: {exc.strerror}") from None


def _load_report(path: Path) -> dict[str, Any]:
    try:
        doc = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise UsageError(f"{path} is not a readable JSON report: {exc}") from None
    command = doc.get("command") if isinstance(doc, dict) else None
    if doc.get("schema_version") != 1 if isinstance(doc, dict) else True:
        raise UsageError(f"{path} is not a rediscope --format json report (schema_version 1)")
    if command not in ("memory", "patterns"):
        raise UsageError(
            f"{path} is a {command} report: diff reads saved memory or patterns reports"
        )
    _check_rows(path, doc, command)
    if command == "patterns" and not doc.get("patterns"):
        raise UsageError(f"{path}: the patterns report lists no pattern")
    return dict(doc)


#: what diff reads of a saved report: its lists, and in each row the fields that must be there
NEEDED = {
    "memory": {
        "by_pattern": ("pattern", "keys"),
        "by_type": ("name", "keys"),
        "by_db": ("name", "keys"),
    },
    "patterns": {"patterns": ("pattern", "keys")},
}


def _check_rows(path: Path, doc: dict[str, Any], command: str) -> None:
    """A report that lacks what diff needs is refused, naming what is missing, rather than
    read as an empty keyspace."""
    needed = NEEDED[command]
    missing = [name for name in needed if not isinstance(doc.get(name), list)]
    if missing:
        raise UsageError(
            f"{path}: this {command} report has no {' and no '.join(missing)} list: diff "
            f"needs {'them' if len(missing) > 1 else 'it'} (a report cut short, or edited?)"
        )
    for name, fields in needed.items():
        for i, row in enumerate(doc[name]):
            ok = isinstance(row, dict) and all(f in row for f in fields)
            if ok and isinstance(row["keys"], int) and not isinstance(row["keys"], bool):
                continue
            raise UsageError(
                f"{path}: {name}[{i}] is not a row diff can read (it needs "
                f"{' and '.join(fields)}, keys a whole number)"
            )


def rfc3339(epoch: float | None) -> str | None:
    if epoch is None:
        return None
    return datetime.fromtimestamp(epoch, timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def parse_time(text: Any) -> float | None:
    """Epoch seconds from a report's RFC 3339 UTC timestamp."""
    if not isinstance(text, str):
        return None
    try:
        return (
            datetime.strptime(text, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=timezone.utc).timestamp()
        )
    except ValueError:
        return None


def file_time(spec: SideSpec, files: tuple[SourceFile, ...]) -> tuple[float | None, str]:
    """When RDB files were taken: their aux ctime (the newest shard), else a backup's
    manifest, else the files' modification time."""
    ctimes = [f.ctime for f in files]
    if files and all(c is not None for c in ctimes):
        return float(max(c for c in ctimes if c is not None)), "rdb-ctime"
    if spec.backup_time is not None:
        return spec.backup_time, "backup-manifest"
    paths = [Path(i.path) for i in spec.inputs if i.path != "-"]
    if paths and len(paths) == len(spec.inputs):
        return max(p.stat().st_mtime for p in paths), "file-mtime"
    return None, "unknown"


def report_time(doc: dict[str, Any]) -> tuple[float | None, str]:
    """A saved report's moment: its RDB files' ctime when it was read from files, else when
    the report was made."""
    files = (doc.get("source") or {}).get("files") or []
    ctimes = [f.get("ctime") for f in files if isinstance(f, dict)]
    known = [int(c) for c in ctimes if isinstance(c, int)]
    if known and len(known) == len(files):
        return float(max(known)), "report-source"
    return parse_time(doc.get("generated_at")), "report"
