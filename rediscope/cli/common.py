"""What every command shares: connection options, --format, profile defaults, the error boundary.

A command is written as

    @app.command()
    @rediscope_command()
    def ping(run: Run, count: int = 3) -> None:
        run.emit(core.ping(run.spec(), count))

and gets the connection options (after its own name), --format, --profile/--config, and the
one error boundary that turns domain errors into `rediscope: error: ...` and an exit code.
"""

from __future__ import annotations

import contextlib
import functools
import inspect
import os
import sys
import time
import traceback
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from enum import Enum
from typing import Annotated, Any, TypeVar

import click
import typer
from click.core import ParameterSource
from rich.console import Console
from rich.progress import (
    BarColumn,
    DownloadColumn,
    MofNCompleteColumn,
    Progress,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
    TransferSpeedColumn,
)
from typer.core import TyperCommand

from rediscope.core.config import Profile, find_profile
from rediscope.core.connection import ConnectionOptions, ConnectionSpec, resolve
from rediscope.core.scanner import ProgressFn, ScanOptions
from rediscope.core.sentinel import follow
from rediscope.errors import Interrupted, RediscopeError, UsageError
from rediscope.exitcodes import ExitStatus
from rediscope.render.jsonout import dumps
from rediscope.render.tables import render_table
from rediscope.render.text import render_text


class Format(str, Enum):
    table = "table"
    json = "json"


CONN = "Connection"
OUT = "Output"

# The connection options, as (name, annotation, default). Added to every command that talks
# to a server, after the command's own options.
_CONNECTION_PARAMS: list[tuple[str, Any, Any]] = [
    (
        "url",
        Annotated[
            str | None,
            typer.Option(
                "--url",
                "-u",
                help="redis://[user@]host:port/db, rediss://… (TLS) or unix:///path?db=N. "
                "Env: REDISCOPE_URL.",
                rich_help_panel=CONN,
                show_default=False,
            ),
        ],
        None,
    ),
    (
        "host",
        Annotated[
            str | None,
            typer.Option(
                "--host",
                help="Server host (default 127.0.0.1).",
                rich_help_panel=CONN,
                show_default=False,
            ),
        ],
        None,
    ),
    (
        "port",
        Annotated[
            int | None,
            typer.Option(
                "--port",
                "-p",
                min=1,
                max=65535,
                help="Server port (default 6379).",
                rich_help_panel=CONN,
                show_default=False,
            ),
        ],
        None,
    ),
    (
        "db",
        Annotated[
            int | None,
            typer.Option(
                "--db",
                "-n",
                min=0,
                help="Logical database.",
                rich_help_panel=CONN,
                show_default=False,
            ),
        ],
        None,
    ),
    (
        "user",
        Annotated[
            str | None,
            typer.Option("--user", help="ACL user name.", rich_help_panel=CONN, show_default=False),
        ],
        None,
    ),
    (
        "password",
        Annotated[
            str | None,
            typer.Option(
                "--password",
                help="Password on argv: visible to other users in ps; prefer env "
                "REDISCLI_AUTH or REDISCOPE_PASSWORD, or --askpass.",
                rich_help_panel=CONN,
                show_default=False,
            ),
        ],
        None,
    ),
    (
        "askpass",
        Annotated[
            bool, typer.Option("--askpass", help="Prompt for the password.", rich_help_panel=CONN)
        ],
        False,
    ),
    (
        "tls",
        Annotated[
            bool | None,
            typer.Option(
                "--tls",
                help="Use TLS (same as a rediss:// URL).",
                rich_help_panel=CONN,
                show_default=False,
            ),
        ],
        None,
    ),
    (
        "cacert",
        Annotated[
            str | None,
            typer.Option(
                "--cacert",
                help="CA certificate file to verify the server with.",
                rich_help_panel=CONN,
                show_default=False,
            ),
        ],
        None,
    ),
    (
        "cert",
        Annotated[
            str | None,
            typer.Option(
                "--cert",
                help="Client certificate file (mutual TLS).",
                rich_help_panel=CONN,
                show_default=False,
            ),
        ],
        None,
    ),
    (
        "key",
        Annotated[
            str | None,
            typer.Option(
                "--key",
                help="Client private key file (mutual TLS).",
                rich_help_panel=CONN,
                show_default=False,
            ),
        ],
        None,
    ),
    (
        "insecure",
        Annotated[
            bool | None,
            typer.Option(
                "--insecure",
                help="Do not verify the server certificate.",
                rich_help_panel=CONN,
                show_default=False,
            ),
        ],
        None,
    ),
    (
        "timeout",
        Annotated[
            float | None,
            typer.Option(
                "--timeout",
                help="Seconds for connect and for each command (default 5).",
                rich_help_panel=CONN,
                show_default=False,
            ),
        ],
        None,
    ),
]
_CONNECTION_PARAMS += [
    (
        "sentinel",
        Annotated[
            list[str] | None,
            typer.Option(
                "--sentinel",
                help="Sentinel HOST:PORT (repeatable); with --master, the target is the "
                "current primary. Or a redis+sentinel://h:p,h:p/NAME/db URL.",
                rich_help_panel=CONN,
                show_default=False,
            ),
        ],
        None,
    ),
    (
        "master",
        Annotated[
            str | None,
            typer.Option(
                "--master",
                help="The master name the sentinels monitor.",
                rich_help_panel=CONN,
                show_default=False,
            ),
        ],
        None,
    ),
    (
        "sentinel_user",
        Annotated[
            str | None,
            typer.Option(
                "--sentinel-user",
                help="ACL user for the sentinels.",
                rich_help_panel=CONN,
                show_default=False,
            ),
        ],
        None,
    ),
    (
        "sentinel_password",
        Annotated[
            str | None,
            typer.Option(
                "--sentinel-password",
                help="Password for the sentinels (visible in "
                "ps; prefer env REDISCOPE_SENTINEL_PASSWORD).",
                rich_help_panel=CONN,
                show_default=False,
            ),
        ],
        None,
    ),
]

