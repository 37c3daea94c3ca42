"""`rediscope bigkeys`."""

from __future__ import annotations

from typing import Annotated

import typer

from rediscope.cli._export import ROW_FORMATS, SCAN_FORMATS, Output
from rediscope.cli._options_scan import RdbPaths, Sync, SyncMaxTime
from rediscope.cli.common import Run, rediscope_command
from rediscope.core.bigkeys.command import bigkeys as core_bigkeys
from rediscope.core.units import parse_size
from rediscope.errors import UsageError

app = typer.Typer()


@app.command()
@rediscope_command(scan=True, formats=SCAN_FORMATS)
def bigkeys(
    run: Run,
    top: Annotated[
        int,
        typer.Option(
            "--top", min=1, max=10000, help="How many keys to list, by bytes and per type."
        ),
    ] = 20,
    min_bytes: Annotated[
        str | None,
        typer.Option(
            "--min-bytes",
            help="Threshold: keys of at least this size (10MB, 512KiB). With --format jsonl "
            "or csv: only the rows of such keys (or of keys over --min-elements).",
            show_default=False,
        ),
    ] = None,
    min_elements: Annotated[
        int | None,
        typer.Option(
            "--min-elements",
            min=1,
            help="Threshold: collections with at least N elements.",
            show_default=False,
        ),
    ] = None,
    fail_if_found: Annotated[
        bool,
        typer.Option("--fail-if-found", help="Exit 1 when any key reaches a threshold (for CI)."),
    ] = False,
    rdb: RdbPaths = None,
    sync: Sync = False,
    output: Output = None,
    max_time: SyncMaxTime = None,
) -> None:
    """Find the biggest keys by memory and by element count, on every node, in one pass.

    \b
    Examples:
      rediscope bigkeys --url redis://db1:6379 --top 50
      rediscope bigkeys --min-bytes 10MB --min-elements 100000 --fail-if-found --format json
      rediscope bigkeys --rdb /var/backups/redis     # the newest backup: no load on the server
      rediscope bigkeys --format jsonl -o keys.jsonl  # every key as a row (docs/export.md)
    """
    size = parse_size(min_bytes, "--min-bytes") if min_bytes is not None else None
    run.output = output
    if run.fmt in ROW_FORMATS:
        if fail_if_found:
            raise UsageError("--fail-if-found needs a report: --format table or json")
        run.finish(run.export(rdb, sync, size, min_elements, max_time))
        return
    with run.progress("scanning") as progress:
        report = core_bigkeys(
            run.key_source(rdb, sync, max_time),
            run.scan_options(),
            top=top,
            min_bytes=size,
            min_elements=min_elements,
            progress=progress,
        )
    run.view = {"min_bytes_text": min_bytes}  # the threshold echoed as the user wrote it
    run.finish(report)
    if fail_if_found:
        run.conclude(report.found())
