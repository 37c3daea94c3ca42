"""The Run object a command gets: resolved options, consoles, progress, emit()."""

from __future__ import annotations

import contextlib
import os
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol

import typer
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

from rediscope.cli._export import ROW_FORMATS, StreamSink, opened, writing
from rediscope.cli._options_retention import retention_policy
from rediscope.cli._options_scan import DEFAULT

if TYPE_CHECKING:  # imported where used: a scan needs neither backups nor table renderers
    from rediscope.core.backup import RetentionPolicy
    from rediscope.core.export.run import RowsReport
from rediscope.core.config import Profile
from rediscope.core.connection import ConnectionOptions, ConnectionSpec, resolve
from rediscope.core.pipeline.options import ScanOptions
from rediscope.core.pipeline.records import ProgressFn
from rediscope.core.pipeline.source import KeySource
from rediscope.core.report import Outcome, Report
from rediscope.core.sentinel import follow
from rediscope.errors import UsageError
from rediscope.exitcodes import ExitStatus
from rediscope.render.jsonout import dumps

UNBOUNDED = 100_000  # the width of a pipe, or of --wide: every column, every key whole


def stdout_console(wide: bool = False) -> Console:
    """Tables for people, fitted to the terminal; piped (without COLUMNS) or with --wide
    they keep every column and every key name whole (a `grep` sees whole keys)."""
    console = Console(soft_wrap=False)
    if wide or (not console.is_terminal and not os.environ.get("COLUMNS")):
        console = Console(soft_wrap=False, width=UNBOUNDED)
    return console


class ByteProgress(Protocol):
    """A transfer progress update: bytes done, bytes in all (None: unknown), a status line."""

    def __call__(self, done: int, total: int | None, status: str | None = None) -> None: ...