_CONFIG_PARAMS: list[tuple[str, Any, Any]] = [
    (
        "profile",
        Annotated[
            str | None,
            typer.Option(
                "--profile",
                help="Named profile from the config file. Env: REDISCOPE_PROFILE.",
                rich_help_panel=CONN,
                show_default=False,
            ),
        ],
        None,
    ),
    (
        "config",
        Annotated[
            str | None,
            typer.Option(
                "--config",
                help="Config file (default $XDG_CONFIG_HOME/rediscope/config.yaml). "
                "Env: REDISCOPE_CONFIG.",
                rich_help_panel=CONN,
                show_default=False,
            ),
        ],
        None,
    ),
]
_CONN_NAMES = [name for name, _, _ in _CONNECTION_PARAMS]

SCAN = "Scan"
_SCAN_PARAMS: list[tuple[str, Any, Any]] = [
    (
        "match",
        Annotated[
            str | None,
            typer.Option(
                "--match",
                help="Only keys matching this glob (SCAN MATCH).",
                rich_help_panel=SCAN,
                show_default=False,
            ),
        ],
        None,
    ),
    (
        "type_",
        Annotated[
            str | None,
            typer.Option(
                "--type",
                help="Only keys of this type (SCAN TYPE): string, list, set, zset, hash, stream.",
                rich_help_panel=SCAN,
                show_default=False,
            ),
        ],
        None,
    ),
    (
        "scan_count",
        Annotated[
            int,
            typer.Option(
                "--scan-count",
                min=1,
                max=1_000_000,
                help="SCAN COUNT per call.",
                rich_help_panel=SCAN,
            ),
        ],
        1000,
    ),
    (
        "rate",
        Annotated[
            float | None,
            typer.Option(
                "--rate",
                min=1,
                help="Cap: keys per second per node, paced smoothly.",
                rich_help_panel=SCAN,
                show_default=False,
            ),
        ],
        None,
    ),
    (
        "sample",
        Annotated[
            int | None,
            typer.Option(
                "--sample",
                min=1,
                help="Stop after N keys per node and extrapolate totals (marked as estimates).",
                rich_help_panel=SCAN,
                show_default=False,
            ),
        ],
        None,
    ),
    (
        "samples",
        Annotated[
            int,
            typer.Option(
                "--samples",
                min=0,
                help="MEMORY USAGE SAMPLES for collections (0 = exact, slower).",
                rich_help_panel=SCAN,
            ),
        ],
        5,
    ),
    (
        "replica",
        Annotated[
            bool,
            typer.Option(
                "--replica", help="Read from replicas instead of primaries.", rich_help_panel=SCAN
            ),
        ],
        False,
    ),
    (
        "no_lengths",
        Annotated[
            bool,
            typer.Option(
                "--no-lengths",
                help="Skip element counts (STRLEN, LLEN, …), which touch LRU/LFU data "
                "on servers without CLIENT NO-TOUCH (< 7.2).",
                rich_help_panel=SCAN,
            ),
        ],
        False,
    ),
    (
        "no_progress",
        Annotated[
            bool,
            typer.Option(
                "--no-progress",
                help="No progress bar (it is only shown when stderr is a terminal).",
                rich_help_panel=SCAN,
            ),
        ],
        False,
    ),
]
_SCAN_NAMES = [name for name, _, _ in _SCAN_PARAMS]


