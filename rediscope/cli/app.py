"""The `rediscope` application: one sub-app per command, joined here."""

from __future__ import annotations

from typing import Annotated

import typer

from rediscope import __version__
from rediscope.cli import (
    audit,
    backup,
    bigkeys,
    capacity,
    demo,
    health,
    hotkeys,
    memory,
    patterns,
    ping,
    top,
)

app = typer.Typer(
    name="rediscope",
    help="Ops and diagnostics toolkit for Redis and Valkey: memory, big keys, key patterns, "
    "hot keys, health, backups and restores, capacity, and a live top, on standalone servers and "
    "clusters.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    pretty_exceptions_show_locals=False,
    context_settings={"help_option_names": ["-h", "--help"]},
    rich_markup_mode=None,
    suggest_commands=False,  # click (8.2+) says "Did you mean ...?" itself
)

for sub in (
    ping.app,
    health.app,
    memory.app,
    bigkeys.app,
    patterns.app,
    hotkeys.app,
    audit.app,
    top.app,
    demo.app,
):
    app.add_typer(sub)
app.add_typer(backup.app, name="backup")
app.add_typer(capacity.app, name="capacity")


def _version(value: bool) -> None:
    if value:
        typer.echo(f"rediscope {__version__}")
        raise typer.Exit()


@app.callback()
def root(
    ctx: typer.Context,
    version: Annotated[
        bool,
        typer.Option(
            "--version", "-V", callback=_version, is_eager=True, help="Print the version and exit."
        ),
    ] = False,
    show_traceback: Annotated[
        bool,
        typer.Option(
            "--traceback", help="Show the Python traceback of a failure (for bug reports)."
        ),
    ] = False,
) -> None:
    """rediscope: ops and diagnostics for Redis and Valkey."""
    ctx.obj = {"traceback": show_traceback}


def main() -> None:
    app(prog_name="rediscope")