@dataclass
class Run:
    """What a command gets: resolved options, consoles, and emit()."""

    fmt: str
    command: str
    connection: ConnectionOptions | None = None
    profile: Profile | None = None
    askpass: bool = False
    wide: bool = False
    stdout: Console = field(default_factory=lambda: stdout_console())
    stderr: Console = field(default_factory=lambda: Console(stderr=True, soft_wrap=False))
    scan_values: dict[str, Any] | None = None
    retention_values: dict[str, Any] | None = None
    view: dict[str, Any] = field(default_factory=dict)  # table-only view options
    output: str | None = None  # -o FILE: the report there instead of stdout
    _spec: ConnectionSpec | None = None

    def scan_options(self) -> ScanOptions:
        """The shared scan options; -n/--db (or a db in the URL) limits the scan to one db."""
        v = self.scan_values or {}
        spec = self.spec()
        if v.get("rate") is not None or v.get("gentle"):
            yield_cpu()
        return ScanOptions(
            match=v.get("match"),
            type=v.get("type_"),
            scan_count=v.get("scan_count", DEFAULT.scan_count),
            rate=v.get("rate"),
            sample=v.get("sample"),
            replica=bool(v.get("replica")),
            samples=v.get("samples", DEFAULT.samples),
            lengths=not v.get("no_lengths"),
            type_lookup=v.get("type_lookup", DEFAULT.type_lookup),
            gentle=bool(v.get("gentle")),
            db=spec.db if spec.db_explicit else None,
        )

    def key_source(
        self, rdb: list[str] | None, sync: bool = False, max_time: float | None = None
    ) -> ConnectionSpec | KeySource:
        """The RDB files of --rdb (no server contacted), the replication stream of --sync
        (bounded by --max-time), else the server (a live scan)."""
        if rdb and sync:
            raise UsageError("--rdb and --sync are two sources: give one")
        if max_time is not None and not sync:
            raise UsageError("--max-time bounds the transfer of --sync: give --sync too")
        if rdb:
            from rediscope.core.backup.inputs import rdb_inputs
            from rediscope.core.rdbfile.source import RdbSource

            return RdbSource(rdb_inputs(rdb))
        if sync:
            from rediscope.core.rdbfile.sync import sync_source

            return sync_source(self.spec(), max_time)
        return self.spec()

    def retention(self) -> RetentionPolicy:
        """The policy of the --keep-* options (commands declared with retention=True)."""
        return retention_policy(self.retention_values or {})

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
    def byte_progress(self, label: str, show: bool = True) -> Iterator[ByteProgress | None]:
        """A transfer progress bar on stderr (only when stderr is a terminal, and SHOW: not
        --no-progress), drawn at the first update: a question asked before the transfer
        (restore's) never sits beside an empty bar."""
        if not (show and self.stderr.is_terminal):
            yield None
            return
        columns = (
            TextColumn("{task.description}"),
            BarColumn(),
            DownloadColumn(),
            TransferSpeedColumn(),
            TimeRemainingColumn(),
        )
        bar = Progress(*columns, console=self.stderr, transient=True)
        task = bar.add_task(label, total=None)

        def update(done: int, total: int | None, status: str | None = None) -> None:
            if not bar.live.is_started:
                bar.start()
            bar.update(task, completed=done, total=total, description=status or label)

        try:
            yield update
        finally:
            if bar.live.is_started:
                bar.stop()

    def defaults(self) -> dict[str, Any]:
        """This command's defaults from the profile."""
        return dict(self.profile.commands.get(self.command, {})) if self.profile else {}

    def note(self, message: str) -> None:
        """A note for people, on stderr (never mixed into JSON on stdout)."""
        self.stderr.print(f"rediscope: {message}", markup=False, highlight=False, soft_wrap=True)

    def finish(self, report: Report) -> None:
        """Emit a report, say on stderr what was partial and why, and exit with the status the
        report implies: 130 when interrupted, 1 when a node failed (what it had is printed)."""
        self.emit(report)
        for text in report.notes:
            self.note(f"note: {text}")
        self.conclude(report.outcome())

    def conclude(self, outcome: Outcome) -> None:
        """Say why on stderr and exit with the outcome's status (nothing when it is 0)."""
        for text in outcome.errors:
            self.note(f"error: {text}")
        if outcome.interrupted:
            where = "above" if self.output in (None, "-") else f"written to {self.output}"
            self.note(f"interrupted: the report {where} is partial (complete: false)")
        if outcome.status != ExitStatus.OK:
            raise typer.Exit(outcome.status)

    def __post_init__(self) -> None:
        if self.wide:
            self.stdout = stdout_console(wide=True)

    @property
    def table_width(self) -> int | None:
        """The width tables are fitted to (None: unbounded)."""
        return None if self.stdout.width >= UNBOUNDED else self.stdout.width

    def export(
        self,
        rdb: list[str] | None,
        sync: bool,
        min_bytes: int | None = None,
        min_elements: int | None = None,
        max_time: float | None = None,
    ) -> RowsReport:
        """--format jsonl|csv: every key scanned as a row, written while the scan goes."""
        from rediscope.core.export.run import export_rows

        source, opts = self.key_source(rdb, sync, max_time), self.scan_options()
        with (
            writing(self.output),
            opened(self.output) as out,
            self.progress("scanning") as progress,
        ):
            sink = StreamSink(out, self.fmt)
            return export_rows(source, opts, sink, min_bytes, min_elements, progress)

    def emit(self, report: Report) -> None:
        if self.fmt in ROW_FORMATS:
            return  # written row by row as the scan went
        if self.fmt == "table":
            from rediscope.render.tables import render_table  # every family's renderers

            table = render_table(report, **{"width": self.table_width, **self.view})
            if self.output is None:
                self.stdout.print(table)
                return
            with opened(self.output) as out:
                Console(file=out, width=UNBOUNDED, soft_wrap=False, no_color=True).print(table)
            return
        if self.fmt == "json":
            text = dumps(report)
        elif self.fmt == "html":
            from rediscope.render.html import render_html  # the page's sections and pictures

            text = render_html(report, **self.view)
        else:
            from rediscope.render.text import render_text  # health's and capacity's formats

            text = render_text(report, self.fmt)
        with opened(self.output) as out:
            out.write(text + "\n")


def yield_cpu() -> None:
    """A paced scan gives way to the application on a shared host: this process lowers its CPU
    priority by REDISCOPE_NICE (default 19, the lowest; 0 leaves it). On a host with idle cores
    nothing changes; on a busy one the scan slows down rather than the application (measured in
    docs/performance.md)."""
    raw = os.environ.get("REDISCOPE_NICE", "19").strip()
    if not raw.isdigit() or int(raw) > 19:
        raise UsageError(f"REDISCOPE_NICE must be a whole number from 0 to 19, not {raw!r}")
    if int(raw):
        with contextlib.suppress(AttributeError, OSError):  # no os.nice on Windows
            os.nice(int(raw))
