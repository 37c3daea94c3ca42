"""What `backup restore` checked of the files before its first write, and what `backup list`
says against the backup (DAMAGED: a `.sha256` gone, a size that is not the manifest's). A
damaged backup is restored only after saying so, and saying what vouches for it instead."""

from __future__ import annotations

import zlib
from dataclasses import dataclass

from rediscope.core.backup.catalog import deep_count, list_backups
from rediscope.core.rdbfile.check import RdbError
from rediscope.core.restore.plan import Input, RestoreRefused


@dataclass(frozen=True)
class Integrity:
    #: what `backup list` shows against the backup's files (empty: nothing)
    problems: tuple[str, ...] = ()
    #: the checks every file passed before the first write: crc64 (the RDB's own CRC-64 over
    #: every byte), header-eof (a file without one: magic, version, EOF opcode), records
    #: (every record read through)
    checks: tuple[str, ...] = ()

    def warning(self) -> str | None:
        """The warning said before anything is written (None: the backup is not damaged)."""
        if not self.problems:
            return None
        if "crc64" in self.checks:
            instead = "the RDB's own CRC-64 over every byte of each file matched"
        elif "records" in self.checks:
            instead = "every record of each file was read (the files have no CRC-64)"
        else:
            instead = "nothing: the restore goes as far as the records read (--partial)"
        return (
            f"the backup is DAMAGED as `backup list` shows it ({'; '.join(self.problems)}); "
            f"checked instead: {instead}"
        )


def _problems(inputs: list[Input]) -> tuple[str, ...]:
    """What a stat of the backup shows against the files restored (as `backup list`)."""
    names = {i.path.name for i in inputs if i.entry is not None}
    out: list[str] = []
    for directory in sorted({i.path.parent for i in inputs if i.entry is not None}):
        for b in list_backups(directory):
            if names & set(b.files):
                out += [
                    p for p in b.problems if p.split(" ", 1)[0].removesuffix(".sha256") in names
                ]
    return tuple(dict.fromkeys(out))


def integrity(inputs: list[Input]) -> Integrity:
    """The backup's problems, and the checks each file passed (a damaged backup's files
    without a CRC-64 are read through, every record, before anything is written)."""
    problems = _problems(inputs)
    if any(i.damaged for i in inputs):  # --partial: the damage is already named
        return Integrity(problems)
    if all(i.crc_checked for i in inputs):
        return Integrity(problems, ("crc64",))
    if not problems:
        return Integrity(problems, ("header-eof",))
    for i in inputs:
        if not i.crc_checked:
            try:
                deep_count(i.path)
            except (RdbError, OSError, EOFError, zlib.error) as exc:
                raise RestoreRefused(
                    f"{i.path.name}: {exc}; nothing was written",
                    "--partial restores the keys before the damage (unverified)",
                ) from None
    return Integrity(problems, ("header-eof", "records"))
