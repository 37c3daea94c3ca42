"""`--format jsonl|csv` and `-o FILE`: the sink that writes rows as the scan goes, and the
output file every format can be written to."""

from __future__ import annotations

import contextlib
import sys
import threading
from collections.abc import Iterator
from typing import Annotated, TextIO

import typer

from rediscope.cli._options_connection import OUT
from rediscope.core.pipeline.records import Batch
from rediscope.errors import RediscopeError, UsageError
from rediscope.render.rows import csv_header, csv_rows, jsonl_rows

ROW_FORMATS = ("jsonl", "csv")

#: the formats of memory, bigkeys and patterns
SCAN_FORMATS = ("table", "json", "jsonl", "csv", "html")

Output = Annotated[
    str | None,
    typer.Option(
        "--output",
        "-o",
        help="Write the report to FILE instead of stdout (any --format).",
        rich_help_panel=OUT,
        show_default=False,
        metavar="FILE",
    ),
]


class OutputFailed(Exception):
    """The rows could not be written (the reader of stdout went away, the disk is full). Not
    an OSError: the scan would take that for its connection failing."""

    def __init__(self, error: OSError) -> None:
        super().__init__(str(error))
        self.error = error


class StreamSink:
    """Rows to a text stream as batches arrive; one lock for the nodes' scan threads. Once a
    write has failed, every node's next batch fails too, so the whole scan stops."""

    def __init__(self, out: TextIO, fmt: str, patterns: bool = False) -> None:
        self.out = out
        self.render = csv_rows if fmt == "csv" else jsonl_rows
        self.lock = threading.Lock()
        self.failed: OSError | None = None
        if fmt == "csv":
            out.write(csv_header(patterns))

    def write(self, batch: Batch, patterns: list[str] | None = None) -> None:
        text = self.render(batch, patterns)
        with self.lock:
            if self.failed is not None:
                raise OutputFailed(self.failed)
            try:
                self.out.write(text)
            except OSError as exc:
                self.failed = exc
                raise OutputFailed(exc) from None


@contextlib.contextmanager
def writing(path: str | None) -> Iterator[None]:
    """A failed write as the error boundary knows it: a closed pipe ends quietly, anything
    else is one line naming the output."""
    try:
        yield
    except OutputFailed as exc:
        if isinstance(exc.error, BrokenPipeError):
            raise exc.error from None
        raise RediscopeError(f"cannot write {path or 'stdout'}: {exc.error.strerror}") from None


@contextlib.contextmanager
def opened(path: str | None) -> Iterator[TextIO]:
    """FILE (created or truncated), or stdout; flushed at the end either way."""
    if path is None or path == "-":
        yield sys.stdout
        sys.stdout.flush()
        return
    try:
        fh = open(path, "w", encoding="utf-8", newline="")  # noqa: SIM115
    except OSError as exc:
        raise UsageError(f"cannot write {path}: {exc.strerror}") from None
    with fh:
        yield fh


def check_row_options(fmt: str, **given: object) -> None:
    """Options that only filter rows need a row format."""
    if fmt in ROW_FORMATS:
        return
    for name, value in given.items():
        if value is not None:
            raise UsageError(
                f"--{name.replace('_', '-')} filters the rows of --format jsonl or csv"
            )
