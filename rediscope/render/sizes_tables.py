"""The server's own size distribution (INFO KEYSIZES) as a compact histogram table, and how a
sampled scan compares with it: shown by memory and bigkeys before their scan's tables."""

from __future__ import annotations

from rich.console import RenderableType

from rediscope.core.diagnostics.keysizes import SizeDistribution, TypeSizes, bucket_max
from rediscope.render.base import human_bytes, human_count, pct
from rediscope.render.fit import Col, fit_table

_BLOCKS = "▁▂▃▄▅▆▇█"


def histogram(t: TypeSizes) -> str:
    """One character per power of two from the smallest bucket to the largest (· empty),
    scaled to the fullest."""
    if not t.buckets:
        return "-"
    counts = {b.min: b.keys for b in t.buckets}
    low, high = t.buckets[0].min, t.buckets[-1].min
    top = max(counts.values())
    cells, lo = [], low
    while True:
        n = counts.get(lo, 0)
        cells.append("·" if n == 0 else _BLOCKS[min(7, int(n / top * 7.999))])
        if lo >= high:
            return "".join(cells)
        lo = 1 if lo == 0 else lo * 2


def _size(n: int, unit: str) -> str:
    return human_bytes(n) if unit == "bytes" else human_count(n)


def _span(t: TypeSizes, low: int, high: int) -> str:
    return f"{_size(low, t.unit)} .. {_size(high, t.unit)}"


def size_tables(dist: SizeDistribution | None, width: int | None) -> list[RenderableType]:
    """The distribution (one row per db and type), and with a sample the comparison."""
    if dist is None or not dist.types:
        return []
    cols = [Col("db", "num"), Col("type"), Col("keys", "num"), Col("unit", drop=3)]
    cols += [Col("histogram (powers of 2)"), Col("range", drop=2), Col("most keys", drop=1)]
    rows: list[list[RenderableType]] = []
    for t in dist.types:
        most = max(t.buckets, key=lambda b: b.keys) if t.buckets else None
        rows.append(
            [
                str(t.db),
                t.type,
                human_count(t.keys),
                t.unit,
                histogram(t),
                _span(t, t.buckets[0].min, t.buckets[-1].max) if t.buckets else "-",
                f"{_span(t, most.min, bucket_max(most.min))} ({pct(most.keys / t.keys)})"
                if most is not None and t.keys
                else "-",
            ]
        )
    title = f"size distribution ({dist.source}: the server's own, no scan)"
    out: list[RenderableType] = [fit_table(cols, rows, width, title)]
    if dist.comparison:
        ccols = [Col("type"), Col("keys held", "num"), Col("sample's estimate", "num")]
        ccols.append(Col("histograms differ by", "num"))
        crows: list[list[RenderableType]] = [
            [c.type, human_count(c.server_keys), "~" + human_count(c.scan_keys), pct(c.distance)]
            for c in dist.comparison
        ]
        title = f"the sample beside {dist.source}"
        out.append(fit_table(ccols, crows, width, title))
    return out