class UsageExit3Command(TyperCommand):
    """For `health`: bad arguments exit 3 (UNKNOWN), the monitoring-plugin convention,
    instead of click's 2."""

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        try:
            return super().parse_args(ctx, args)
        except click.UsageError as exc:
            exc.exit_code = 3  # type: ignore[misc]
            raise


def _format_params(formats: Sequence[str]) -> list[tuple[str, Any, Any]]:
    choices = click.Choice(list(formats))
    fmt = (
        "fmt",
        Annotated[
            str,
            typer.Option(
                "--format",
                "-f",
                click_type=choices,
                help=f"Output format: {', '.join(formats)}.",
                rich_help_panel=OUT,
            ),
        ],
        "table",
    )
    wide = (
        "wide",
        Annotated[
            bool,
            typer.Option(
                "--wide",
                help="Tables: every column, key names whole (as when piped), not fitted to "
                "the terminal.",
                rich_help_panel=OUT,
            ),
        ],
        False,
    )
    return [fmt, wide]


UNBOUNDED = 100_000  # the width of a pipe, or of --wide: every column, every key whole


def _stdout_console(wide: bool = False) -> Console:
    """Tables for people, fitted to the terminal; piped (without COLUMNS) or with --wide
    they keep every column and every key name whole (a `grep` sees whole keys)."""
    console = Console(soft_wrap=False)
    if wide or (not console.is_terminal and not os.environ.get("COLUMNS")):
        console = Console(soft_wrap=False, width=UNBOUNDED)
    return console


