"""`rediscope memory`."""

from __future__ import annotations

from typing import Annotated

import typer

from rediscope.cli._export import ROW_FORMATS, SCAN_FORMATS, Output, check_row_options
from rediscope.cli._options_scan import RULES, SEPARATORS, RdbPaths, Sync, SyncMaxTime
from rediscope.cli.common import Run, rediscope_command
from rediscope.core.memory.command import memory as core_memory
from rediscope.core.patterns.inference import load_rules
from rediscope.core.units import parse_size

app = typer.Typer()


@app.command()
@rediscope_command(scan=True, formats=SCAN_FORMATS)
def memory(
    run: Run,
    separators: Annotated[str, SEPARATORS] = ":",
    rules: Annotated[str | None, RULES] = None,
    top: Annotated[
        int, typer.Option("--top", min=1, max=10000, help="Top keys by bytes to list.")
    ] = 20,
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
    """Where does the memory go? Totals, by type, encoding, db, pattern and node, top keys,
    and recommendations with the evidence behind each.

    \b
    Examples:
      rediscope memory --url redis://db1:6379
      rediscope memory --sample 20000 --format json     # a huge keyspace: estimated, with a CI
      rediscope memory --rdb /var/backups/redis         # from the newest backup (docs/offline.md)
      rediscope memory --url redis://db1:6379 --sync    # the replication stream: one fork
      rediscope memory --format html -o memory.html     # a page to share (docs/html.md)
      rediscope memory --format csv --min-bytes 1MB     # every key over 1 MB as a row
    """
    check_row_options(run.fmt, min_bytes=min_bytes)
    run.output = output
    if run.fmt in ROW_FORMATS:
        size = parse_size(min_bytes, "--min-bytes") if min_bytes is not None else None
        run.finish(run.export(rdb, sync, size, max_time=max_time))
        return
    rule_list = tuple(load_rules(rules)) if rules else ()
    run.view = {"separators": separators}  # the HTML treemap nests patterns by them
    with run.progress("scanning") as progress:
        report = core_memory(
            run.key_source(rdb, sync, max_time),
            run.scan_options(),
            separators=separators,
            rules=rule_list,
            top=top,
            progress=progress,
        )
    run.finish(report)
