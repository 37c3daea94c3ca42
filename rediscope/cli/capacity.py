"""`rediscope capacity record | report`."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from rediscope.cli._options_scan import SEPARATORS, RdbPaths
from rediscope.cli.common import Run, rediscope_command
from rediscope.core.capacity import command as core
from rediscope.core.capacity.analyze import record_with_patterns
from rediscope.core.capacity.bypattern import report_by_pattern
from rediscope.core.capacity.history import default_history_path
from rediscope.core.units import parse_duration
from rediscope.errors import UsageError
from rediscope.exitcodes import ExitStatus

app = typer.Typer(
    name="capacity",
    no_args_is_help=True,
    suggest_commands=False,  # click (8.2+) says "Did you mean ...?" itself
    help="How fast it grows and when it fills up: record samples from cron, "
    "report growth and time-to-full.\n\n"
    "Example: rediscope capacity report --fail-within 14d",
)

History = Annotated[
    Path | None,
    typer.Option(
        "--history",
        help="SQLite history (default $XDG_STATE_HOME/rediscope/history.sqlite).",
        show_default=False,
    ),
]


@app.command("record")
@rediscope_command(section="capacity")
def record(
    run: Run,
    history: History = None,
    patterns: Annotated[
        bool,
        typer.Option(
            "--patterns",
            help="Also store the keyspace's top 200 key patterns by bytes (scanned as "
            "`patterns --memory` does, or read from --rdb) for `report --by-pattern`.",
        ),
    ] = False,
    rdb: RdbPaths = None,
    separators: Annotated[str, SEPARATORS] = ":",
) -> None:
    """Take one sample of INFO (every node of a cluster) into the local history. Quiet on
    success; --format json prints the sample.

    \b
    Examples (crontab):
      */5 * * * * rediscope capacity record --url redis://db1:6379
      17 3 * * * rediscope capacity record --patterns --rdb /var/backups/redis
    """
    if (rdb or separators != ":") and not patterns:
        raise UsageError("--rdb and --separators are for --patterns")
    path = history or default_history_path()
    report = (
        record_with_patterns(run.spec(), path, rdb, separators)
        if patterns
        else core.record(run.spec(), path)
    )
    if run.fmt == "json":
        run.emit(report)
    run.conclude(report.outcome())


@app.command("report")
@rediscope_command(section="capacity", formats=("table", "json", "prometheus"))
def report(
    run: Run,
    history: History = None,
    since: Annotated[
        str | None,
        typer.Option(
            "--since", help="Only samples this recent (e.g. 7d; default: all).", show_default=False
        ),
    ] = None,
    horizon: Annotated[
        str,
        typer.Option(
            "--horizon", help="Recommend when the projection reaches the limit within this."
        ),
    ] = "30d",
    fail_within: Annotated[
        str | None,
        typer.Option(
            "--fail-within",
            help="Exit 1 when the projection reaches the limit within this "
            "(e.g. 14d), for monitoring and CI.",
            show_default=False,
        ),
    ] = None,
    strict: Annotated[
        bool,
        typer.Option(
            "--strict",
            help="With --fail-within: exit 1 when there is no projection (fewer than 3 samples).",
        ),
    ] = False,
    target: Annotated[
        str | None,
        typer.Option(
            "--target",
            help="A target as `record` stored it (redacted URL, e.g. redis://db1:6379/0): read "
            "its history without connecting to it.",
            show_default=False,
        ),
    ] = None,
    by_pattern: Annotated[
        bool,
        typer.Option(
            "--by-pattern",
            help="Also the growth per key pattern over the analyzed snapshots (backup run "
            "--analyze, record --patterns): rate, fit, share of the growth, what drives it.",
        ),
    ] = False,
) -> None:
    """Growth of used_memory per day (least squares, as predict_linear), r², days until the
    limit, per node and in total, with a chart and recommendations.

    \b
    Examples:
      rediscope capacity report --since 7d
      rediscope capacity report --fail-within 14d --format json
      rediscope capacity report --by-pattern --since 30d
    """
    fail_s = parse_duration(fail_within, "--fail-within") if fail_within else None
    result = (report_by_pattern if by_pattern else core.report)(
        run.spec(),
        history or default_history_path(),
        since_s=parse_duration(since, "--since") if since else None,
        horizon_days=parse_duration(horizon, "--horizon") / 86400,
        target_url=target,
    )
    run.emit(result)
    if fail_s is not None:
        fails, why = result.gate(fail_s, strict)
        if why:
            run.note(f"{why} (--fail-within {fail_within})" if fails and result.projection else why)
        if fails:
            raise typer.Exit(ExitStatus.ERROR)
