"""`rediscope top`: the live screen on a terminal, one line (or JSON document) per interval
otherwise."""

from __future__ import annotations

import contextlib
import json
import os
import select
import sys
import time
from collections.abc import Iterator
from typing import Annotated

import typer
from rich.live import Live
from rich.text import Text

from rediscope.cli._options_connection import Duration
from rediscope.cli.common import Run, rediscope_command
from rediscope.core.top import TopReport, Watcher
from rediscope.errors import ConnectError
from rediscope.render.jsonout import envelope
from rediscope.render.top_view import LINE_HEADER, SORTS, ViewState, top_line, top_screen

app = typer.Typer()
HISTORY = 60  # samples in the sparklines: the last minute at the default interval


def _all_down(report: TopReport) -> bool:
    return not any(n.up for n in report.nodes)


def _ticks(interval: float) -> Iterator[None]:
    """Every INTERVAL seconds on the monotonic clock (no drift; a late tick is not repeated)."""
    next_at = time.monotonic() + interval
    while True:
        time.sleep(max(0.0, next_at - time.monotonic()))
        next_at = max(next_at + interval, time.monotonic())
        yield


def _stream(run: Run, watcher: Watcher, interval: float, count: int | None) -> None:
    """One line (or one JSON document) per interval, flushed as it is made."""
    timeout = watcher.spec.timeout
    watcher.poll()
    if run.fmt == "table" and count != 1:
        sys.stdout.write(LINE_HEADER + "\n")
    done, down_since = 0, None
    for _ in _ticks(interval):
        report = watcher.poll()
        if report is None:
            continue
        if _all_down(report):
            down_since = down_since or time.monotonic()
            if time.monotonic() - down_since > timeout:
                raise ConnectError(f"no node of {report.target.url} answered for {timeout:g} s")
        else:
            down_since = None
        if count == 1:
            run.emit(report)
        elif run.fmt == "json":
            sys.stdout.write(json.dumps(envelope(report), ensure_ascii=False) + "\n")
        else:
            sys.stdout.write(top_line(report) + "\n")
        sys.stdout.flush()
        done += 1
        if count is not None and done >= count:
            return


@contextlib.contextmanager
def _keys() -> Iterator[int | None]:
    """stdin in cbreak mode (keys arrive one by one, Ctrl-C still interrupts), restored after."""
    if not sys.stdin.isatty():
        yield None
        return
    import termios
    import tty

    fd = sys.stdin.fileno()
    saved = termios.tcgetattr(fd)
    tty.setcbreak(fd)
    try:
        yield fd
    finally:
        termios.tcsetattr(fd, termios.TCSADRAIN, saved)


def _key(fd: int | None, timeout: float) -> str | None:
    if fd is None:
        time.sleep(timeout)
        return None
    ready, _, _ = select.select([fd], [], [], timeout)
    return os.read(fd, 1).decode("ascii", "replace").lower() if ready else None


def _apply(key: str, state: ViewState) -> bool:
    """A key press; False when it quits."""
    if key == "q":
        return False
    if key == "p":
        state.paused = not state.paused
    elif key == "s":
        state.sort = SORTS[(SORTS.index(state.sort) + 1) % len(SORTS)]
    elif key == "n":
        state.per_node = not state.per_node
    return True


def _screen(run: Run, watcher: Watcher, interval: float) -> None:
    """The live view: redrawn in place each interval and after each key."""
    console = run.stdout
    state = ViewState(ops_history=[], mem_history=[])
    report: TopReport | None = None
    watcher.poll(buffers=True)
    with _keys() as fd, Live(console=console, screen=True, auto_refresh=False) as live:
        live.update(Text(f"rediscope top: measuring the first {interval:g} s ..."), refresh=True)
        next_at = time.monotonic() + interval
        while True:
            key = _key(fd, max(0.0, next_at - time.monotonic()))
            if key is not None and not _apply(key, state):
                return
            if key is None:
                next_at = max(next_at + interval, time.monotonic())
                if not state.paused:
                    report = watcher.poll(buffers=True) or report
                    _remember(report, state)
            if report is not None:
                view = top_screen(report, state, console.width, console.height)
                live.update(view, refresh=True)


def _remember(report: TopReport | None, state: ViewState) -> None:
    if report is None or state.ops_history is None or state.mem_history is None:
        return
    state.status = "no node answers: retrying every interval" if _all_down(report) else None
    if not report.totals.partial:  # a sum missing a node would draw a dip that is not there
        state.ops_history[:] = [*state.ops_history, report.totals.ops_per_s][-HISTORY:]
        state.mem_history[:] = [*state.mem_history, float(report.totals.used_memory)][-HISTORY:]


@app.command()
@rediscope_command(db="refuse")
def top(
    run: Run,
    interval: Annotated[
        float,
        typer.Option(
            "--interval",
            "-i",
            click_type=Duration(0.1, 3600),
            help="Time between samples: seconds (1, 0.5) or a duration (2s, 500ms).",
        ),
    ] = 1.0,
    count: Annotated[
        int | None,
        typer.Option(
            "--count", "-c", min=1, help="Print N intervals, then exit.", show_default=False
        ),
    ] = None,
    once: Annotated[
        bool, typer.Option("--once", help="One snapshot after one interval (rates are real).")
    ] = False,
) -> None:
    """Watch the server (every node of a cluster) live: ops/s, reads/writes, hit ratio,
    network, memory, clients, top commands with latency, replication lag, from one INFO per
    node per interval. On a terminal a full screen (q quit, p pause, s sort, n nodes);
    piped, or with --count/--once, one line (or one JSON document) per interval.

    \b
    Examples:
      rediscope top --url redis://10.0.0.5:6379
      rediscope top --format json --interval 5 >> redis-top.ndjson
    """
    watcher = Watcher(run.spec())
    interactive = run.stdout.is_terminal and count is None and not once and run.fmt == "table"
    try:
        if interactive:
            _screen(run, watcher, interval)
        else:
            _stream(run, watcher, interval, 1 if once else count)
    except KeyboardInterrupt:
        pass  # Ctrl-C is how a live view ends: exit 0, like q
    finally:
        watcher.close()
