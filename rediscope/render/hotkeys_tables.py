"""The hotkeys table."""

from __future__ import annotations

from typing import Any

from rich.console import Group, RenderableType
from rich.table import Table
from rich.text import Text

from rediscope.core.hotkeys import HotkeysReport
from rediscope.core.keynames import display_key
from rediscope.core.units import plural
from rediscope.render.base import human_count, key_text, pct, renderer, scan_line, target_line
from rediscope.render.fit import MIN_KEY, Col, fit_table, middle


@renderer(HotkeysReport)
def hotkeys_table(report: HotkeysReport, width: int | None = None, **_: Any) -> RenderableType:
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
    parts.append(_hot_keys(report, width))
    if report.patterns:
        cols = [Col("pattern", "key")]
        cols += [Col(c, "num") for c in (("sum of counters", "share") if lfu else HITS)]
        rows: list[list[RenderableType]] = [
            [
                Text(p.pattern),
                human_count(p.hits),
                *([] if lfu else [human_count(p.reads), human_count(p.writes)]),
                pct(p.share),
            ]
            for p in report.patterns
        ]
        parts.append(fit_table(cols, rows, width, "top patterns"))
    if report.hot_slots:
        parts.append(_hot_slots(report, width))
    if report.commands:
        cols = [Col("command", "key"), Col("calls", "num"), Col("share", "num")]
        rows = [[c.name, human_count(c.calls), pct(c.share)] for c in report.commands[:10]]
        parts.append(fit_table(cols, rows, width, "commands"))
        cols = [Col("client", "key"), Col("calls", "num"), Col("share", "num")]
        rows = [[c.name, human_count(c.calls), pct(c.share)] for c in report.clients]
        parts.append(fit_table(cols, rows, width, "clients"))
    for flag in report.flagged:
        hot = display_key(flag.key)
        if width is not None:  # the sentence fits the line: the key cut in the middle
            hot = middle(hot, max(MIN_KEY, width - 40))
        text = Text(f"HOT: {hot} takes {flag.share:.0%} of the traffic; ", style="bold yellow")
        text.append("; ".join(flag.hints), style="yellow")
        parts.append(text)
    return Group(*parts)


HITS = ("hits", "reads", "writes", "share")


def _hot_keys(report: HotkeysReport, width: int | None) -> Table:
    lfu = report.method == "lfu"
    cluster = report.target.mode == "cluster"
    cols = [Col("#", "num", drop=3), Col("key", "key")]
    cols += [Col("lfu counter", "num")] if lfu else [Col(c, "num") for c in HITS]
    cols.append(Col("db", "num", drop=2))
    if cluster:
        cols.append(Col("node", drop=1))
    rows = []
    for i, k in enumerate(report.keys, 1):
        row: list[RenderableType] = [str(i), key_text(k.key)]
        row += (
            [str(k.freq)]
            if lfu
            else [human_count(k.hits), human_count(k.reads), human_count(k.writes), pct(k.share)]
        )
        row.append(str(k.db))
        if cluster:
            row.append(k.node)
        rows.append(row)
    return fit_table(cols, rows, width, f"top {plural(len(report.keys), 'key')}")


def _hot_slots(report: HotkeysReport, width: int | None) -> Table:
    """A cluster's slots that take the traffic: the hot keys in each, the server's CPU time."""
    cols = [Col("slot", "num"), Col("node"), Col("hot keys", "num"), Col("hits", "num")]
    cols += [Col("cpu µs (server)", "num"), Col("keys", "num", drop=1)]
    rows: list[list[RenderableType]] = [
        [
            str(h.slot),
            h.node or "-",
            human_count(h.hot_keys),
            human_count(h.hits),
            human_count(h.cpu_usec),
            human_count(h.keys),
        ]
        for h in report.hot_slots
    ]
    return fit_table(cols, rows, width, "slots that take the traffic")
