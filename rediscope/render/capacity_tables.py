"""Tables of capacity record and report, with the used_memory chart."""

from __future__ import annotations

from typing import Any

from rich import box
from rich.console import Group, RenderableType
from rich.table import Table
from rich.text import Text

from rediscope.core.capacity.command import CapacityReport, RecordReport
from rediscope.core.capacity.fit import NodeCapacity
from rediscope.core.units import plural
from rediscope.render.base import (
    human_bytes,
    human_count,
    human_ttl,
    kv_table,
    renderer,
    target_line,
)
from rediscope.render.capacity_patterns import by_pattern_view

_SPARK = "▁▂▃▄▅▆▇█"


def chart(node: NodeCapacity, width: int = 60, height: int = 8) -> Text:
    """used_memory over time (bars), the projection (·) and, when the projection reaches it
    within the view, the limit (─). The y axis spans the data, not zero to the limit."""
    points = node.history
    if len(points) < 2:
        return Text("(not enough samples for a chart)", style="dim")
    t0, t1 = points[0][0], points[-1][0]
    growth = node.growth_bytes_per_day or 0
    end = t1
    reaches = node.days_until_full is not None and growth > 0
    if reaches:
        end = t1 + min((node.days_until_full or 0) * 86400, 3 * max(t1 - t0, 1))
    span = max(end - t0, 1e-9)
    cols: list[float | None] = [None] * width
    for ts, value in points:
        i = min(width - 1, int((ts - t0) / span * (width - 1)))
        cols[i] = max(cols[i] or 0, value)
    proj: dict[int, float] = {}
    if growth > 0 and node.fitted_now is not None:
        for i in range(width):
            ts = t0 + span * i / (width - 1)
            if ts > t1:
                proj[i] = node.fitted_now + growth * (ts - t1) / 86400
    values = [v for _, v in points] + list(proj.values())
    show_limit = (
        bool(node.limit_bytes) and reaches and max(values) >= 0.98 * (node.limit_bytes or 0)
    )
    if show_limit:
        values.append(node.limit_bytes or 0)
    lo_v, hi_v = min(values), max(values)
    if hi_v - lo_v < 1:
        lo_v, hi_v = lo_v - 1, hi_v + 1
    step = (hi_v - lo_v) / height
    limit_row = int(((node.limit_bytes or 0) - lo_v) / step) if show_limit else None
    text = Text()
    for row in range(height - 1, -1, -1):
        lo = lo_v + step * row
        line = Text()
        for i in range(width):
            col = cols[i]
            if col is not None and col >= lo:
                frac = min(1.0, (col - lo) / step)
                line.append(_SPARK[int(frac * 7)], style="cyan")
            elif i in proj and lo <= proj[i] < lo + step:
                line.append("·", style="yellow")
            elif limit_row is not None and min(limit_row, height - 1) == row:
                line.append("─", style="red")
            else:
                line.append(" ")
        label = (
            human_bytes(lo + step) if row == height - 1 else (human_bytes(lo) if row == 0 else "")
        )
        text.append(f"{label:>10} ").append_text(line).append("\n")
    return text


def _samples_line(report: CapacityReport) -> str:
    if report.samples:
        return f"{plural(report.samples, 'sample')} over {human_ttl(report.span_s)}"
    if report.samples_recorded:
        return f"none in the window ({plural(report.samples_recorded, 'sample')} recorded)"
    return "none recorded yet (figures from INFO now)"


def _recommendations(report: CapacityReport) -> Table:
    recs = Table(box=box.SIMPLE_HEAD, title="recommendations", title_justify="left")
    recs.add_column("severity")
    recs.add_column("id")
    recs.add_column("what to do", ratio=1)
    for r in report.recommendations:
        recs.add_row(r.severity, r.id, Text(r.message))
    return recs


@renderer(CapacityReport)
def capacity_table(report: CapacityReport, width: int | None = None, **_: Any) -> RenderableType:
    parts: list[RenderableType] = [target_line(report.target)]
    days = "-" if report.days_until_full is None else f"{report.days_until_full:,.1f} days"
    growth = (
        "-"
        if report.growth_bytes_per_day is None
        else (f"{human_bytes(report.growth_bytes_per_day)}/day (r² {report.r2:.3f})")
    )
    rows: list[tuple[str, Any]] = [
        ("samples", _samples_line(report)),
        ("used_memory", human_bytes(report.used_memory)),
        ("limit", f"{human_bytes(report.limit_bytes)} ({report.limit_source})"),
        ("growth", growth),
        ("full in", days),
    ]
    parts.append(kv_table(rows))
    if report.note:
        parts.append(Text(f"note: {report.note}", style="yellow"))
    for node in report.nodes:
        if len(report.nodes) > 1:
            parts.append(Text(f"{node.node} ({node.role})", style="bold"))
        if node.low_confidence:
            parts.append(Text("low confidence: the series spans less than an hour", style="yellow"))
        parts.append(chart(node))
        details = [
            (
                "growth",
                "-"
                if node.growth_bytes_per_day is None
                else f"{human_bytes(node.growth_bytes_per_day)}/day, r² {node.r2:.3f}",
            ),
            (
                "keys/day",
                ", ".join(f"{db} {v:+,.0f}" for db, v in sorted(node.keys_growth_per_day.items()))
                or "-",
            ),
            ("hit rate", " → ".join("-" if h is None else f"{h:.1%}" for h in node.hit_rate)),
            ("evictions/day", human_count(node.evictions_per_day)),
            ("expirations/day", human_count(node.expirations_per_day)),
            (
                "peak / current",
                f"{human_bytes(node.peak_memory)} / {human_bytes(node.used_memory)}",
            ),
            (
                "fragmentation",
                " → ".join("-" if f is None else f"{f:.2f}" for f in node.fragmentation),
            ),
            ("ops/s", " → ".join("-" if o is None else f"{o:,.0f}" for o in node.ops_per_s)),
        ]
        parts.append(kv_table(details))
    if report.recommendations:
        parts.append(_recommendations(report))
    if report.by_pattern is not None:
        parts.append(by_pattern_view(report.by_pattern, report.days_until_full, width))
    parts.append(Text(f"limit rule: {report.headroom_rule}", style="dim"))
    return Group(*parts)


@renderer(RecordReport)
def record_table(report: RecordReport, **_: Any) -> RenderableType:
    return kv_table(
        [
            (str(s["node"]), f"used_memory {human_bytes(s.get('used_memory'))}")
            for s in report.samples
        ]
    )
