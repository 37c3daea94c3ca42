"""The `rediscope` application: one sub-app per command, joined here."""

from __future__ import annotations

import importlib
import os
import sys
from typing import Annotated

import typer

from rediscope import __version__
from rediscope.cli._boundary import closed_pipe

#: command name -> (module under rediscope.cli, registered as a group of that name or not)
COMMANDS: dict[str, tuple[str, bool]] = {
    "ping": ("ping", False),
    "health": ("health", False),
    "memory": ("memory", False),
    "bigkeys": ("bigkeys", False),
    "patterns": ("patterns", False),
    "diff": ("diff", False),
    "hotkeys": ("hotkeys", False),
    "audit": ("audit", False),
    "top": ("top", False),
    "clients": ("clients", False),
    "demo": ("demo", False),
    "backup": ("backup", True),
    "capacity": ("capacity", True),
}


def build(names: list[str] | None = None) -> typer.Typer:
    """The application with the commands NAMES (all by default). A run imports only the
    command it runs (about 0.3 s less start-up than importing every command's core)."""
    root = typer.Typer(
        name="rediscope",
        help="Ops and diagnostics toolkit for Redis and Valkey: memory, big keys, key patterns, "
        "hot keys, health, backups and restores, capacity, and a live top, on standalone "
        "servers and clusters.",
        no_args_is_help=True,
        pretty_exceptions_enable=False,
        pretty_exceptions_show_locals=False,
        context_settings={"help_option_names": ["-h", "--help"]},
        rich_markup_mode=None,
        suggest_commands=False,  # click (8.2+) says "Did you mean ...?" itself
    )
    for name in names or list(COMMANDS):
        module, group = COMMANDS[name]
        sub = importlib.import_module(f"rediscope.cli.{module}").app
        if group:
            root.add_typer(sub, name=name)
        else:
            root.add_typer(sub)
    root.callback()(root_options)
    return root


def _version(value: bool) -> None:
    if value:
        typer.echo(f"rediscope {__version__}")
        raise typer.Exit()


def root_options(
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


def _named(argv: list[str]) -> str | None:
    """The command a command line runs, when it names one and asks for nothing else (no
    completion, no root --help): the first word that is not an option."""
    if any(k.endswith("_COMPLETE") for k in os.environ):
        return None
    for arg in argv:
        if not arg.startswith("-"):
            return arg if arg in COMMANDS else None
        if arg in ("-h", "--help"):
            return None
    return None


def __getattr__(name: str) -> typer.Typer:
    """`app`, with every command (what the tests, the docs generator and `--help` use), built
    on first use so that `main()` can build one with only the command it runs."""
    if name != "app":
        raise AttributeError(name)
    full = globals()["app"] = build()
    return full


def main() -> None:
    name = _named(sys.argv[1:])
    try:
        build([name] if name else None)(prog_name="rediscope")
    except BrokenPipeError:  # written outside a command (help, completion)
        closed_pipe()
