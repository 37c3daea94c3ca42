"""Orphans: files named as this tool names a backup's files that no readable manifest names.

A backup exists from the rename of its manifest on; a crash between publishing's renames, or an
older version that failed after its data file was in place, leaves files without one; a run
killed while it writes leaves its temp file (an orphan once the PID in its name is gone). `backup
list` and `backup verify` show the same set (one function), `backup prune --orphans` removes the
files that have no manifest at all. A manifest that cannot be read is shown too, never hidden,
and neither it nor the files of its backup are removed: they may be the only copy.
"""

from __future__ import annotations

import contextlib
import re
from dataclasses import dataclass
from pathlib import Path

from rediscope.core.backup.files import BASE_NAME, TEMP_PREFIX, fsync_dir, temp_writer
from rediscope.core.backup.manifest import Manifest

#: `<name>-<stamp>.rdb[.gz|.zst]`, a shard's `<name>-<stamp>.<node>.<slots>.rdb…`, and sidecars
FILE_NAME = re.compile(r"^(?P<base>.+-\d{8}T\d{6}Z)\.(?:.+\.)?rdb(?:\.gz|\.zst)?(?:\.sha256)?$")
MANIFEST_SUFFIX = ".manifest.json"


@dataclass(frozen=True)
class OrphanFile:
    file: str
    bytes: int
    #: no manifest; its manifest is unreadable; or: an unreadable manifest
    reason: str
    #: `prune --orphans` removes it (a file with no manifest at all)
    removable: bool


def _size(path: Path) -> int:
    try:
        return path.stat().st_size
    except OSError:
        return 0


def _manifests(dest: Path) -> tuple[set[str], set[str], list[OrphanFile]]:
    """The file names readable manifests name (sidecars included), the bases whose manifest
    cannot be read, and those manifests as orphan entries."""
    named: set[str] = set()
    unreadable: set[str] = set()
    bad: list[OrphanFile] = []
    for path in sorted(dest.glob("*" + MANIFEST_SUFFIX)):
        base = path.name[: -len(MANIFEST_SUFFIX)]
        if not BASE_NAME.match(base):
            continue
        manifest = Manifest.read(path)
        if manifest is None:
            unreadable.add(base)
            bad.append(OrphanFile(path.name, _size(path), "unreadable manifest", False))
            continue
        for f in manifest.files:
            if f.file.startswith(base + "."):
                named.update((f.file, f"{f.file}.sha256"))
    return named, unreadable, bad


def _leftover(path: Path) -> OrphanFile | None:
    """A temp file whose writer is gone (killed mid-run) as an orphan; None: a run in progress
    (the live PID in its name) or not a file."""
    if not path.is_file() or temp_writer(path.name) is not None:
        return None
    pid, sep, _ = path.name[len(TEMP_PREFIX) :].partition("-")
    who = f" (pid {pid}, gone)" if sep and pid.isdigit() else ""
    return OrphanFile(path.name, _size(path), f"temp file of an interrupted run{who}", True)


def find_orphans(dest: Path) -> tuple[OrphanFile, ...]:
    """Every orphan in DEST, by name, and the temp files of runs that were killed (a run in
    progress, its PID alive, is not an orphan)."""
    named, unreadable, out = _manifests(dest)
    for path in sorted(dest.iterdir()):
        if path.name.startswith(TEMP_PREFIX):
            leftover = _leftover(path)
            out += [leftover] if leftover else []
            continue
        match = FILE_NAME.match(path.name)
        if match is None or path.name in named:
            continue
        if not path.is_file():
            continue
        base = match.group("base")
        if base in unreadable:
            reason = f"its manifest {base}{MANIFEST_SUFFIX} is unreadable"
            out.append(OrphanFile(path.name, _size(path), reason, False))
        else:
            out.append(OrphanFile(path.name, _size(path), "no manifest", True))
    return tuple(out)


def remove_orphans(dest: Path, orphans: tuple[OrphanFile, ...]) -> tuple[str, ...]:
    """Remove the removable ORPHANS (call with the directory lock held)."""
    removed = []
    for orphan in orphans:
        if orphan.removable:
            with contextlib.suppress(FileNotFoundError):
                (dest / orphan.file).unlink()
            removed.append(orphan.file)
    if removed:
        fsync_dir(dest)
    return tuple(removed)
