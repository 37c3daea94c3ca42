"""`top` as a screen (the live view, fitted to the terminal) and as one line per interval."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from rich import box
from rich.console import Group, RenderableType
from rich.table import Table
from rich.text import Text

from rediscope.core.top.model import CommandRate, NodeView, TopReport
from rediscope.render.base import human_bytes, renderer

SORTS = ("calls", "cpu", "p99")  # `s` cycles through them
_BLOCKS = "▁▂▃▄▅▆▇█"


@dataclass
class ViewState:
    """What the keys change: the command sort, per-node rows, paused; the last minute."""

    sort: str = "calls"
    per_node: bool = True
    paused: bool = False
    ops_history: list[float] | None = None
    mem_history: list[float] | None = None
    status: str | None = None  # e.g. "server unreachable, retrying"
    live: bool = True  # the interactive screen (it shows the keys)


def sparkline(values: Sequence[float], width: int) -> str:
    """The last WIDTH values as block characters scaled to their own maximum."""
    values = list(values)[-width:]
    top = max(values, default=0.0)
    if top <= 0:
        return _BLOCKS[0] * len(values)
    return "".join(_BLOCKS[min(7, int(v / top * 7.999))] for v in values)


def _rate(n: float) -> str:
    return f"{n:,.0f}" if n >= 10 else f"{n:,.1f}"


def _pct(x: float | None) -> str:
    return "-" if x is None else f"{x * 100:.1f}%"


def _uptime(s: int) -> str:
    d, rest = divmod(s, 86400)
    if d:
        return f"{d}d{rest // 3600}h"
    return f"{rest // 3600}h{rest % 3600 // 60}m" if rest >= 60 else f"{rest}s"


def _header(r: TopReport, state: ViewState) -> Text:
    first = next((n for n in r.nodes if n.up), None)
    parts = [f"rediscope top  {r.target.url}  {r.target.mode}"]
    if first is not None:
        parts.append(f"{first.version}  {first.role}  up {_uptime(first.uptime_s)}")
    if r.cluster_state:
        parts.append(f"cluster {r.cluster_state}")
    parts.append(datetime.now().strftime("%H:%M:%S"))
    line = Text("  ".join(parts), style="bold")
    if state.paused:
        line.append("  PAUSED (p)", style="bold yellow")
    if state.status:
        line.append(f"  {state.status}", style="bold red")
    return line


def _mem_bar(used: int, limit: int, width: int = 20) -> str:
    if not limit:
        return ""
    filled = min(width, int(used / limit * width))
    return "[" + "#" * filled + "." * (width - filled) + f"] {used / limit * 100:.0f}%"


def _summary(r: TopReport, state: ViewState, width: int) -> Table:
    t, up = r.totals, [n for n in r.nodes if n.up]
    peak = sum(n.used_memory_peak for n in up)  # as used is: every node's, added up
    limit = sum(n.maxmemory for n in up) if all(n.maxmemory for n in up) else 0
    rss = sum(n.rss for n in up)
    frag = [n.fragmentation for n in up if n.fragmentation is not None]
    pairs = [
        (
            f"ops/s {_rate(t.ops_per_s)}  (r {_rate(t.reads_per_s)} / w {_rate(t.writes_per_s)})",
            f"mem {human_bytes(t.used_memory)}"
            + (f" of {human_bytes(limit)} {_mem_bar(t.used_memory, limit)}" if limit else "")
            + f"  peak {human_bytes(peak)}",
        ),
        (
            f"net in {human_bytes(t.net_in_per_s)}/s  out {human_bytes(t.net_out_per_s)}/s",
            f"rss {human_bytes(rss)}  frag {max(frag):.2f}" if frag else f"rss {human_bytes(rss)}",
        ),
        (
            f"hits {_pct(t.hit_ratio)}  expired/s {_rate(t.expired_per_s)}  "
            f"evicted/s {_rate(t.evicted_per_s)}",
            f"clients {t.clients:,}  blocked {sum(n.blocked_clients for n in up):,}  "
            f"tracking {sum(n.tracking_clients for n in up):,}  keys {t.keys:,}",
        ),
    ]
    grid = Table.grid(padding=(0, 2))
    two = all(len(a) <= 36 and 38 + len(b) <= width for a, b in pairs)  # else one a line
    grid.add_column(min_width=36 if two else None, no_wrap=True)
    if two:
        grid.add_column(no_wrap=True)
    for left, right in pairs:
        for row in [(left, right)] if two else [(left,), (right,)]:
            grid.add_row(*row)
    spark = max(10, min(60, width - 24))
    if state.ops_history:
        grid.add_row(f"ops/s {sparkline(state.ops_history, spark)}", "")
    if state.mem_history:
        grid.add_row(f"mem   {sparkline(state.mem_history, spark)}", "")
    return grid


def _sorted(commands: Sequence[CommandRate], sort: str) -> list[CommandRate]:
    if sort == "cpu":
        return sorted(commands, key=lambda c: -c.usec_per_s)
    if sort == "p99":
        return sorted(commands, key=lambda c: -(c.p99_usec or 0))
    return list(commands)


def _commands_table(r: TopReport, sort: str, rows: int, live: bool = True) -> Table:
    title = f"commands (by {sort}; s: sort)" if live else f"commands (by {sort})"
    table = Table(box=box.SIMPLE_HEAD, title=title, title_justify="left")
    for col in ("command", "calls/s", "cpu %", "µs/call", "p50 µs", "p99 µs", "kind"):
        table.add_column(col, justify="left" if col in ("command", "kind") else "right")
    for c in _sorted(r.commands, sort)[: max(1, rows)]:
        table.add_row(
            c.name,
            _rate(c.calls_per_s),
            f"{c.usec_per_s / 1e4:.1f}",
            "-" if c.usec_per_call is None else f"{c.usec_per_call:.1f}",
            "-" if c.p50_usec is None else f"{c.p50_usec:.1f}",
            "-" if c.p99_usec is None else f"{c.p99_usec:.1f}",
            c.kind,
        )
    return table


def _node_row(n: NodeView) -> list[Any]:
    if not n.up:
        return [n.address, n.role, Text(f"DOWN: {n.error}", style="bold red"), "", "", "", ""]
    lag = max((x.lag_bytes for x in n.replicas), default=None)
    return [
        n.address,
        n.role,
        _rate(n.ops_per_s),
        human_bytes(n.used_memory),
        f"{sum(d['keys'] for d in n.keys.values()):,}",
        f"{n.clients:,}",
        "-" if lag is None else human_bytes(lag),
    ]


def _nodes_table(r: TopReport) -> Table:
    table = Table(box=box.SIMPLE_HEAD, title="nodes (n: hide)", title_justify="left")
    for col in ("node", "role", "ops/s", "memory", "keys", "clients", "repl lag"):
        table.add_column(col, justify="left" if col in ("node", "role") else "right")
    for n in r.nodes:
        table.add_row(*_node_row(n))
    if len(r.nodes) > 1:
        t = r.totals
        table.add_row(
            "total",
            "",
            _rate(t.ops_per_s),
            human_bytes(t.used_memory),
            f"{t.keys:,}",
            f"{t.clients:,}",
            "",
            style="bold",
        )
    return table


def _replication(r: TopReport) -> Table | None:
    rows = [(n.address, x) for n in r.nodes if n.up for x in n.replicas]
    if not rows:
        return None
    table = Table(box=box.SIMPLE_HEAD, title="replicas", title_justify="left")
    for col in ("primary", "replica", "state", "lag bytes", "lag s"):
        table.add_column(col)
    for primary, x in rows:
        table.add_row(
            primary,
            x.address,
            x.state,
            f"{x.lag_bytes:,}",
            "-" if x.lag_s is None else str(x.lag_s),
        )
    return table


def _hot_slots(r: TopReport) -> Table:
    """A cluster's hottest slots: CPU time and network bytes per second in the interval where
    the server counts them, their totals since the stats were reset, the keys."""
    title = f"hot slots (CLUSTER SLOT-STATS by {r.hot_slots_by})"
    table = Table(box=box.SIMPLE_HEAD, title=title, title_justify="left")
    for col in ("slot", "node", "keys", "cpu µs/s", "net/s", "cpu µs total", "net total"):
        table.add_column(col, justify="left" if col == "node" else "right")
    for h in r.hot_slots:
        net = (
            None if h.network_bytes_in is None else h.network_bytes_in + (h.network_bytes_out or 0)
        )
        table.add_row(
            str(h.slot),
            h.node,
            f"{h.keys:,}",
            "-" if h.cpu_usec_per_s is None else _rate(h.cpu_usec_per_s),
            "-" if h.network_bytes_per_s is None else human_bytes(h.network_bytes_per_s) + "/s",
            "-" if h.cpu_usec is None else f"{h.cpu_usec:,}",
            human_bytes(net),
        )
    return table


def top_screen(r: TopReport, state: ViewState, width: int, height: int) -> RenderableType:
    """The live screen, fitted to WIDTH x HEIGHT: the commands table gets the rows left."""
    parts: list[RenderableType] = [_header(r, state), _summary(r, state, width)]
    used = 2 + 3 + (2 if state.ops_history else 0)
    if state.per_node and (len(r.nodes) > 1 or not r.nodes[0].up):
        parts.append(_nodes_table(r))
        used += len(r.nodes) + 4
    if r.hot_slots and height - used > 14:
        parts.append(_hot_slots(r))
        used += len(r.hot_slots) + 4
    repl = _replication(r)
    if repl is not None and height - used > 12:
        parts.append(repl)
        used += repl.row_count + 4
    if r.buffers and height - used > 10:
        buf = Table(box=box.SIMPLE_HEAD, title="biggest output buffers", title_justify="left")
        for col in ("node", "client", "omem", "cmd"):
            buf.add_column(col)
        for b in r.buffers:
            buf.add_row(b.node, b.client, human_bytes(b.omem), b.cmd)
        parts.append(buf)
        used += len(r.buffers) + 4
    parts.append(_commands_table(r, state.sort, height - used - 5, state.live))
    if state.live:
        parts.append(Text("q quit  p pause  s sort  n nodes", style="dim"))
    return Group(*parts)


LINE_HEADER = (
    "time      ops/s    reads/s  writes/s  hit%    mem       clients  net-in/s  net-out/s  top"
)


def top_line(r: TopReport) -> str:
    """One interval as one line (piped output, `--count`)."""
    t = r.totals
    top = r.commands[0].name if r.commands else "-"
    down = sum(1 for n in r.nodes if not n.up)
    return (
        f"{datetime.now():%H:%M:%S}  {t.ops_per_s:>7,.0f}  {t.reads_per_s:>8,.0f}  "
        f"{t.writes_per_s:>8,.0f}  {_pct(t.hit_ratio):>6}  {human_bytes(t.used_memory):>8}  "
        f"{t.clients:>7,}  {human_bytes(t.net_in_per_s):>8}  {human_bytes(t.net_out_per_s):>9}  "
        f"{top}" + (f"  ({down} node(s) down)" if down else "")
    )


@renderer(TopReport)
def top_table(report: TopReport, width: int | None = None, **_: Any) -> RenderableType:
    """--once: the screen, unbounded in height."""
    return top_screen(report, ViewState(live=False), width or 100, 200)
