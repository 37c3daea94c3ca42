"""`rediscope hotkeys`."""

from __future__ import annotations

from typing import Annotated

import click
import typer

from rediscope.cli._options_scan import SEPARATORS
from rediscope.cli.common import Run, rediscope_command
from rediscope.core.hotkeys import LFU_INIT, HotkeysOptions
from rediscope.core.hotkeys import hotkeys as core_hotkeys
from rediscope.core.units import parse_duration

app = typer.Typer()


@app.command()
@rediscope_command(scan=True)
def hotkeys(
    run: Run,
    method: Annotated[
        str,
        typer.Option(
            "--method",
            click_type=click.Choice(["auto", "server", "lfu", "monitor"]),
            help="server: HOTKEYS (Redis 8.6+); lfu: OBJECT FREQ under an LFU policy; monitor: a "
            "bounded MONITOR window; auto: the first of these the server allows.",
        ),
    ] = "auto",
    duration: Annotated[str, typer.Option("--duration", help="The sampling window.")] = "10s",
    max_commands: Annotated[
        int | None,
        typer.Option(
            "--max-commands",
            min=1,
            help="Stop MONITOR after this many commands.",
            show_default=False,
        ),
    ] = None,
    top: Annotated[
        int, typer.Option("--top", min=1, max=10000, help="Keys and patterns to list.")
    ] = 20,
    warn_share: Annotated[
        float,
        typer.Option(
            "--warn-share",
            min=0.0001,
            max=1.0,
            help="Flag a key with more than this share of traffic (0.1 = 10%).",
        ),
    ] = 0.10,
    min_freq: Annotated[
        int,
        typer.Option(
            "--min-freq",
            min=0,
            max=255,
            help=f"LFU: rank only keys whose counter is at least this (new keys start at "
            f"{LFU_INIT}).",
        ),
    ] = LFU_INIT + 1,
    separators: Annotated[str, SEPARATORS] = ":",
) -> None:
    """Which keys and patterns take the traffic right now: top keys with reads/writes and
    share, top patterns, command mix and clients; hot keys flagged with mitigation hints.

    \b
    Examples:
      rediscope hotkeys --url redis://db1:6379                 # picks the method, says why
      rediscope hotkeys --method monitor --duration 30s --max-commands 200000 --format json
    """
    opts = HotkeysOptions(
        method=method,
        duration=parse_duration(duration, "--duration"),
        max_commands=max_commands,
        top=top,
        warn_share=warn_share,
        min_freq=min_freq,
        separators=separators,
    )
    with run.progress("scanning") as progress:
        report = core_hotkeys(
            run.spec(),
            opts,
            run.scan_options(),
            warn=lambda text: run.note(f"warning: {text}"),
            progress=progress,
        )
    run.finish(report)
