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
from rediscope.core.backup.load import load_file
from rediscope.core.backup.manifest import Manifest
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

    def outcome(self) -> Outcome:
        """Exit 1 naming each bad file."""
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


def _server_program(given: str | None) -> str:
    """The redis-server the drill loads with: --server-bin, else the one on PATH (as demo)."""
    if given is None:
        return find_server_binary("redis-server")
    if not (os.path.isfile(given) and os.access(given, os.X_OK)):
        raise UsageError(f"--server-bin {given}: not an executable file")
    return given


def _loaded(
    path: Path, verdict: FileVerdict, manifest: dict[str, int] | None, server_bin: str | None
) -> FileVerdict:
    """VERDICT with the restore drill's result: loaded and compared with --deep's count (the
    file's own), else with the manifest's."""
    if not verdict.ok:
        return verdict
    expected = manifest
    if verdict.keys is not None:
        expected = {db: sum(types.values()) for db, types in verdict.keys.items()}
    result = load_file(path, expected, server_bin)
    if result.ok:
        return replace(verdict, load=result)
    return replace(verdict, ok=False, problem=result.problem, load=result)


def verify(
    path: Path, deep: bool = False, load: bool = False, server_bin: str | None = None
) -> VerifyReport:
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
        listed = {f for b in list_backups(path.parent) for f in b.files}
    else:
        raise UsageError(f"{path} does not exist")
    verdicts = []
    keys = _manifest_keys(path if path.is_dir() else path.parent) if load else {}
    if load:
        server_bin = _server_program(server_bin)
    for t in targets:
        v = (
            verify_file(t, sidecar=t.name in listed, deep=deep)
            if t.exists()
            else FileVerdict(t.name, False, "missing (listed in its manifest)", None, None)
        )
        verdicts.append(_loaded(t, v, keys.get(t.name), server_bin) if load else v)
    return VerifyReport(
        target=local_target(path),
        complete=True,
        path=str(path),
        files=tuple(verdicts),
        ok=all(v.ok for v in verdicts),
        deep=deep,
        load=load,
    )
