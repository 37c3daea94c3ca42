"""Table renderers, one per report type. Humanizing happens here and only here."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

from rich import box
from rich.console import Group, RenderableType
from rich.table import Table
from rich.text import Text

from rediscope.core.ping import PingReport
from rediscope.core.target import Target

R = TypeVar("R")
_RENDERERS: dict[type, Callable[[Any], RenderableType]] = {}


def renderer(
    kind: type[R],
) -> Callable[[Callable[[R], RenderableType]], Callable[[R], RenderableType]]:
    def register(func: Callable[[R], RenderableType]) -> Callable[[R], RenderableType]:
        _RENDERERS[kind] = func
        return func

    return register


def render_table(report: Any) -> RenderableType:
    return _RENDERERS[type(report)](report)


def target_line(target: Target) -> Text:
    text = Text()
    text.append("target ", style="dim")
    text.append(target.url)
    text.append(
        f"  ({target.mode}, {len(target.nodes)} node{'s' if len(target.nodes) != 1 else ''})",
        style="dim",
    )
    return text


def kv_table(rows: list[tuple[str, Any]]) -> Table:
    table = Table(box=box.SIMPLE_HEAD, show_header=False, pad_edge=False)
    table.add_column(style="bold")
    table.add_column()
    for name, value in rows:
        table.add_row(name, value if isinstance(value, Text) else Text(str(value)))
    return table


@renderer(PingReport)
def ping_table(report: PingReport) -> RenderableType:
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
