"""`backup verify`: re-check backup files (sha256, the RDB checks; --deep: every record;
--load: the restore drill)."""

from __future__ import annotations

import os
from dataclasses import dataclass, replace
from pathlib import Path
from typing import ClassVar

from rediscope.core.backup.catalog import (
    FileVerdict,
    list_backups,
    local_target,
    verify_file,
)
from rediscope.core.backup.files import TEMP_PREFIX
from rediscope.core.backup.load import (
    Loader,
    OlderLoader,
    interrupt_on_sigterm,
    load_file,
    loader_of,
)
from rediscope.core.backup.manifest import Manifest
from rediscope.core.backup.orphans import OrphanFile, find_orphans
from rediscope.core.localserver import find_server_binary
from rediscope.core.report import Outcome, ReportBase
from rediscope.core.target import Target
from rediscope.errors import UsageError
from rediscope.exitcodes import ExitStatus


@dataclass(frozen=True)
class VerifyReport(ReportBase):
    command: ClassVar[str] = "backup verify"
    target: Target
    complete: bool
    path: str
    files: tuple[FileVerdict, ...]
    ok: bool
    notes: tuple[str, ...] = ()
    deep: bool = False  # every record of every file was parsed
    load: bool = False  # every file was loaded by a throwaway server
    #: files no readable manifest names (and unreadable manifests): the set list shows
    orphans: tuple[OrphanFile, ...] = ()
    #: why nothing was verified (None: something was)
    nothing: str | None = None

    def outcome(self) -> Outcome:
        """Exit 1 naming each bad file, or saying that nothing was verified."""
        if self.nothing is not None:
            return Outcome(ExitStatus.ERROR, (self.nothing,))
        bad = tuple(f"{f.file}: {f.problem}" for f in self.files if not f.ok)
        return Outcome(ExitStatus.OK if self.ok else ExitStatus.ERROR, bad)


def _manifest_keys(directory: Path) -> dict[str, dict[str, int]]:
    """Keys per db of each file the manifests in DIRECTORY list."""
    out: dict[str, dict[str, int]] = {}
    for b in list_backups(directory):
        manifest = Manifest.read(directory / b.manifest)
        for f in manifest.files if manifest else ():
            out[f.file] = dict(f.keys)
    return out


def _digests(directory: Path) -> dict[str, str]:
    """The sha256 the manifests in DIRECTORY record for each of their files."""
    return {
        f: d for b in list_backups(directory) for f, d in zip(b.files, b.digests, strict=False) if d
    }


def _server_program(given: str | None) -> str:
    """The redis-server the drill loads with: --server-bin, else the one on PATH (as demo)."""
    if given is None:
        return find_server_binary("redis-server")
    if not (os.path.isfile(given) and os.access(given, os.X_OK)):
        raise UsageError(f"--server-bin {given}: not an executable file")
    return given


def _older(loader: Loader, rdb_version: int) -> UsageError:
    """Exit 2: the backup is not bad, the loader cannot read it."""
    who = f"the loader ({loader.name} {loader.version}, RDB {loader.rdb_version})"
    if loader.rdb_version < rdb_version:
        what = f"{who} is older than the backup (RDB {rdb_version})"
    else:  # another family's numbering (Valkey's RDB 80 does not read Redis's 12)
        what = f"{who} cannot read the backup's RDB {rdb_version}"
    return UsageError(
        f"{what}: use --server-bin",
        "name a redis-server at least as new as the one that wrote the backup",
    )


def _loaded(
    path: Path, verdict: FileVerdict, manifest: dict[str, int] | None, loader: _Drill
) -> FileVerdict:
    """VERDICT with the restore drill's result: loaded and compared with --deep's count (the
    file's own), else with the manifest's."""
    if not verdict.ok:
        return verdict
    expected = manifest
    if verdict.keys is not None:
        expected = {db: sum(types.values()) for db, types in verdict.keys.items()}
    try:
        result = load_file(path, expected, loader.binary)
    except OlderLoader as exc:
        raise _older(loader.loader, exc.rdb_version) from None
    if result.ok:
        return replace(verdict, load=result, checks=(*verdict.checks, "load"))
    return replace(verdict, ok=False, problem=result.problem, load=result)


@dataclass(frozen=True)
class _Drill:
    binary: str
    loader: Loader


def _targets(path: Path) -> tuple[list[Path], set[str], tuple[OrphanFile, ...]]:
    """The files to verify, the names manifests list, and the orphans of the directory."""
    if path.is_dir():
        targets = [path / f for b in list_backups(path) for f in b.files]
        listed = {t.name for t in targets}
        targets += [
            p
            for p in sorted(path.glob("*.rdb*"))
            if not p.name.endswith(".sha256")
            and p.name not in listed
            and not p.name.startswith(TEMP_PREFIX)
            and p.is_file()
        ]
        return targets, listed, find_orphans(path)
    if path.exists():
        listed = {f for b in list_backups(path.parent) for f in b.files}
        orphans = tuple(o for o in find_orphans(path.parent) if o.file == path.name)
        return [path], listed, orphans
    raise UsageError(f"{path} does not exist")


def _nothing(path: Path, verdicts: list[FileVerdict], listed: set[str]) -> str | None:
    """Why nothing restorable was verified: no file at all, or (a directory) orphans only."""
    if not verdicts:
        return f"nothing to verify: no backup files in {path}"
    if path.is_dir() and not listed and all(v.orphan for v in verdicts):
        return f"nothing to verify: no backup in {path}, only orphans (files without a manifest)"
    return None


def _notes(verdicts: list[FileVerdict]) -> tuple[str, ...]:
    return tuple(
        f"{v.file} carries no CRC-64 (written with rdbchecksum no): its header and EOF were "
        "checked, not its records; --deep reads every record"
        for v in verdicts
        if v.records_unchecked
    )


def verify(
    path: Path, deep: bool = False, load: bool = False, server_bin: str | None = None
) -> VerifyReport:
    targets, listed, orphans = _targets(path)
    orphan_names = {o.file for o in orphans}
    digests = _digests(path if path.is_dir() else path.parent)
    verdicts = [
        replace(
            verify_file(t, sidecar=t.name in listed, deep=deep, digest=digests.get(t.name, ""))
            if t.exists()
            else FileVerdict(t.name, False, "missing (listed in its manifest)", None, None),
            orphan=t.name in orphan_names,
        )
        for t in targets
    ]
    binary = _server_program(server_bin) if load else ""
    if load and any(v.ok for v in verdicts):
        with interrupt_on_sigterm():  # `finally` stops the throwaway servers
            drill = _Drill(binary, loader_of(binary))
            newest = max(v.rdb_version or 0 for v in verdicts if v.ok)
            if newest > drill.loader.rdb_version:
                raise _older(drill.loader, newest)
            keys = _manifest_keys(path if path.is_dir() else path.parent)
            verdicts = [
                _loaded(t, v, keys.get(t.name), drill)
                for t, v in zip(targets, verdicts, strict=True)
            ]
    nothing = _nothing(path, verdicts, listed)
    return VerifyReport(
        target=local_target(path),
        complete=True,
        path=str(path),
        files=tuple(verdicts),
        ok=nothing is None and all(v.ok for v in verdicts),
        notes=_notes(verdicts),
        deep=deep,
        load=load,
        orphans=orphans,
        nothing=nothing,
    )
