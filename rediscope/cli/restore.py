"""`rediscope backup restore`: the one command that writes data, so it asks first."""

from __future__ import annotations

import dataclasses
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Annotated

import typer

from rediscope.cli.common import Run, rediscope_command
from rediscope.core.restore import RestoreOptions, restore
from rediscope.errors import UsageError


def parse_db_map(text: str | None) -> dict[int, int]:
    """`0:3,1:4` as {0: 3, 1: 4}."""
    out: dict[int, int] = {}
    for item in (text or "").split(","):
        if not item.strip():
            continue
        src, sep, dst = item.partition(":")
        if not sep or not src.strip().isdigit() or not dst.strip().isdigit():
            raise UsageError(f"--db-map {text!r}: expected FROM:TO pairs such as 0:3,1:4")
        if int(src) in out:
            raise UsageError(f"--db-map {text!r}: db {int(src)} is mapped twice")
        if int(dst) in out.values():
            raise UsageError(
                f"--db-map {text!r}: two backup dbs into target db {int(dst)}",
                "their keys could collide: restore them one at a time with --from-db",
            )
        out[int(src)] = int(dst)
    return out


def _require_named_target(run: Run) -> None:
    """The target must be on the command line: a restore never writes to a server that only
    REDISCOPE_URL or a profile names."""
    c = run.connection
    if c is None or not (c.url or c.host or c.port or c.sentinel):
        raise UsageError(
            "backup restore writes data: name the target on the command line with --url "
            "(or --host/--port, or --sentinel/--master)",
            "REDISCOPE_URL and profiles are never used alone for a restore",
        )
    spec = run.spec(follow_sentinel=False)
    if spec.db_explicit and c.db is None and spec.db != 0:  # /0 is the habit of many URLs
        raise UsageError(
            "backup restore takes the target db from the backup (or --db-map), not the URL",
            "drop /N from the URL; --from-db N (-n) restores only db N of the backup",
        )


def _confirmer(yes: bool) -> Callable[[str], None]:
    """The question, asked before any progress is drawn: 'Restore 38,489 keys into ...? [y/N]'."""

    def confirm(question: str) -> None:
        if yes:
            return
        if not typer.confirm(f"{question}?", err=True):
            raise UsageError("not confirmed: nothing was written")

    return confirm


@rediscope_command(section="backup", db="from-db")
def restore_command(
    run: Run,
    source: Annotated[
        Path,
        typer.Argument(
            help="A backup file, a backup name in its directory, or a directory (its newest "
            "intact backup)."
        ),
    ],
    db_map: Annotated[
        str | None,
        typer.Option(
            "--db-map", help="Send file dbs to other target dbs: FROM:TO,...", show_default=False
        ),
    ] = None,
    match: Annotated[
        str | None, typer.Option("--match", help="Only keys matching GLOB.", show_default=False)
    ] = None,
    type_: Annotated[
        str | None,
        typer.Option(
            "--type",
            help="Only keys of TYPE (string, list, ..., or a module's).",
            show_default=False,
        ),
    ] = None,
    merge: Annotated[
        bool, typer.Option("--merge", help="Write into dbs that hold keys; keys there are kept.")
    ] = False,
    replace: Annotated[
        bool, typer.Option("--replace", help="Write into dbs that hold keys; overwrite them.")
    ] = False,
    keep_expired: Annotated[
        bool,
        typer.Option(
            "--keep-expired",
            help="Restore keys expired by now, with the TTL they had in the backup.",
        ),
    ] = False,
    skip_functions: Annotated[
        bool, typer.Option("--skip-functions", help="Leave the backup's function libraries out.")
    ] = False,
    dry_run: Annotated[
        bool,
        typer.Option(
            "--dry-run",
            help="Read everything, write nothing: the plan and the keys already there (EXISTS).",
        ),
    ] = False,
    rate: Annotated[
        float | None,
        typer.Option(
            "--rate", min=1, help="At most KEYS_PER_S keys per second.", show_default=False
        ),
    ] = None,
    partial: Annotated[
        bool,
        typer.Option("--partial", help="A damaged file: restore the keys before the damage."),
    ] = False,
    yes: Annotated[
        bool, typer.Option("--yes", "-y", help="Do not ask (needed without a terminal).")
    ] = False,
    no_progress: Annotated[
        bool,
        typer.Option(
            "--no-progress", help="No progress bar (it is only shown when stderr is a terminal)."
        ),
    ] = False,
) -> None:
    """Write a backup back into a server or a cluster with RESTORE (keys routed by slot, TTLs
    kept to the millisecond, LRU/LFU data and functions too). Refuses a target whose
    destination dbs hold keys unless --merge or --replace; --from-db N (-n) restores only db
    N of the backup. Exit 0 when every key meant to be restored was, 1 otherwise (a filter
    that matches no key of the backup too), 130 on Ctrl-C.

    \b
    Example (yesterday's db 0 into db 5 of a scratch server):
      rediscope backup restore /var/backups/redis --url redis://scratch:6379 --from-db 0 --db-map 0:5
    """
    if merge and replace:
        raise UsageError("--merge and --replace are two ways: give one")
    _require_named_target(run)
    if not (dry_run or yes or sys.stdin.isatty()):
        raise UsageError("backup restore writes data and stdin is not a terminal: add --yes")
    assert run.connection is not None
    opts = RestoreOptions(
        match=match,
        db=run.connection.db,
        type=type_,
        db_map=parse_db_map(db_map),
        merge=merge,
        replace=replace,
        dry_run=dry_run,
        keep_expired=keep_expired,
        skip_functions=skip_functions,
        rate=rate,
        partial=partial,
    )
    spec = dataclasses.replace(run.spec(), db=0, db_explicit=False)
    with run.byte_progress("restore", show=not no_progress) as progress:
        report = restore(
            spec,
            source,
            opts,
            progress=progress,
            confirm=_confirmer(yes),
            warn=lambda text: run.note(f"warning: {text}"),
        )
    run.finish(report)
