"""The hotkeys table."""

from __future__ import annotations

from typing import Any

from rich import box
from rich.console import Group, RenderableType
from rich.table import Table
from rich.text import Text

from rediscope.core.hotkeys import HotkeysReport
from rediscope.render.base import human_count, key_text, pct, renderer, scan_line, target_line


@renderer(HotkeysReport)
def hotkeys_table(report: HotkeysReport, **_: Any) -> RenderableType:
    parts: list[RenderableType] = [target_line(report.target)]
    head = Text(f"method {report.method}", style="bold")
    if report.reason:
        head.append(f" ({report.reason})", style="dim")
    parts.append(head)
    if report.method == "monitor":
        parts.append(
            Text(
                f"{report.commands_seen:,} commands in {report.window_s:.1f}s "
                f"({report.ops_per_s or 0:,.0f} ops/s)",
                style="dim",
            )
        )
    elif report.scan is not None:
        parts.append(scan_line(report.scan))
    lfu = report.method == "lfu"
    keys = Table(box=box.SIMPLE_HEAD, title=f"top {len(report.keys)} keys", title_justify="left")
    keys.add_column("#", justify="right")
    keys.add_column("key", overflow="fold", min_width=24, ratio=1)
    if lfu:
        keys.add_column("lfu counter", justify="right")
    else:
        for col in ("hits", "reads", "writes", "share"):
            keys.add_column(col, justify="right")
    keys.add_column("db", justify="right")
    if report.target.mode == "cluster":
        keys.add_column("node")
    for i, k in enumerate(report.keys, 1):
        row: list[RenderableType] = [str(i), key_text(k.key)]
        row += (
            [str(k.freq)]
            if lfu
            else [human_count(k.hits), human_count(k.reads), human_count(k.writes), pct(k.share)]
        )
        row.append(str(k.db))
        if report.target.mode == "cluster":
            row.append(k.node)
        keys.add_row(*row)
    parts.append(keys)
    if report.patterns:
        pats = Table(box=box.SIMPLE_HEAD, title="top patterns", title_justify="left")
        pats.add_column("pattern", overflow="fold", ratio=1)
        for col in ("sum of counters", "share") if lfu else ("hits", "reads", "writes", "share"):
            pats.add_column(col, justify="right")
        for p in report.patterns:
            pats.add_row(
                Text(p.pattern),
                human_count(p.hits),
                *([] if lfu else [human_count(p.reads), human_count(p.writes)]),
                pct(p.share),
            )
        parts.append(pats)
    if report.commands:
        cmds = Table(box=box.SIMPLE_HEAD, title="commands", title_justify="left")
        cmds.add_column("command")
        cmds.add_column("calls", justify="right")
        cmds.add_column("share", justify="right")
        for c in report.commands[:10]:
            cmds.add_row(c.name, human_count(c.calls), pct(c.share))
        clients = Table(box=box.SIMPLE_HEAD, title="clients", title_justify="left")
        clients.add_column("client")
        clients.add_column("calls", justify="right")
        clients.add_column("share", justify="right")
        for c in report.clients:
            clients.add_row(c.name, human_count(c.calls), pct(c.share))
        parts += [cmds, clients]
    for flag in report.flagged:
        text = Text(f"HOT: {flag.key} takes {flag.share:.0%} of the traffic; ", style="bold yellow")
        text.append("; ".join(flag.hints), style="yellow")
        parts.append(text)
    return Group(*parts)
