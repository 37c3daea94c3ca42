"""`rediscope demo`: a throwaway redis-server with a realistic keyspace, and a tour."""

from __future__ import annotations

from typing import Annotated

import typer

from rediscope.cli.common import Run, rediscope_command
from rediscope.core.demo.keyspace import load_demo
from rediscope.core.demo.served import record_served, stop_served
from rediscope.core.demo.tour import DemoReport, tour
from rediscope.core.localserver import LocalServer
from rediscope.core.target import Node, Target

app = typer.Typer()


@app.command()
@rediscope_command(connection=False)
def demo(
    run: Run,
    scale: Annotated[
        float,
        typer.Option(min=0.01, max=20.0, help="Keyspace size factor (1.0 = about 210k keys)."),
    ] = 1.0,
    serve: Annotated[
        bool,
        typer.Option(
            "--serve", help="Keep the server running afterwards and print how to reach it."
        ),
    ] = False,
    stop: Annotated[
        bool,
        typer.Option("--stop", help="Stop the servers --serve left running and remove their data."),
    ] = False,
) -> None:
    """Start a throwaway redis-server (or valkey-server) on a free loopback port, load a
    realistic keyspace (a dozen key patterns, every core type, TTLs, a few big keys) and tour
    the commands. With --format json the tour is one document (`steps[]`, each step's report
    in its own envelope).

    \b
    Example:
      rediscope demo --serve     # then: export REDISCOPE_URL=... as printed
      rediscope demo --stop      # stops it and removes its data
    """
    if stop:
        for s in stop_served():
            run.note(f"stopped the demo server on port {s.port} (pid {s.pid}), removed {s.dir}")
        return
    server = LocalServer().start()
    try:
        run.note(f"started redis-server (pid {server.pid}) on port {server.port}; loading…")
        stats = load_demo(server.port, scale=scale)
        run.note(f"loaded {stats.keys:,} keys in {stats.patterns} patterns ({stats.seconds:.1f}s)")
        spec = run.spec_for_url(server.url)
        steps = []
        for step in tour(spec):
            if run.fmt == "table":
                run.note(f"$ rediscope {step.step}")
                run.emit(step.report)
            steps.append(step)
        if run.fmt != "table":
            target = Target(spec.redacted_url, "standalone", (Node(spec.address, "primary"),))
            run.emit(DemoReport(target, True, stats.keys, stats.patterns, tuple(steps)))
        if serve:
            record_served(server)
            run.note(f"server left running (pid {server.pid}, data in {server.dir}):")
            typer.echo(f"export REDISCOPE_URL={server.url}")
            run.note("stop it and remove its data with: rediscope demo --stop")
    finally:
        if not serve:
            server.cleanup()
