"""Tables that fit the terminal: low-value columns go first, numbers never wrap, key names are
cut in the middle with "…" (never folded onto an orphan line). Without a width (a pipe, or
--wide) every column is kept and every key shown whole."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from rich import box
from rich.cells import cell_len
from rich.console import RenderableType
from rich.table import Table
from rich.text import Text

PAD = 2  # Rich's cell padding, one space each side
EDGE = 1  # SIMPLE_HEAD draws a blank separator between columns and at both edges
MIN_KEY = 16  # a key column is never cut narrower than this
TEXT_MIN = 24  # a wrapping text column (a message) gets at least this


@dataclass(frozen=True)
class Col:
    header: str
    #: "key": cut in the middle to fit; "num": right-aligned, never wrapped; "fixed": never
    #: wrapped; "text": wraps at words (messages)
    kind: str = "fixed"
    #: when the table is too wide, columns with the highest `drop` go first (0: always kept)
    drop: int = 0


def middle(text: str, width: int) -> str:
    """`text` cut to `width` cells with "…" in the middle (both ends tell keys apart)."""
    if cell_len(text) <= width:
        return text
    keep = max(width - 1, 2)
    head = (keep + 1) // 2
    return text[:head] + "…" + text[len(text) - (keep - head) :]


def _width(cell: RenderableType) -> int:
    plain = cell.plain if isinstance(cell, Text) else str(cell)
    return max((cell_len(line) for line in plain.splitlines()), default=0)


def _sized(cols: Sequence[Col], rows: Sequence[Sequence[RenderableType]]) -> list[int]:
    return [max([cell_len(c.header), *(_width(r[i]) for r in rows)]) for i, c in enumerate(cols)]


def fit_table(
    cols: Sequence[Col],
    rows: Sequence[Sequence[RenderableType]],
    width: int | None,
    title: str | None = None,
) -> Table:
    """A table of `rows` laid out for `width` columns (None: unbounded)."""
    natural = _sized(cols, rows)
    # a text column wraps: it needs only TEXT_MIN to be readable
    natural = [
        min(n, TEXT_MIN) if c.kind == "text" else n for n, c in zip(natural, cols, strict=True)
    ]
    keep = list(range(len(cols)))

    def total(idx: list[int]) -> int:
        return sum(natural[i] + PAD + EDGE for i in idx) + EDGE

    if width is not None:
        for i in sorted((i for i, c in enumerate(cols) if c.drop), key=lambda i: -cols[i].drop):
            if total(keep) <= width:
                break
            keep.remove(i)
    keys = [i for i in keep if cols[i].kind == "key"]
    cut: int | None = None
    if width is not None and keys and total(keep) > width:
        rest = total([i for i in keep if i not in keys])
        cut = max(MIN_KEY, (width - rest) // len(keys) - PAD - EDGE)
    table = Table(box=box.SIMPLE_HEAD, title=title, title_justify="left")
    for i in keep:
        c = cols[i]
        table.add_column(
            c.header,
            justify="right" if c.kind == "num" else "left",
            no_wrap=c.kind != "text",
            overflow="fold" if c.kind == "text" else "ellipsis",
            min_width=natural[i] if c.kind == "text" else None,
        )
    for row in rows:
        cells: list[RenderableType] = []
        for i in keep:
            cell = row[i]
            if cut is not None and cols[i].kind == "key":
                plain = cell.plain if isinstance(cell, Text) else str(cell)
                cell = Text(middle(plain, cut))
            cells.append(cell)
        table.add_row(*cells)
    return table
