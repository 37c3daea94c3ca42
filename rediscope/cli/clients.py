"""`rediscope clients`."""

from __future__ import annotations

import sys
from typing import Annotated

import click
import typer

from rediscope.cli._options_connection import Duration
from rediscope.cli.common import Run, rediscope_command
from rediscope.core.clients import GROUP_BY, ClientRow, ClientsOptions
from rediscope.core.clients import clients as core_clients
from rediscope.core.units import parse_size
from rediscope.render.clients_tables import client_jsonl

app = typer.Typer()


def _jsonl(row: ClientRow) -> None:
    sys.stdout.write(client_jsonl(row) + "\n")


@app.command()
@rediscope_command(formats=("table", "json", "jsonl"))
def clients(
    run: Run,
    by: Annotated[
        str,
        typer.Option(
            "--by", click_type=click.Choice(list(GROUP_BY)), help="Group the connections by."
        ),
    ] = "name",
    window: Annotated[
        float,
        typer.Option(
            "--window",
            click_type=Duration(0, 86400),
            help="Sample INFO twice this far apart for the churn, new connections per second "
            "(5, 10s, 2m; 0: one sample, no churn).",
        ),
    ] = 5.0,
    idle: Annotated[
        float,
        typer.Option(
            "--idle",
            click_type=Duration(0),
            help="Name connections idle this long (30m, 1h): a leaking pool.",
        ),
    ] = 3600.0,
    omem: Annotated[
        str,
        typer.Option("--omem", help="Name clients whose output buffer is this big."),
    ] = "1MiB",
    qbuf: Annotated[
        str,
        typer.Option("--qbuf", help="Name clients whose query buffer is this big."),
    ] = "1MiB",
    top: Annotated[
        int, typer.Option("--top", min=1, max=10_000, help="Groups (and culprits per kind) shown.")
    ] = 20,
    fail_if: Annotated[
        list[str] | None,
        typer.Option(
            "--fail-if",
            help="Exit 1 when any node passes METRIC>VALUE (repeatable): connections (a count, "
            "or N% of maxclients), omem, qbuf, tot-mem, churn (per s), rejected, blocked.",
            show_default=False,
        ),
    ] = None,
) -> None:
    """Who holds the connections (every node of a cluster, primaries and replicas), which
    of them hurt (slow readers, big query buffers, MONITOR, idle pools), and the connection
    churn, from CLIENT LIST and INFO. --format jsonl: one row per client.

    \b
    Examples:
      rediscope clients --url redis://db1:6379
      rediscope clients --by addr --idle 30m
      rediscope clients --fail-if omem>64MB --fail-if 'connections>80%' --format json
      rediscope clients --window 0 --format jsonl | jq 'select(.omem > 0)'
    """
    opts = ClientsOptions(
        by=by,  # type: ignore[arg-type]  # one of GROUP_BY (click checked it)
        window=window,
        idle=idle,
        omem=parse_size(omem, "--omem"),
        qbuf=parse_size(qbuf, "--qbuf"),
        top=top,
        gates=tuple(fail_if or ()),
    )
    wait = run.countdown(f"sampling INFO again after the {opts.window:g} s window (churn)")
    sink = _jsonl if run.fmt == "jsonl" else None
    report = core_clients(run.spec(), opts, sleep=wait, sink=sink)
    if sink is None:
        run.finish(report)
        return
    for text in report.notes:
        run.note(f"note: {text}")
    run.conclude(report.outcome())