@dataclass
class Run:
    """What a command gets: resolved options, consoles, and emit()."""

    fmt: str
    command: str
    connection: ConnectionOptions | None = None
    profile: Profile | None = None
    askpass: bool = False
    wide: bool = False
    stdout: Console = field(default_factory=lambda: _stdout_console())
    stderr: Console = field(default_factory=lambda: Console(stderr=True, soft_wrap=False))
    scan_values: dict[str, Any] | None = None
    view: dict[str, Any] = field(default_factory=dict)  # table-only view options
    _spec: ConnectionSpec | None = None

    def scan_options(self) -> ScanOptions:
        """The shared scan options; -n/--db (or a db in the URL) limits the scan to one db."""
        v = self.scan_values or {}
        spec = self.spec()
        return ScanOptions(
            match=v.get("match"),
            type=v.get("type_"),
            scan_count=v.get("scan_count", 1000),
            rate=v.get("rate"),
            sample=v.get("sample"),
            replica=bool(v.get("replica")),
            samples=v.get("samples", 5),
            lengths=not v.get("no_lengths"),
            db=spec.db if spec.db_explicit else None,
        )

    @contextlib.contextmanager
    def progress(self, label: str) -> Iterator[ProgressFn | None]:
        """A progress bar on stderr (only on a terminal, and not with --no-progress)."""
        v = self.scan_values or {}
        if v.get("no_progress") or not self.stderr.is_terminal:
            yield None
            return
        columns = (
            TextColumn("{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            TextColumn("{task.fields[unit]}"),
            TimeElapsedColumn(),
            TextColumn("eta"),
            TimeRemainingColumn(),
        )
        with Progress(*columns, console=self.stderr, transient=True) as bar:
            task = bar.add_task(label, total=None, unit="keys")

            def update(
                done: int, total: int, status: str | None = None, unit: str = "keys"
            ) -> None:
                bar.update(
                    task,
                    completed=done,
                    total=max(total, done) or None,
                    description=status or label,
                    unit=unit,
                )

            yield update

    def countdown(self, what: str) -> Callable[[float], None]:
        """A sleep that says on stderr (a terminal) what it waits for, and how long still."""

        def sleep(seconds: float) -> None:
            if not self.stderr.is_terminal:
                time.sleep(seconds)
                return
            end = time.monotonic() + seconds
            with self.stderr.status(what) as status:
                while (left := end - time.monotonic()) > 0:
                    status.update(f"{what}: {left:.0f} s left")
                    time.sleep(min(0.25, left))

        return sleep

    def spec(self, follow_sentinel: bool = True) -> ConnectionSpec:
        """The resolved connection (flag > env > profile > default); for a Sentinel target,
        pointed at the primary the sentinels name now."""
        if self._spec is None:
            if self.connection is None:
                raise RuntimeError(f"{self.command} takes no connection options")
            self._spec = resolve(self.connection, self.profile)
        if follow_sentinel and self._spec.sentinels:
            return follow(self._spec)
        return self._spec

    def spec_for_url(self, url: str) -> ConnectionSpec:
        """A spec for a URL the command made itself (the demo's server)."""
        return resolve(ConnectionOptions(url=url), None, environ={})

    @contextlib.contextmanager
    def byte_progress(self, label: str) -> Iterator[Callable[[int, int | None], None] | None]:
        """A transfer progress bar on stderr (only when stderr is a terminal)."""
        if not self.stderr.is_terminal:
            yield None
            return
        columns = (
            TextColumn("{task.description}"),
            BarColumn(),
            DownloadColumn(),
            TransferSpeedColumn(),
            TimeRemainingColumn(),
        )
        with Progress(*columns, console=self.stderr, transient=True) as bar:
            task = bar.add_task(label, total=None)

            def update(done: int, total: int | None) -> None:
                bar.update(task, completed=done, total=total)

            yield update

    def defaults(self) -> dict[str, Any]:
        """This command's defaults from the profile."""
        return dict(self.profile.commands.get(self.command, {})) if self.profile else {}

    def note(self, message: str) -> None:
        """A note for people, on stderr (never mixed into JSON on stdout)."""
        self.stderr.print(f"rediscope: {message}", markup=False, highlight=False, soft_wrap=True)

    def finish(self, report: Any, failed: bool = False) -> None:
        """Emit a scan report, then say on stderr what was partial and exit accordingly:
        130 when interrupted, 1 when a node failed (what it had is still printed)."""
        self.emit(report)
        for text in getattr(report, "notes", ()):
            self.note(f"note: {text}")
        for text in getattr(report, "errors", ()):
            self.note(f"error: {text}")
        scan = getattr(report, "scan", None)
        if getattr(report, "interrupted", False) and scan is None:
            self.note("interrupted: the report above is partial (complete: false)")
            raise typer.Exit(ExitStatus.INTERRUPTED)
        if scan is None:
            if getattr(report, "complete", True) is False:  # a node failed: what it had is above
                raise typer.Exit(ExitStatus.ERROR)
            return
        errors = [n.error for n in scan.nodes if n.error]
        for error in errors:
            self.note(f"error: {error}")
        if scan.interrupted:
            self.note("interrupted: the report above is partial (complete: false)")
            raise typer.Exit(ExitStatus.INTERRUPTED)
        if errors or not scan.complete:  # a node failed, or slots kept moving (see notes)
            raise typer.Exit(ExitStatus.ERROR)

    def __post_init__(self) -> None:
        if self.wide:
            self.stdout = _stdout_console(wide=True)

    @property
    def table_width(self) -> int | None:
        """The width tables are fitted to (None: unbounded)."""
        return None if self.stdout.width >= UNBOUNDED else self.stdout.width

    def emit(self, report: Any) -> None:
        if self.fmt == "json":
            sys.stdout.write(dumps(report) + "\n")
            sys.stdout.flush()
        elif self.fmt != "table":
            sys.stdout.write(render_text(report, self.fmt) + "\n")
            sys.stdout.flush()
        else:
            self.stdout.print(render_table(report, **{"width": self.table_width, **self.view}))


F = TypeVar("F", bound=Callable[..., Any])


def _fail(message: str, hint: str | None, code: int) -> typer.Exit:
    line = f"rediscope: error: {message}"
    if hint:
        line += f" — {hint}"
    # one line, never markup: the message may hold key names or server text
    sys.stderr.write(line.replace("\n", " ") + "\n")
    sys.stderr.flush()
    return typer.Exit(code)


def _want_traceback() -> bool:
    ctx = click.get_current_context(silent=True)
    root = ctx.find_root() if ctx else None
    return bool(root and root.obj and root.obj.get("traceback"))


def _apply_profile_defaults(
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
        if param is None or name in _CONN_NAMES:
            raise UsageError(f"{profile.where(command, str(key))}: {command} has no option {key!r}")
        if ctx.get_parameter_source(name) in (ParameterSource.DEFAULT, None):
            try:
                kwargs[name] = param.type_cast_value(ctx, value)
            except click.BadParameter as exc:
                raise UsageError(f"{profile.where(command, str(key))}: {exc.message}") from None


def rediscope_command(
    connection: bool = True,
    scan: bool = False,
    formats: Sequence[str] = ("table", "json"),
    usage_exit: int = ExitStatus.USAGE,
    error_exit: int = ExitStatus.ERROR,
    section: str | None = None,
) -> Callable[[F], F]:
    """Add the shared options and the error boundary to a command function taking `run`."""

    def decorate(func: F) -> F:
        sig = inspect.signature(func, eval_str=True)
        own = [p for p in sig.parameters.values() if p.name != "run"]
        extra = _format_params(formats)
        if scan:
            extra += _SCAN_PARAMS
        if connection:
            extra += _CONNECTION_PARAMS
        extra += _CONFIG_PARAMS
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
                        _apply_profile_defaults(
                            ctx, profile, command, kwargs, shared=section is not None
                        )
                    conn_values = (
                        {name: kwargs.pop(name) for name in _CONN_NAMES} if connection else None
                    )
                    askpass = bool(conn_values.pop("askpass")) if conn_values else False
                    scan_values = {n: kwargs.pop(n) for n in _SCAN_NAMES} if scan else None
                    run = Run(
                        fmt=kwargs.pop("fmt"),
                        wide=kwargs.pop("wide"),
                        command=command,
                        profile=profile,
                        scan_values=scan_values,
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
                if _want_traceback():
                    traceback.print_exc()
                code = int(exc.exit_code)
                if isinstance(exc, UsageError):
                    code = usage_exit
                elif code == ExitStatus.ERROR:
                    code = error_exit
                raise _fail(exc.message, exc.hint, code) from None
            except (typer.Exit, typer.Abort, click.exceptions.ClickException):
                raise
            except Exception as exc:
                if _want_traceback():
                    raise
                raise _fail(
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
