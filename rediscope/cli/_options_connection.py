"""The options every command that talks to a server takes: connection, TLS, Sentinel, and the config file / profile (declarations only)."""

from __future__ import annotations

from enum import Enum
from typing import TYPE_CHECKING, Annotated, Any

import click
import typer

from rediscope.core.units import parse_duration
from rediscope.errors import UsageError


class Format(str, Enum):
    table = "table"
    json = "json"


if TYPE_CHECKING:  # click 8.5 types ParamType by its value and input; older click does not
    _ParamType = click.ParamType[float, Any]
else:
    _ParamType = click.ParamType


class Duration(_ParamType):
    """Seconds, as a number (`5`, `0.5`) or a duration (`5s`, `250ms`, `2m`): every option
    that takes a time accepts both, within [low, high]."""

    name = "duration"

    def __init__(self, low: float = 0.0, high: float = float("inf")) -> None:
        self.low, self.high = low, high

    def convert(
        self, value: Any, param: click.Parameter | None, ctx: click.Context | None
    ) -> float:
        if isinstance(value, int | float):
            seconds = float(value)
        else:
            try:
                seconds = parse_duration(str(value), param.opts[0] if param else "duration")
            except UsageError as exc:
                self.fail(f"{value!r} is not a duration (e.g. 5, 0.5, 5s, 250ms, 2m)", param, ctx)
                raise AssertionError from exc  # fail() raises
        if not self.low <= seconds <= self.high:
            self.fail(f"{value!r} is not between {self.low:g}s and {self.high:g}s", param, ctx)
        return seconds


CONN = "Connection"


OUT = "Output"


# The connection options, as (name, annotation, default). Added to every command that talks
# to a server, after the command's own options.
CONNECTION_PARAMS: list[tuple[str, Any, Any]] = [
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
                click_type=Duration(0.001),
                help="Seconds for connect and for each command (default 5; 5, 2.5s, 500ms).",
                rich_help_panel=CONN,
                show_default=False,
            ),
        ],
        None,
    ),
]


CONNECTION_PARAMS += [
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


CONFIG_PARAMS: list[tuple[str, Any, Any]] = [
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


CONN_NAMES = [name for name, _, _ in CONNECTION_PARAMS]


def _db_option(names: tuple[str, ...], help_: str, hidden: bool = False) -> Any:
    return Annotated[
        int | None,
        typer.Option(
            *names, min=0, help=help_, rich_help_panel=CONN, show_default=False, hidden=hidden
        ),
    ]


# What -n/--db means to a command: the target's db (every command but two), the backup's db
# (`backup restore`: --from-db), or nothing at all (`top`, `backup run` read every db): refused.
DB_OPTIONS: dict[str, Any] = {
    "target": None,  # the declaration in CONNECTION_PARAMS
    "from-db": _db_option(
        ("--from-db", "--db", "-n"),
        "Restore only db N of the backup (the backup's db, not the target's: --db-map "
        "picks where it goes).",
    ),
    "refuse": _db_option(("--db", "-n"), "Not taken: this command reads every db.", True),
}


def connection_params(db: str) -> list[tuple[str, Any, Any]]:
    """CONNECTION_PARAMS with -n/--db declared as DB (a key of DB_OPTIONS) says."""
    if DB_OPTIONS[db] is None:
        return CONNECTION_PARAMS
    return [(n, DB_OPTIONS[db] if n == "db" else a, d) for n, a, d in CONNECTION_PARAMS]
