"""`rediscope backup run | list | verify | prune`."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Annotated, Any

import click
import typer

from rediscope.cli.common import Run, rediscope_command
from rediscope.core import backup as core
from rediscope.core.units import parse_duration
from rediscope.exitcodes import ExitStatus

app = typer.Typer(
    name="backup",
    no_args_is_help=True,
    suggest_commands=False,  # click (8.2+) says "Did you mean ...?" itself
    help="Verified, rotated RDB backups for cron: run, list, verify, prune.\n\n"
    "Example: rediscope backup run /var/backups/redis --keep-daily 7",
)

KEEP = "Retention (restic forget rules, OR-ed)"


def _policy(
    last: int, hourly: int, daily: int, weekly: int, monthly: int, yearly: int, within: str | None
) -> core.RetentionPolicy:
    return core.RetentionPolicy(
        last=last,
        hourly=hourly,
        daily=daily,
        weekly=weekly,
        monthly=monthly,
        yearly=yearly,
        within=timedelta(seconds=parse_duration(within, "--keep-within")) if within else None,
    )


def _keep(name: str, what: str) -> Any:
    return typer.Option(
        f"--keep-{name}",
        min=0,
        help=f"Keep the newest backup of each of the last N {what} that have one."
        if name != "last"
        else "Keep the N newest backups.",
        rich_help_panel=KEEP,
    )


Last = Annotated[int, _keep("last", "")]
Hourly = Annotated[int, _keep("hourly", "hours")]
Daily = Annotated[int, _keep("daily", "days")]
Weekly = Annotated[int, _keep("weekly", "ISO weeks")]
Monthly = Annotated[int, _keep("monthly", "months")]
Yearly = Annotated[int, _keep("yearly", "years")]
Within = Annotated[
    str | None,
    typer.Option(
        "--keep-within",
        help="Keep every backup within this duration of the newest (e.g. 2d).",
        rich_help_panel=KEEP,
        show_default=False,
    ),
]
Dir = Annotated[Path, typer.Argument(help="The backup directory.", file_okay=False)]


@app.command("run")
@rediscope_command(section="backup")
def run_(
    run: Run,
    dest: Dir,
    name: Annotated[
        str | None,
        typer.Option(
            "--name", help="Name prefix of the files (default: host-port).", show_default=False
        ),
    ] = None,
    method: Annotated[
        str,
        typer.Option(
            "--method",
            click_type=click.Choice(["sync", "bgsave", "auto"]),
            help="sync: stream over the replication protocol (remote, no file access); bgsave: "
            "BGSAVE and copy the server's RDB file (same host); auto: sync, else bgsave.",
        ),
    ] = "sync",
    compress: Annotated[
        str,
        typer.Option(
            "--compress",
            click_type=click.Choice(["gzip", "zstd", "none"]),
            help="Compression (zstd needs rediscope[zstd]).",
        ),
    ] = "gzip",
    rdb_path: Annotated[
        str | None,
        typer.Option(
            "--rdb-path",
            help="With bgsave: the RDB file (default: CONFIG GET dir/dbfilename).",
            show_default=False,
        ),
    ] = None,
    verbose: Annotated[
        bool, typer.Option("--verbose", "-v", help="Report on success too.")
    ] = False,
    keep_last: Last = 0,
    keep_hourly: Hourly = 0,
    keep_daily: Daily = 0,
    keep_weekly: Weekly = 0,
    keep_monthly: Monthly = 0,
    keep_yearly: Yearly = 0,
    keep_within: Within = None,
) -> None:
    """Take a verified RDB backup into DEST (one file per shard on a cluster), then rotate.
    Silent on success, for cron; exit 1 failed, 3 cannot connect, 75 another run holds the lock.

    \b
    Example (crontab; the password comes from $REDISCLI_AUTH):
      17 * * * * rediscope backup run /var/backups/redis --keep-hourly 24 --keep-daily 7
    """
    policy = _policy(
        keep_last, keep_hourly, keep_daily, keep_weekly, keep_monthly, keep_yearly, keep_within
    )
    policy.validate()
    with run.byte_progress("backup") as progress:
        report = core.run_backup(
            run.spec(),
            dest,
            name=name,
            method=method,
            compression=compress,
            rdb_path=rdb_path,
            policy=policy,
            progress=progress,
        )
    if verbose or run.fmt == "json":
        run.emit(report)
        for note in report.notes:
            run.note(f"note: {note}")


@app.command("list")
@rediscope_command(connection=False, section="backup")
def list_(
    run: Run,
    dest: Dir,
    deep: Annotated[
        bool,
        typer.Option(
            "--verify", help="Re-read every file (sha256 and the RDB checks), as `backup verify`."
        ),
    ] = False,
) -> None:
    """List the backups in DIR: time, age, size, ratio, RDB version, keys, and their state:
    each file checked to be there with its manifest's size (`--verify`: re-read in full).
    A missing or damaged backup is shown as such; with --verify a bad one exits 1.

    \b
    Example:
      rediscope backup list /var/backups/redis --format json
    """
    report = core.list_report(dest, deep=deep)
    run.emit(report)
    for b in report.backups:
        for problem in b.problems:
            run.note(f"{b.state}: {b.base}: {problem}")
    if deep and not report.ok:
        raise typer.Exit(ExitStatus.ERROR)


@app.command("verify")
@rediscope_command(connection=False, section="backup")
def verify(
    run: Run,
    path: Annotated[Path, typer.Argument(help="A backup file or a backup directory.")],
) -> None:
    """Re-check backups: sha256 against the .sha256 file and the RDB checks (magic, version,
    EOF opcode, CRC-64), decompressing as a stream. Exit 1 naming each bad file.

    \b
    Example:
      rediscope backup verify /var/backups/redis
    """
    report = core.verify(path)
    run.emit(report)
    for bad in report.files:
        if not bad.ok:
            run.note(f"error: {bad.file}: {bad.problem}")
    if not report.ok:
        raise typer.Exit(ExitStatus.ERROR)


@app.command("prune")
@rediscope_command(connection=False, section="backup")
def prune(
    run: Run,
    dest: Dir,
    dry_run: Annotated[
        bool,
        typer.Option(
            "--dry-run", help="Show what would be removed and which rule keeps each survivor."
        ),
    ] = False,
    keep_last: Last = 0,
    keep_hourly: Hourly = 0,
    keep_daily: Daily = 0,
    keep_weekly: Weekly = 0,
    keep_monthly: Monthly = 0,
    keep_yearly: Yearly = 0,
    keep_within: Within = None,
) -> None:
    """Remove old backups by retention rules (restic's forget semantics, OR-ed; the newest
    verified backup is never removed; only files this tool made are touched).

    \b
    Example:
      rediscope backup prune /var/backups/redis --keep-daily 7 --keep-weekly 4 --dry-run
    """
    policy = _policy(
        keep_last, keep_hourly, keep_daily, keep_weekly, keep_monthly, keep_yearly, keep_within
    )
    run.emit(core.prune(dest, policy, dry_run=dry_run))
