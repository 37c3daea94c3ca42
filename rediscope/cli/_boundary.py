"""The one error boundary: `rediscope_command` adds the shared options to a command and turns domain errors into one line and an exit code."""

from __future__ import annotations

import functools
import inspect
import os
import sys
import traceback
from collections.abc import Callable, Sequence
from typing import Any, NoReturn, TypeVar

import click
import typer
from click.core import ParameterSource

from rediscope.cli._options_connection import CONFIG_PARAMS, CONN_NAMES, connection_params
from rediscope.cli._options_retention import RETENTION_NAMES, RETENTION_PARAMS
from rediscope.cli._options_scan import SCAN_NAMES, SCAN_PARAMS, format_params
from rediscope.cli._run import Run
from rediscope.core.config import Profile, find_profile
from rediscope.core.connection import ConnectionOptions
from rediscope.errors import Interrupted, RediscopeError, UsageError
from rediscope.exitcodes import ExitStatus

F = TypeVar("F", bound=Callable[..., Any])


def fail(message: str, hint: str | None, code: int) -> typer.Exit:
    line = f"rediscope: error: {message}"
    if hint:
        line += f" — {hint}"
    # one line, never markup: the message may hold key names or server text
    sys.stderr.write(line.replace("\n", " ") + "\n")
    sys.stderr.flush()
    return typer.Exit(code)


def want_traceback() -> bool:
    ctx = click.get_current_context(silent=True)
    root = ctx.find_root() if ctx else None
    return bool(root and root.obj and root.obj.get("traceback"))


def apply_profile_defaults(
    ctx: click.Context,
    profile: Profile,
    command: str,
    kwargs: dict[str, Any],
    shared: bool = False,
) -> None:
    """Per-command defaults from the profile fill options the user did not give."""
    defaults = profile.commands.get(command, {})
    by_name = {p.name: p for p in ctx.command.params}
    for key, value in defaults.items():
        name = str(key).replace("-", "_")
        if name == "format":
            name = "fmt"
        param = by_name.get(name)
        if param is None and shared:
            continue  # a section shared by subcommands: this one lacks the option
        if param is None or name in CONN_NAMES:
            raise UsageError(f"{profile.where(command, str(key))}: {command} has no option {key!r}")
        if ctx.get_parameter_source(name) in (ParameterSource.DEFAULT, None):
            try:
                kwargs[name] = param.type_cast_value(ctx, value)
            except click.BadParameter as exc:
                raise UsageError(f"{profile.where(command, str(key))}: {exc.message}") from None


def rediscope_command(
    connection: bool = True,
    scan: bool = False,
    retention: bool = False,
    formats: Sequence[str] = ("table", "json"),
    usage_exit: int = ExitStatus.USAGE,
    error_exit: int = ExitStatus.ERROR,
    section: str | None = None,
    db: str = "target",
) -> Callable[[F], F]:
    """Add the shared options and the error boundary to a command function taking `run`.
    DB says what -n/--db is to the command: "target" (the target's db), "from-db" (the
    backup's db: restore) or "refuse" (a command that reads every db refuses it)."""

    def decorate(func: F) -> F:
        sig = inspect.signature(func, eval_str=True)
        own = [p for p in sig.parameters.values() if p.name != "run"]
        extra = (RETENTION_PARAMS if retention else []) + format_params(formats)
        if scan:
            extra += SCAN_PARAMS
        if connection:
            extra += connection_params(db)
        extra += CONFIG_PARAMS
        added = [
            inspect.Parameter(name, inspect.Parameter.KEYWORD_ONLY, default=default, annotation=ann)
            for name, ann, default in extra
        ]
        own = [p.replace(kind=inspect.Parameter.KEYWORD_ONLY) for p in own]
        command = section or func.__name__.rstrip("_").replace("_", "-")

        @functools.wraps(func)
        def wrapper(**kwargs: Any) -> Any:
            ctx = click.get_current_context()
            profile_name = kwargs.pop("profile") or os.environ.get("REDISCOPE_PROFILE")
            config = kwargs.pop("config")
            try:
                try:
                    profile = find_profile(config, profile_name)
                    if profile is not None:
                        apply_profile_defaults(
                            ctx, profile, command, kwargs, shared=section is not None
                        )
                    conn_values = _connection_values(kwargs, db, command) if connection else None
                    askpass = bool(conn_values.pop("askpass")) if conn_values else False
                    scan_values = {n: kwargs.pop(n) for n in SCAN_NAMES} if scan else None
                    keep = {n: kwargs.pop(n) for n in RETENTION_NAMES} if retention else None
                    run = Run(
                        fmt=kwargs.pop("fmt"),
                        wide=kwargs.pop("wide"),
                        command=command,
                        profile=profile,
                        scan_values=scan_values,
                        retention_values=keep,
                    )
                    if conn_values is not None:
                        if conn_values.get("password") or conn_values.get("sentinel_password"):
                            run.note(
                                "warning: a password on the command line is visible to "
                                "other users (ps, shell history); use REDISCLI_AUTH or "
                                "--askpass"
                            )
                        if askpass:
                            conn_values["password"] = typer.prompt(
                                "Password", hide_input=True, err=True
                            )
                        run.connection = ConnectionOptions(**conn_values)
                    return func(run, **kwargs)
                except KeyboardInterrupt:
                    raise Interrupted("interrupted") from None
            except RediscopeError as exc:
                if want_traceback():
                    traceback.print_exc()
                code = int(exc.exit_code)
                if isinstance(exc, UsageError):
                    code = usage_exit
                elif code == ExitStatus.ERROR:
                    code = error_exit
                raise fail(exc.message, exc.hint, code) from None
            except BrokenPipeError:
                closed_pipe()
            except (typer.Exit, typer.Abort, click.exceptions.ClickException):
                raise
            except Exception as exc:
                if want_traceback():
                    raise
                raise fail(
                    f"internal error: {type(exc).__name__}: {exc}",
                    "run again with --traceback and report it",
                    error_exit,
                ) from None

        wrapper.__signature__ = sig.replace(  # type: ignore[attr-defined]
            parameters=own + added, return_annotation=sig.return_annotation
        )
        annotations = {p.name: p.annotation for p in own + added}
        wrapper.__annotations__ = annotations
        return wrapper  # type: ignore[return-value]

    return decorate


def _connection_values(kwargs: dict[str, Any], db: str, command: str) -> dict[str, Any]:
    """The connection options taken out of KWARGS; -n/--db refused where DB says so."""
    values = {name: kwargs.pop(name) for name in CONN_NAMES}
    if db == "refuse" and values["db"] is not None:
        path = click.get_current_context().command_path.split(" ", 1)[-1]  # "backup run"
        raise UsageError(f"{path} reads every db: it takes no -n/--db")
    return values


def closed_pipe() -> NoReturn:
    """The reader of stdout went away (`| head`): end quietly, as cat does. stdout points at
    /dev/null so that the interpreter's last flush does not fail again."""
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, sys.stdout.fileno())
    sys.exit(ExitStatus.CLOSED_PIPE)
