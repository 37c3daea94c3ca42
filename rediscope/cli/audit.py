"""`rediscope audit`."""

from __future__ import annotations

from typing import Annotated

import click
import typer

from rediscope.cli._export import Output
from rediscope.cli._options_scan import RULES, SEPARATORS, RdbPaths, Sync, SyncMaxTime
from rediscope.cli.common import Run, rediscope_command
from rediscope.core.audit import audit as core_audit
from rediscope.core.patterns.inference import load_rules

app = typer.Typer()


@app.command()
@rediscope_command(scan=True, formats=("table", "json", "html"))
def audit(
    run: Run,
    separators: Annotated[str, SEPARATORS] = ":",
    rules: Annotated[str | None, RULES] = None,
    idle_days: Annotated[
        float,
        typer.Option("--idle-days", min=0, help="idle_without_ttl: keys untouched this long."),
    ] = 30.0,
    fail_on: Annotated[
        str | None,
        typer.Option(
            "--fail-on",
            click_type=click.Choice(["info", "warning", "critical"]),
            help="Exit 1 when a finding of this severity or worse is found (a CI gate).",
            show_default=False,
        ),
    ] = None,
    rdb: RdbPaths = None,
    sync: Sync = False,
    output: Output = None,
    max_time: SyncMaxTime = None,
) -> None:
    """Find the caching-pattern mistakes that cause outages: keys that should expire and do
    not, TTLs that expire together (stampedes), locks without a lease, unbounded counters and
    rate-limit windows, queue backlogs, big JSON strings, an eviction policy that does not fit.
    Each finding names the pattern, the evidence, example keys and the fix.

    \b
    Examples:
      rediscope audit --url redis://db1:6379
      rediscope audit --rdb /var/backups/redis --format json      # from a backup
      rediscope audit --fail-on critical                          # a CI gate
      rediscope audit --format html -o audit.html                 # a page to share
    """
    run.output = output
    rule_list = tuple(load_rules(rules)) if rules else ()
    with run.progress("audit") as progress:
        report = core_audit(
            run.key_source(rdb, sync, max_time),
            run.scan_options(),
            separators=separators,
            rules=rule_list,
            idle_days=idle_days,
            fail_on=fail_on,
            progress=progress,
        )
    run.finish(report)
