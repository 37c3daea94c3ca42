"""How key sizes are spread: p50/p90/p99/max of bytes and of elements, per type and per
pattern (the tables' side of core/collectors/sketch.py)."""

from __future__ import annotations

from collections.abc import Sequence

from rich.console import RenderableType
from rich.table import Table

from rediscope.core.collectors.sketch import Distribution
from rediscope.render.base import human_bytes, human_count
from rediscope.render.fit import Col, fit_table

QUANTILES = ("p50", "p90", "p99", "max")


def dist_cells(dist: Distribution | None, as_bytes: bool) -> list[RenderableType]:
    """The four figures of a distribution as table cells ("-" where not measured)."""
    show = human_bytes if as_bytes else human_count
    if dist is None:
        return ["-"] * len(QUANTILES)
    return [show(getattr(dist, q)) for q in QUANTILES]


def pattern_size_cols(first_drop: int) -> list[Col]:
    """Bytes p50/p90/p99/max columns for a pattern table: the first to go when narrow."""
    return [Col(f"size {q}", "num", drop=first_drop + i) for i, q in enumerate(QUANTILES)]


def sizes_table(
    rows: Sequence[tuple[str, int, Distribution | None, Distribution | None]],
    width: int | None,
) -> Table:
    """Per type: keys, then bytes and elements at p50/p90/p99/max."""
    cols = [Col("type"), Col("keys", "num")]
    cols += [Col(f"bytes {q}", "num", drop=2 if q == "p90" else 0) for q in QUANTILES]
    cols += [Col(f"elements {q}", "num", drop=1 if q == "p90" else 0) for q in QUANTILES]
    cells = [
        [name, human_count(keys), *dist_cells(b, True), *dist_cells(e, False)]
        for name, keys, b, e in rows
    ]
    return fit_table(
        cols, cells, width, "key sizes by type (p90: 90% of the keys are at most this)"
    )
