"""`rediscope demo`: a throwaway redis-server with a realistic keyspace, and a tour."""

from __future__ import annotations

import time
from typing import Annotated

import typer

from rediscope.cli.common import Run, rediscope_command
from rediscope.core.demo import load_demo
from rediscope.core.localserver import LocalServer
from rediscope.core.tour import TOUR

app = typer.Typer()


@app.command()
@rediscope_command(connection=False)
def demo(
    run: Run,
    scale: Annotated[
        float,
        typer.Option(min=0.01, max=20.0, help="Keyspace size factor (1.0 = about 240k keys)."),
    ] = 1.0,
    serve: Annotated[
        bool,
        typer.Option(
            "--serve", help="Keep the server running afterwards and print how to reach and stop it."
        ),
    ] = False,
) -> None:
    """Start a throwaway redis-server on a free loopback port, load a realistic keyspace
    (a dozen key patterns, every core type, TTLs, a few big keys) and tour the commands.

    \b
    Example:
      rediscope demo --serve     # then: export REDISCOPE_URL=... as printed
    """
    server = LocalServer().start()
    try:
        start = time.monotonic()
        run.note(f"started redis-server (pid {server.pid}) on port {server.port}; loading…")
        stats = load_demo(server.port, scale=scale)
        run.note(
            f"loaded {stats.keys:,} keys in {stats.patterns} patterns "
            f"({time.monotonic() - start:.1f}s)"
        )
        spec = run.spec_for_url(server.url)
        for title, step in TOUR:
            run.note(f"$ rediscope {title}")
            run.emit(step(spec))
        if serve:
            run.note(f"server left running (pid {server.pid}, data in {server.dir}):")
            typer.echo(f"export REDISCOPE_URL={server.url}")
            run.note(f"stop it with: kill {server.pid}")
    finally:
        if not serve:
            server.cleanup()
