"""`rediscope health`."""

from __future__ import annotations

from typing import Annotated

import click
import typer

from rediscope.cli.common import Run, UsageExit3Command, rediscope_command
from rediscope.core.health import (
    ALL_CHECKS,
    HealthOptions,
    load_thresholds_file,
    parse_thresholds,
)
from rediscope.core.health import health as core_health
from rediscope.core.units import parse_duration
from rediscope.exitcodes import HealthExit

app = typer.Typer()


def _names(value: str | None) -> tuple[str, ...]:
    return tuple(n.strip() for n in value.split(",") if n.strip()) if value else ()


@app.command(cls=UsageExit3Command)
@rediscope_command(
    formats=("table", "json", "nagios", "prometheus"),
    usage_exit=HealthExit.UNKNOWN,
    error_exit=HealthExit.UNKNOWN,
)
def health(
    run: Run,
    checks: Annotated[
        str | None,
        typer.Option(
            "--checks",
            help=f"Only these checks (comma-separated): {', '.join(ALL_CHECKS)}.",
            show_default=False,
        ),
    ] = None,
    skip: Annotated[
        str | None, typer.Option("--skip", help="Checks to leave out.", show_default=False)
    ] = None,
    warn: Annotated[
        list[str] | None,
        typer.Option(
            "--warn",
            help="Warning threshold, CHECK=VALUE (repeatable), e.g. memory=75.",
            show_default=False,
        ),
    ] = None,
    crit: Annotated[
        list[str] | None,
        typer.Option(
            "--crit", help="Critical threshold, CHECK=VALUE (repeatable).", show_default=False
        ),
    ] = None,
    thresholds: Annotated[
        str | None,
        typer.Option(
            "--thresholds",
            help="YAML file {warn: {check: value}, crit: {check: value}}.",
            show_default=False,
        ),
    ] = None,
    window: Annotated[
        str,
        typer.Option(
            "--window", help="Sample INFO twice this far apart to measure rates (0: once)."
        ),
    ] = "5s",
    pings: Annotated[
        int, typer.Option("--pings", min=1, max=1000, help="PINGs timed for the latency check.")
    ] = 5,
    expect_replicas: Annotated[
        int | None,
        typer.Option(
            "--expect-replicas", min=0, help="Replicas a primary must have.", show_default=False
        ),
    ] = None,
    expect_nodes: Annotated[
        int | None,
        typer.Option(
            "--expect-nodes", min=1, help="Nodes a cluster must know.", show_default=False
        ),
    ] = None,
    slowlog_window: Annotated[
        str,
        typer.Option(
            "--slowlog-window", help="How far back slowlog (and COMMANDLOG) entries count."
        ),
    ] = "15m",
    backup_dir: Annotated[
        str | None,
        typer.Option(
            "--backup-dir",
            help="Check the age of the newest verified backup here.",
            show_default=False,
        ),
    ] = None,
    fail_on: Annotated[
        str,
        typer.Option(
            "--fail-on",
            click_type=click.Choice(["warning", "critical"]),
            help="Lowest status with a non-zero exit: warning (the plugin convention) or "
            "critical (warnings exit 0).",
        ),
    ] = "warning",
) -> None:
    """Is this deployment healthy? Checks with thresholds; exit 0 OK, 1 WARNING, 2 CRITICAL,
    3 UNKNOWN (the monitoring-plugin convention), for CI gates and monitoring.

    \b
    Examples:
      rediscope health --url redis://db1:6379
      rediscope health --warn memory=70 --crit memory=85 --format nagios
      rediscope health --expect-replicas 2 --fail-on critical --format json
      rediscope health --format prometheus > /var/lib/node_exporter/rediscope.prom
    """
    file_warn, file_crit = load_thresholds_file(thresholds) if thresholds else ({}, {})
    opts = HealthOptions(
        checks=_names(checks),
        skip=_names(skip),
        warn={**file_warn, **parse_thresholds(warn or [], "--warn")},
        crit={**file_crit, **parse_thresholds(crit or [], "--crit")},
        window=parse_duration(window, "--window"),
        pings=pings,
        expect_replicas=expect_replicas,
        expect_nodes=expect_nodes,
        slowlog_window=parse_duration(slowlog_window, "--slowlog-window"),
        backup_dir=backup_dir,
        fail_on=fail_on,
    )
    wait = run.countdown(f"sampling INFO again after the {opts.window:g} s window (rates)")
    report = core_health(run.spec(follow_sentinel=False), opts, sleep=wait)
    run.finish(report)
