"""`rediscope diff`."""

from __future__ import annotations

from typing import Annotated

import click
import typer

from rediscope.cli._options_scan import RULES, SEPARATORS
from rediscope.cli.common import Run, rediscope_command
from rediscope.core.diff.command import Gates
from rediscope.core.diff.command import diff as core_diff
from rediscope.core.diff.read import Inference
from rediscope.core.diff.report import SORTS
from rediscope.core.patterns.inference import load_rules

app = typer.Typer()

SIDE_HELP = (
    "An RDB file (.rdb, .rdb.gz, .rdb.zst), a backup directory (its newest backup), a backup "
    "(DIR/BASE), - (stdin), a saved memory or patterns --format json report, or live."
)


@app.command()
@rediscope_command(scan=True)
def diff(
    run: Run,
    old: Annotated[str, typer.Argument(help="The earlier side. " + SIDE_HELP, show_default=False)],
    new: Annotated[
        str | None,
        typer.Argument(help="The later side (default: live, the target). " + SIDE_HELP),
    ] = None,
    separators: Annotated[str, SEPARATORS] = ":",
    rules: Annotated[str | None, RULES] = None,
    sort: Annotated[
        str,
        typer.Option(
            "--sort", help="Order of the pattern rows.", click_type=click.Choice(list(SORTS))
        ),
    ] = "bytes-added",
    top: Annotated[
        int, typer.Option("--top", min=1, help="Patterns shown in the table (JSON has all).")
    ] = 30,
    fail_if_grown: Annotated[
        float | None,
        typer.Option(
            "--fail-if-grown",
            metavar="PCT",
            min=0,
            help="Exit 1 when the total bytes grew by more than PCT percent.",
            show_default=False,
        ),
    ] = None,
    fail_if_pattern_grown: Annotated[
        float | None,
        typer.Option(
            "--fail-if-pattern-grown",
            metavar="PCT",
            min=0,
            help="Exit 1 when a pattern's bytes grew by more than PCT percent (new patterns "
            "have no growth in percent and do not trip it).",
            show_default=False,
        ),
    ] = None,
) -> None:
    """What changed between two snapshots: per key pattern, keys and bytes on each side, the
    deltas and growth per day; new and vanished patterns; per type and db; the keys that grew
    most. Sides are read one after the other in bounded memory.

    OLD and NEW are each an RDB file (.rdb, .rdb.gz, .rdb.zst), a backup directory (its newest
    backup), a backup (DIR/BASE), - (stdin), a saved memory or patterns --format json report,
    or live: the target of the connection options (NEW's default; one side at most).

    \b
    Examples:
      rediscope diff /var/backups/redis/db1-20260101T000000Z /var/backups/redis
      rediscope diff /var/backups/redis --url redis://db1:6379     # newest backup vs live
      rediscope diff monday.json today.json --sort growth          # saved memory reports
      rediscope diff old.rdb new.rdb --fail-if-grown 20 --format json
    """
    run.view = {"top": top}
    with run.progress("reading") as progress:
        report = core_diff(
            old,
            new,
            run.scan_options(),
            live=run.spec,
            how=Inference(separators, tuple(load_rules(rules)) if rules else ()),
            sort=sort,
            gates=Gates(fail_if_grown, fail_if_pattern_grown),
            progress=progress,
        )
    run.finish(report)
