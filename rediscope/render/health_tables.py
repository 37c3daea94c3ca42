"""Tables of ping and health."""

from __future__ import annotations

from typing import Any

from rich import box
from rich.console import Group, RenderableType
from rich.table import Table
from rich.text import Text

from rediscope.core.health import HealthReport
from rediscope.core.ping import PingReport
from rediscope.render.base import STATUS_STYLE, human_ttl, kv_table, renderer, target_line
from rediscope.render.words import plural


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
        return human_ttl(value) if value >= 1 else f"{value:.0f} s"
    return f"{value:g}" + (f" {unit}" if unit and unit != "ratio" else "")


@renderer(HealthReport)
def health_table(report: HealthReport, **_: Any) -> RenderableType:
    cluster = any(c.node for c in report.checks)
    table = Table(box=box.SIMPLE_HEAD)
    table.add_column("status")
    table.add_column("check")
    if cluster:
        table.add_column("node")
    table.add_column("value", justify="right")
    table.add_column("warn / crit", justify="right")
    table.add_column("message", ratio=1)
    for c in report.checks:
        limits = (
            "-"
            if c.warn is None and c.crit is None
            else (
                f"{'-' if c.warn is None else f'{c.warn:g}'} / {'-' if c.crit is None else f'{c.crit:g}'}"
            )
        )
        message = Text(c.message)
        if c.hint and c.status != "OK":
            message.append(f" — {c.hint}", style="dim")
        row: list[RenderableType] = [Text(c.status, style=STATUS_STYLE[c.status]), c.id]
        if cluster:
            row.append(c.node or "")
        row += [_measure(c.value, c.unit), limits, message]
        table.add_row(*row)
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
    parts.append(table if report.checks else Text("no check applies to this target"))
    parts += [Text(f"not applicable: {n.id}: {n.reason}") for n in report.not_applicable]
    return Group(*parts, verdict)
