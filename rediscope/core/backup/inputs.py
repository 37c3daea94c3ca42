"""What `--rdb PATH` stands for: RDB files as given, and a backup directory as its newest
backup (every shard's file). The RDB reader knows files only; backup folders are known here."""

from __future__ import annotations

from pathlib import Path

from rediscope.core.backup.catalog import list_backups
from rediscope.core.rdbfile.source import RdbInput, file_inputs
from rediscope.errors import UsageError


def rdb_inputs(paths: list[str]) -> list[RdbInput]:
    """Files as given ("-" for stdin); a backup directory gives its newest backup."""
    files: list[str] = []
    for raw in paths:
        path = Path(raw)
        if raw != "-" and path.is_dir():
            backups = list_backups(path)
            if not backups:
                raise UsageError(f"{path} holds no backup written by rediscope backup run")
            files += [str(path / f) for f in backups[0].files]
        elif raw == "-" or path.is_file():
            files.append(raw)
        else:
            raise UsageError(f"no such RDB file or backup directory: {path}")
    return file_inputs(files)
