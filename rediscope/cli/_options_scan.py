"""The options of the scanning commands and the output options (declarations only)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Annotated, Any, NamedTuple

import click
import typer
from typer.core import TyperCommand

from rediscope.cli._options_connection import OUT
from rediscope.core.pipeline.options import ScanOptions

SCAN = "Scan"

#: the defaults of the scan options: ScanOptions' own, declared once there
DEFAULT = ScanOptions()


class Param(NamedTuple):
    """One option a decorator adds to a command: its parameter name, type, default."""

    name: str
    annotation: Any
    default: Any


SEPARATORS = typer.Option("--separators", help="Characters that separate key segments.")
RULES = typer.Option(
    "--rules",
    help="YAML file of glob/regex rules (with names) that win over inference; first match wins.",
    show_default=False,
)
Sync = Annotated[
    bool,
    typer.Option(
        "--sync",
        help="Take the RDB over the replication protocol (as backup run does) and read it as "
        "it arrives: no per-key command, nothing on disk. Costs the server a BGSAVE: one fork "
        "and copy-on-write memory for the pages written meanwhile.",
        rich_help_panel=SCAN,
    ),
]
SyncMaxTime = Annotated[
    float | None,
    typer.Option(
        "--max-time",
        min=1,
        help="With --sync: give up when the whole transfer takes longer than SECONDS (--timeout "
        "is the most it waits without RDB bytes; keepalive newlines do not count).",
        rich_help_panel=SCAN,
        show_default=False,
    ),
]
RdbPaths = Annotated[
    list[str] | None,
    typer.Option(
        "--rdb",
        help="Read the keys from an RDB file (.rdb, .rdb.gz, .rdb.zst; - for stdin) or a "
        "backup directory (its newest backup) instead of the server: no server is contacted. "
        "Repeat for a cluster backup's files.",
        rich_help_panel=SCAN,
        show_default=False,
    ),
]


SCAN_PARAMS: list[Param] = [
    Param(
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
    Param(
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
    Param(
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
        DEFAULT.scan_count,
    ),
    Param(
        "rate",
        Annotated[
            float | None,
            typer.Option(
                "--rate",
                min=1,
                help="Cap: keys per second per node, in small requests spread evenly over "
                "the second, each sized to cost the server about 30 µs (timed by its own "
                "clock as the scan goes, and never more to keep the rate), so the "
                "application's latency barely moves. Runs at the lowest CPU priority "
                "(REDISCOPE_NICE, default 19); a rate not kept is said in the notes.",
                rich_help_panel=SCAN,
                show_default=False,
            ),
        ],
        None,
    ),
    Param(
        "gentle",
        Annotated[
            bool,
            typer.Option(
                "--gentle",
                help="Pace as --rate does, at a rate picked from the server's own load: at "
                "most a tenth of its main thread, less while it is busy.",
                rich_help_panel=SCAN,
            ),
        ],
        False,
    ),
    Param(
        "sample",
        Annotated[
            int | None,
            typer.Option(
                "--sample",
                min=1,
                help="Stop after N keys per node and extrapolate totals (marked as estimates). Not "
                "--samples (the elements MEMORY USAGE looks at per key).",
                rich_help_panel=SCAN,
                show_default=False,
            ),
        ],
        None,
    ),
    Param(
        "samples",
        Annotated[
            int,
            typer.Option(
                "--samples",
                min=0,
                help="MEMORY USAGE SAMPLES: elements looked at per collection (0 = all, exact, slower). "
                "Not --sample (how many keys are scanned).",
                rich_help_panel=SCAN,
            ),
        ],
        DEFAULT.samples,
    ),
    Param(
        "replica",
        Annotated[
            bool,
            typer.Option(
                "--replica", help="Read from replicas instead of primaries.", rich_help_panel=SCAN
            ),
        ],
        False,
    ),
    Param(
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
    Param(
        "type_lookup",
        Annotated[
            str,
            typer.Option(
                "--type-lookup",
                click_type=click.Choice(["predict", "scan", "ask"]),
                help="Where each key's type comes from. predict: guessed from keys of the same "
                "shape and confirmed by the length command sent with it (TYPE only for keys not "
                "guessed right). scan: one SCAN TYPE walk per type, in lockstep (each costs the "
                "server a visit of every key). ask: TYPE for every key.",
                rich_help_panel=SCAN,
            ),
        ],
        DEFAULT.type_lookup,
    ),
    Param(
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


SCAN_NAMES = [p.name for p in SCAN_PARAMS]


class UsageExit3Command(TyperCommand):
    """For `health`: bad arguments exit 3 (UNKNOWN), the monitoring-plugin convention,
    instead of click's 2."""

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        try:
            return super().parse_args(ctx, args)
        except click.UsageError as exc:
            exc.exit_code = 3  # type: ignore[misc]
            raise


def format_params(formats: Sequence[str]) -> list[Param]:
    choices = click.Choice(list(formats))
    fmt = Param(
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
    wide = Param(
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
