"""Table renderers, one per report type. Humanizing happens here and only here."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from typing import Any, TypeVar

import humanize
from rich import box
from rich.console import Group, RenderableType
from rich.table import Table
from rich.text import Text

from rediscope.core.bigkeys import BigKey, BigKeysReport
from rediscope.core.keys import display_key
from rediscope.core.ping import PingReport
from rediscope.core.scanner import ScanSummary
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


def human_bytes(n: int | float | None) -> str:
    if n is None:
        return "-"
    for unit in ("B", "KiB", "MiB", "GiB", "TiB"):
        if abs(n) < 1024 or unit == "TiB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1024
    return f"{n:.1f} TiB"


def human_count(n: int | float | None) -> str:
    return "-" if n is None else f"{n:,.0f}"


def human_ttl(seconds: float | None) -> str:
    if seconds is None:
        return "-"
    return humanize.naturaldelta(timedelta(seconds=seconds)) if seconds >= 1 else f"{seconds:.3f}s"


def key_text(key: bytes) -> Text:
    """A key as plain text: never markup, control bytes escaped like redis-cli."""
    return Text(display_key(key), overflow="fold")


def scan_line(scan: ScanSummary) -> Text:
    text = Text(style="dim")
    nodes = len(scan.nodes)
    text.append(
        f"scanned {scan.keys_scanned:,} keys on {nodes} node{'s' if nodes != 1 else ''} "
        f"in {scan.seconds:.1f}s"
    )
    if scan.keys_vanished or scan.keys_retyped:
        text.append(
            f"; {scan.keys_vanished:,} vanished, {scan.keys_retyped:,} changed type mid-scan"
        )
    if scan.sampled:
        text.append(f"; SAMPLED: totals marked ~ are estimates (x{scan.extrapolation:.2f})")
    if not scan.complete:
        text.append("; INCOMPLETE", style="bold red")
    return text


def _key_table(title: str, keys: tuple[BigKey, ...], cluster: bool) -> Table:
    table = Table(box=box.SIMPLE_HEAD, title=title, title_justify="left")
    table.add_column("#", justify="right")
    table.add_column("key", overflow="fold", min_width=24, ratio=1)
    for col in ("type", "encoding"):
        table.add_column(col)
    table.add_column("size", justify="right")
    table.add_column("elements", justify="right")
    table.add_column("ttl", justify="right")
    table.add_column("db", justify="right")
    if cluster:
        table.add_column("node")
    for i, k in enumerate(keys, 1):
        row: list[RenderableType] = [
            str(i),
            key_text(k.key),
            k.type,
            k.encoding or "-",
            human_bytes(k.bytes),
            human_count(k.elements),
            human_ttl(k.ttl_s),
            str(k.db),
        ]
        if cluster:
            row.append(k.node)
        table.add_row(*row)
    return table


@renderer(BigKeysReport)
def bigkeys_table(report: BigKeysReport) -> RenderableType:
    cluster = report.target.mode == "cluster"
    est = "~" if report.scan.sampled else ""
    parts: list[RenderableType] = [target_line(report.target), scan_line(report.scan)]
    parts.append(_key_table(f"top {len(report.keys)} keys by memory", report.keys, cluster))
    by_type = Table(box=box.SIMPLE_HEAD, title="by type", title_justify="left")
    for col in ("type", "keys", "memory", "share", "avg size", "elements", "avg elements"):
        by_type.add_column(col, justify="left" if col == "type" else "right")
    for t in report.by_type:
        by_type.add_row(
            t.type,
            est + human_count(t.keys),
            est + human_bytes(t.bytes),
            f"{t.share:.1%}",
            human_bytes(t.avg_bytes),
            est + human_count(t.elements),
            human_count(t.avg_elements),
        )
    parts.append(by_type)
    shown: dict[str, int] = {}
    per_type = []
    for k in report.top_by_elements:  # the table shows the top 3 of each type; JSON has all
        shown[k.type] = shown.get(k.type, 0) + 1
        if shown[k.type] <= 3:
            per_type.append(k)
    parts.append(
        _key_table("biggest keys of each type by element count (top 3)", tuple(per_type), cluster)
    )
    if report.min_bytes is not None or report.min_elements is not None:
        limits = []
        if report.min_bytes is not None:
            limits.append(f">= {human_bytes(report.min_bytes)}")
        if report.min_elements is not None:
            limits.append(f">= {report.min_elements:,} elements")
        style = "bold red" if report.over_threshold else "green"
        parts.append(
            Text(
                f"{report.over_threshold:,} keys over the threshold ({' or '.join(limits)})",
                style=style,
            )
        )
    return Group(*parts)
