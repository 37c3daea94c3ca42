"""`rediscope memory`."""

from __future__ import annotations

from typing import Annotated

import typer

from rediscope.cli._options_scan import RULES, SEPARATORS, RdbPaths, Sync, SyncMaxTime
from rediscope.cli.common import Run, rediscope_command
from rediscope.core.memory.command import memory as core_memory
from rediscope.core.patterns.inference import load_rules

app = typer.Typer()


@app.command()
@rediscope_command(scan=True)
def memory(
    run: Run,
    separators: Annotated[str, SEPARATORS] = ":",
    rules: Annotated[str | None, RULES] = None,
    top: Annotated[
        int, typer.Option("--top", min=1, max=10000, help="Top keys by bytes to list.")
    ] = 20,
    rdb: RdbPaths = None,
    sync: Sync = False,
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
    """
    rule_list = tuple(load_rules(rules)) if rules else ()
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
