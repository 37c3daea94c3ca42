"""Tables of ping and health."""

from __future__ import annotations

from typing import Any

from rich import box
from rich.console import Group, RenderableType
from rich.table import Table
from rich.text import Text

from rediscope.core.health import Check, HealthReport
from rediscope.core.health.ping import PingReport
from rediscope.core.units import bytes_text, plural, short_duration
from rediscope.render.base import STATUS_STYLE, kv_table, renderer, target_line
from rediscope.render.fit import Col, fit_table


@renderer(PingReport)
def ping_table(report: PingReport, **_: Any) -> RenderableType:
    rows: list[tuple[str, Any]] = [
        ("target", report.target.url),
        ("server", f"{report.server} {report.version}"),
        ("mode", report.mode),
        ("role", report.role),
        (
            "rtt",
            f"min {report.rtt_min_ms:.3f} ms / avg {report.rtt_avg_ms:.3f} ms / "
            f"max {report.rtt_max_ms:.3f} ms over {report.pings} pings",
        ),
    ]
    parts: list[RenderableType] = [kv_table(rows)]
    if report.mode == "cluster":
        nodes = Table(box=box.SIMPLE_HEAD, title="cluster nodes", title_justify="left")
        for col in ("address", "role", "node id", "slots"):
            nodes.add_column(col)
        for node in report.target.nodes:
            slots = ", ".join(f"{a}-{b}" for a, b in node.slots)
            nodes.add_row(node.address, node.role, (node.node_id or "")[:12], slots)
        parts.append(nodes)
    return Group(*parts)


def _measure(value: float | None, unit: str) -> str:
    if value is None:
        return "-"
    if unit == "%":
        return f"{value:.1f}%"
    if unit == "ms":
        return f"{value:.2f} ms"
    if unit == "s":
        return short_duration(value)
    if unit == "bytes":
        return bytes_text(value)
    return f"{value:g}" + (f" {unit}" if unit and unit != "ratio" else "")


HEALTH_COLUMNS = (
    Col("status"),
    Col("check"),
    Col("value", "num"),
    Col("warn / crit", "num", drop=1),
    Col("message", "text"),
)


def _limits(c: Check) -> str:
    """The thresholds in the unit of the value."""
    if c.warn is None and c.crit is None:
        return "-"
    return f"{_measure(c.warn, c.unit)} / {_measure(c.crit, c.unit)}"


@renderer(HealthReport)
def health_table(report: HealthReport, width: int | None = None, **_: Any) -> RenderableType:
    cluster = any(c.node for c in report.checks)
    cols = list(HEALTH_COLUMNS)
    if cluster:
        cols.insert(2, Col("node", "key"))
    rows = []
    for c in report.checks:
        message = Text(c.message)
        if c.hint and c.status != "OK":
            message.append(f" — {c.hint}", style="dim")
        row: list[RenderableType] = [Text(c.status, style=STATUS_STYLE[c.status]), c.id]
        if cluster:
            row.append(c.node or "")
        rows.append([*row, _measure(c.value, c.unit), _limits(c), message])
    counts: dict[str, int] = {}
    for c in report.checks:
        counts[c.status] = counts.get(c.status, 0) + 1
    tally = [f"{n} {s.lower()}" for s, n in sorted(counts.items())]
    if report.not_applicable:
        tally.append(f"{plural(len(report.not_applicable), 'check')} not applicable")
    verdict = Text("overall ", style="bold")
    verdict.append(report.status, style=STATUS_STYLE[report.status])
    verdict.append(f"  (exit {report.exit_code}; " + ", ".join(tally) + ")")
    parts: list[RenderableType] = [target_line(report.target)]
    table = fit_table(cols, rows, width)
    parts.append(table if report.checks else Text("no check applies to this target"))
    parts += [Text(f"not applicable: {n.id}: {n.reason}") for n in report.not_applicable]
    return Group(*parts, verdict)
