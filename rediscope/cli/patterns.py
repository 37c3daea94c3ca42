"""`rediscope patterns`."""

from __future__ import annotations

from typing import Annotated

import click
import typer

from rediscope.cli._export import ROW_FORMATS, SCAN_FORMATS, Output, check_row_options
from rediscope.cli._options_scan import RULES, SEPARATORS, RdbPaths, Sync, SyncMaxTime
from rediscope.cli.common import Run, rediscope_command
from rediscope.core.patterns.command import patterns as core_patterns
from rediscope.core.patterns.inference import load_rules
from rediscope.core.units import parse_size

app = typer.Typer()


@app.command()
@rediscope_command(scan=True, formats=SCAN_FORMATS)
def patterns(
    run: Run,
    separators: Annotated[str, SEPARATORS] = ":",
    rules: Annotated[str | None, RULES] = None,
    memory: Annotated[
        bool,
        typer.Option(
            "--memory",
            help="Also measure each key's bytes (MEMORY USAGE) and length: bytes per pattern "
            "and their p50/p90/p99/max (from --rdb or --sync always: the records carry them).",
        ),
    ] = False,
    sort: Annotated[
        str,
        typer.Option(
            "--sort",
            help="Sort by keys or bytes (bytes implies --memory).",
            click_type=click.Choice(["keys", "bytes"]),
        ),
    ] = "keys",
    tree: Annotated[
        bool, typer.Option("--tree", help="Show the namespace hierarchy with totals at each level.")
    ] = False,
    top: Annotated[
        int, typer.Option("--top", min=1, help="Patterns shown in the table (JSON has all).")
    ] = 50,
    no_idle: Annotated[
        bool,
        typer.Option(
            "--no-idle", help="Skip idle times / LFU frequencies (OBJECT IDLETIME / FREQ)."
        ),
    ] = False,
    min_bytes: Annotated[
        str | None,
        typer.Option(
            "--min-bytes",
            help="With --format jsonl or csv: only the rows of keys of at least this size "
            "(10MB, 512KiB).",
            show_default=False,
        ),
    ] = None,
    rdb: RdbPaths = None,
    sync: Sync = False,
    output: Output = None,
    max_time: SyncMaxTime = None,
) -> None:
    """The shape of the keyspace: key patterns with counts, types, TTL coverage and idle times.

    \b
    Examples:
      rediscope patterns --url redis://db1:6379
      rediscope patterns --memory --sort bytes --tree
      rediscope patterns --separators ':/|#' --rules my-patterns.yaml --format json
      rediscope patterns --rdb dump.rdb.gz             # from an RDB file (docs/offline.md)
      rediscope patterns --format jsonl --match 'user:*' # the keys as rows (docs/export.md)
      rediscope patterns --memory --format html -o patterns.html   # a treemap (docs/html.md)
    """
    check_row_options(run.fmt, min_bytes=min_bytes)
    run.output = output
    rule_list = tuple(load_rules(rules)) if rules else ()
    if run.fmt in ROW_FORMATS:
        size = parse_size(min_bytes, "--min-bytes") if min_bytes is not None else None
        run.finish(run.export(rdb, sync, size, max_time=max_time, patterns=(separators, rule_list)))
        return
    run.view = {"tree": tree, "top": top}
    with run.progress("scanning") as progress:
        report = core_patterns(
            run.key_source(rdb, sync, max_time),
            run.scan_options(),
            separators=separators,
            rules=rule_list,
            memory=memory or sort == "bytes",
            sort=sort,
            idle=not no_idle,
            progress=progress,
        )
    run.finish(report)
