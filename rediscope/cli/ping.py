"""`rediscope ping`."""

from __future__ import annotations

from typing import Annotated

import typer

from rediscope.cli.common import Run, rediscope_command
from rediscope.core.health.ping import ping as core_ping

app = typer.Typer()


@app.command()
@rediscope_command()
def ping(
    run: Run,
    count: Annotated[
        int, typer.Option("--count", "-c", min=1, max=10000, help="Number of PINGs to time.")
    ] = 3,
) -> None:
    """Check that the target answers: server, version, mode, role and round-trip time.

    \b
    Example (the password comes from $REDISCLI_AUTH):
      rediscope ping --url redis://alice@10.0.0.5:6379/0 --format json
    """
    run.emit(core_ping(run.spec(), count=count))
