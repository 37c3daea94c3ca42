"""`rediscope backup run | list | verify | prune`."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import click
import typer

from rediscope.cli.common import Run, rediscope_command
from rediscope.cli.restore import restore_command
from rediscope.core import backup as core
from rediscope.core.capacity.analyze import analyze_backup
from rediscope.errors import UsageError

app = typer.Typer(
    name="backup",
    no_args_is_help=True,
    suggest_commands=False,  # click (8.2+) says "Did you mean ...?" itself
    help="Verified, rotated RDB backups for cron: run, list, verify, prune, restore.\n\n"
    "Example: rediscope backup run /var/backups/redis --keep-daily 7",
)

Dir = Annotated[Path, typer.Argument(help="The backup directory.", file_okay=False)]


@app.command("run")
@rediscope_command(section="backup", retention=True, db="refuse")
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
    max_time: Annotated[
        float | None,
        typer.Option(
            "--max-time",
            min=1,
            help="Give up when taking the RDB (the whole SYNC, or BGSAVE and its copy) takes "
            "longer than SECONDS (--timeout is the most SYNC waits without RDB bytes; keepalive "
            "newlines do not count).",
            show_default=False,
        ),
    ] = None,
    verbose: Annotated[
        bool, typer.Option("--verbose", "-v", help="Report on success too.")
    ] = False,
    analyze: Annotated[
        bool,
        typer.Option(
            "--analyze",
            help="Then read the backup offline (no load on the server) and store its top 200 "
            "key patterns by bytes in the capacity history, beside an INFO sample, for "
            "`capacity report --by-pattern`.",
        ),
    ] = False,
    history: Annotated[
        Path | None,
        typer.Option(
            "--history",
            help="With --analyze: the capacity history (default "
            "$XDG_STATE_HOME/rediscope/history.sqlite).",
            show_default=False,
        ),
    ] = None,
) -> None:
    """Take a verified RDB backup into DEST (one file per shard on a cluster), then rotate.
    Silent on success, for cron; exit 1 failed, 3 cannot connect, 75 another run holds the lock.

    \b
    Example (crontab; the password comes from $REDISCLI_AUTH):
      17 * * * * rediscope backup run /var/backups/redis --keep-hourly 24 --keep-daily 7
      17 3 * * * rediscope backup run /var/backups/redis --keep-daily 30 --analyze
    """
    if history is not None and not analyze:
        raise UsageError("--history is for --analyze")
    policy = run.retention()
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
            max_time=max_time,
        )
    if verbose or run.fmt == "json":
        run.emit(report)
        for note in report.notes:
            run.note(f"note: {note}")
    if analyze:  # the backup is written and verified: read it for the capacity history
        analyzed = analyze_backup(run.spec(), dest, report.manifest, history)
        for note in analyzed.notes:
            run.note(f"note: {note}")
        if verbose:
            run.note(f"analyzed: {len(analyzed.sample.rows)} pattern rows into {analyzed.history}")


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
    each file there with its manifest's size and read in full for its sha256 (against the
    manifest's and its .sha256; `--verify` adds the RDB structure and CRC-64 checks).
    A missing, damaged or future-dated backup is shown as such, and files without a manifest
    as ORPHAN; with --verify a bad one exits 1.

    \b
    Example:
      rediscope backup list /var/backups/redis --format json
    """
    report = core.list_report(dest, deep=deep)
    run.emit(report)
    for b in report.backups:
        for problem in b.problems:
            run.note(f"{b.state}: {b.base}: {problem}")
    for orphan in report.orphans:
        run.note(f"orphan: {orphan.file}: {orphan.reason}")
    run.conclude(report.outcome())


@app.command("verify")
@rediscope_command(connection=False, section="backup")
def verify(
    run: Run,
    path: Annotated[Path, typer.Argument(help="A backup file or a backup directory.")],
    deep: Annotated[
        bool,
        typer.Option(
            "--deep",
            help="Also parse every record with the RDB reader (catches damage inside a value "
            "in a file written with checksums off) and count keys per db and type.",
        ),
    ] = False,
    load: Annotated[
        bool,
        typer.Option(
            "--load",
            help="The restore drill: load each file into a throwaway redis-server (from PATH) "
            "and compare its keys per db with the manifest (with --deep: the file's own count).",
        ),
    ] = False,
    server_bin: Annotated[
        str | None,
        typer.Option(
            "--server-bin",
            help="With --load: the redis-server program to load with.",
            show_default=False,
        ),
    ] = None,
) -> None:
    """Re-check backups: sha256 against the .sha256 file and the RDB checks (magic, version,
    EOF opcode, CRC-64), decompressing as a stream; each result says which checks ran. Exit 1
    naming each bad file, or when there was nothing to verify; files without a manifest are
    shown as ORPHAN. --load proves a backup restores: a throwaway server (unix socket only,
    random password) loads a copy of each file (it needs memory for the dataset), then is
    stopped; a file that does not load, or loads other key counts, is BAD; a loader older than
    the backup exits 2.

    \b
    Examples:
      rediscope backup verify /var/backups/redis
      17 4 * * * rediscope backup verify /var/backups/redis --load --deep   # daily drill
    """
    if server_bin is not None and not load:
        raise UsageError("--server-bin is for --load")
    report = core.verify(path, deep=deep, load=load, server_bin=server_bin)
    run.finish(report)


@app.command("prune")
@rediscope_command(connection=False, section="backup", retention=True)
def prune(
    run: Run,
    dest: Dir,
    dry_run: Annotated[
        bool,
        typer.Option(
            "--dry-run",
            help="Show what would be removed and why, and which rule keeps each survivor.",
        ),
    ] = False,
    orphans: Annotated[
        bool,
        typer.Option(
            "--orphans",
            help="Also remove orphans: backup files without a manifest (left by a crash or an "
            "older version), as `backup list` shows them.",
        ),
    ] = False,
) -> None:
    """Remove old backups by retention rules, per target (restic's forget semantics, OR-ed,
    over the intact backups only; the newest intact backup of each target is never removed;
    only files this tool made are touched).

    \b
    Example:
      rediscope backup prune /var/backups/redis --keep-daily 7 --keep-weekly 4 --dry-run
    """
    report = core.prune(dest, run.retention(), dry_run=dry_run, orphans=orphans)
    run.emit(report)
    for orphan in report.orphans:
        if orphan.file not in report.removed_orphans:
            run.note(f"orphan: {orphan.file}: {orphan.reason}")


app.command("restore")(restore_command)
