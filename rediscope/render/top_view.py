"""`top` as a screen (the live view, fitted to the terminal) and as one line per interval."""

from __future__ import annotations

import io
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from rich import box
from rich.console import Console, Group, RenderableType
from rich.table import Table
from rich.text import Text

from rediscope.core.top.model import CommandRate, NodeView, TopReport
from rediscope.core.top.rates import node_keys, total
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


UNKNOWN = "unknown"  # a measure not read from a node (it did not answer): never shown as 0


def _rate(n: float | None) -> str:
    if n is None:
        return UNKNOWN
    return f"{n:,.0f}" if n >= 10 else f"{n:,.1f}"


def _bytes(n: int | None) -> str:
    return UNKNOWN if n is None else human_bytes(n)


def _count(n: int | None) -> str:
    return UNKNOWN if n is None else f"{n:,}"


def _pct(x: float | None) -> str:
    return "-" if x is None else f"{x * 100:.1f}%"


def _uptime(s: int) -> str:
    d, rest = divmod(s, 86400)
    if d:
        return f"{d}d{rest // 3600}h"
    return f"{rest // 3600}h{rest % 3600 // 60}m" if rest >= 60 else f"{rest}s"


def _header(r: TopReport, state: ViewState) -> Text:
    first = next((n for n in r.nodes if n.up and n.uptime_s is not None), None)
    parts = [f"rediscope top  {r.target.url}  {r.target.mode}"]
    if first is not None and first.uptime_s is not None:
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


def _summary(r: TopReport, state: ViewState, width: int, sparks: bool = True) -> Table:
    """Throughput on the left, memory and clients on the right (one a line when the two do not
    fit side by side: a value never wraps away from its name)."""
    t, up = r.totals, [n for n in r.nodes if n.up]
    peak = total(n.used_memory_peak for n in up)  # as used is: every node's, added up
    limit = total(n.maxmemory for n in up) if all(n.maxmemory for n in up) else 0
    frag = [n.fragmentation for n in up if n.fragmentation is not None]
    bar = _mem_bar(t.used_memory, limit, 20 if width >= 120 else 10)
    pairs = [
        (
            f"ops/s {_rate(t.ops_per_s)}  (r {_rate(t.reads_per_s)} / w {_rate(t.writes_per_s)})",
            f"mem {human_bytes(t.used_memory)}"
            + (f" of {human_bytes(limit)} {bar}" if limit else "")
            + f"  peak {human_bytes(peak)}",
        ),
        (
            f"net in {human_bytes(t.net_in_per_s)}/s  out {human_bytes(t.net_out_per_s)}/s",
            f"rss {human_bytes(total(n.rss for n in up))}"
            + (f"  frag {max(frag):.2f}" if frag else "")
            + f"  keys {t.keys:,}",
        ),
        (
            f"hits {_pct(t.hit_ratio)}  expired/s {_rate(t.expired_per_s)}  "
            f"evicted/s {_rate(t.evicted_per_s)}",
            f"clients {t.clients:,}  blocked {total(n.blocked_clients for n in up):,}  "
            f"tracking {total(n.tracking_clients for n in up):,}",
        ),
    ]
    left = max(36, *(len(a) for a, _ in pairs))
    two = left + 2 + max(len(b) for _, b in pairs) <= width  # else one a line
    grid = Table.grid(padding=(0, 2))
    grid.add_column(min_width=left if two else None, no_wrap=True)
    if two:
        grid.add_column(no_wrap=True)
    for a, b in pairs:
        for row in [(a, b)] if two else [(a,), (b,)]:
            grid.add_row(*row)
    spark = max(10, min(60, width - 24))
    if state.ops_history and sparks:
        grid.add_row(f"ops/s {sparkline(state.ops_history, spark)}", "")
    if state.mem_history and sparks:
        grid.add_row(f"mem   {sparkline(state.mem_history, spark)}", "")
    return grid


def _partial(r: TopReport) -> str:
    """What the totals leave out, in words (they are sums of the nodes that were read)."""
    n, out = len(r.nodes), len(r.totals.missing)
    return f"totals are of {n - out} of {n} nodes: {out} not read (unknown)"


def _sorted(commands: Sequence[CommandRate], sort: str) -> list[CommandRate]:
    if sort == "cpu":
        return sorted(commands, key=lambda c: -c.usec_per_s)
    if sort == "p99":
        return sorted(commands, key=lambda c: -(c.p99_usec or 0))
    return list(commands)


def _commands_table(r: TopReport, sort: str, rows: int, live: bool = True) -> Table:
    title = f"commands (by {sort}; s: sort)" if live else f"commands (by {sort})"
    table = Table(box=box.SIMPLE_HEAD, show_edge=False, title=title, title_justify="left")
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
    lag = max((x.lag_bytes for x in n.replicas), default=None)
    return [
        n.address,
        n.role if n.up else Text("DOWN", style="bold red"),
        _rate(n.ops_per_s),
        _bytes(n.used_memory),
        _count(node_keys(n)),
        _count(n.clients),
        "-" if lag is None else human_bytes(lag),
    ]


def _nodes_table(r: TopReport, live: bool = True) -> Table:
    title = "nodes (n: hide)" if live else "nodes"
    table = Table(box=box.SIMPLE_HEAD, show_edge=False, title=title, title_justify="left")
    for col in ("node", "role", "ops/s", "memory", "keys", "clients", "repl lag"):
        table.add_column(col, justify="left" if col in ("node", "role") else "right")
    for n in r.nodes:
        table.add_row(*_node_row(n))
    down = [f"{n.address}: {n.error}" for n in r.nodes if not n.up and n.error]
    if down:
        table.caption, table.caption_justify = "\n".join(down), "left"
    if len(r.nodes) > 1:
        t, count = r.totals, len(r.nodes)
        table.add_row(
            f"total of {count - len(t.missing)}/{count}" if t.partial else "total",
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
    table = Table(box=box.SIMPLE_HEAD, show_edge=False, title="replicas", title_justify="left")
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
    table = Table(box=box.SIMPLE_HEAD, show_edge=False, title=title, title_justify="left")
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


def _height(parts: list[RenderableType], width: int) -> int:
    """The lines PARTS take at WIDTH, as drawn (a header or a caption that wraps included)."""
    console = Console(width=width, file=io.StringIO(), color_system=None, legacy_windows=False)
    return len(console.render_lines(Group(*parts), console.options, pad=False))


def top_screen(r: TopReport, state: ViewState, width: int, height: int) -> RenderableType:
    """The live screen, fitted to WIDTH x HEIGHT: the other parts measured as drawn, the
    commands table gets the rows left (the sparklines give theirs up first), so the key hints
    stay on the screen."""
    for sparks in (True, False):
        parts: list[RenderableType] = [_header(r, state), _summary(r, state, width, sparks)]
        if r.totals.partial:
            parts.append(Text(_partial(r), style="bold red"))
        if state.per_node and (len(r.nodes) > 1 or not r.nodes[0].up):
            parts.append(_nodes_table(r, state.live))
        optional: list[tuple[int, RenderableType | None]] = [
            (14, _hot_slots(r) if r.hot_slots else None),
            (12, _replication(r)),
            (10, _buffers(r) if r.buffers else None),
        ]
        for room, part in optional:  # each only while the screen has room for it
            if part is not None and height - _height(parts, width) > room:
                parts.append(part)
        hints = [Text("q quit  p pause  s sort  n nodes", style="dim")] if state.live else []
        one_row = _commands_table(r, state.sort, 1, state.live)
        rows = height - _height([*parts, one_row, *hints], width) + 1
        if rows >= 3 or not (state.ops_history or state.mem_history):
            break
    return Group(*parts, _commands_table(r, state.sort, rows, state.live), *hints)


def _buffers(r: TopReport) -> Table:
    buf = Table(
        box=box.SIMPLE_HEAD, show_edge=False, title="biggest output buffers", title_justify="left"
    )
    for col in ("node", "client", "omem", "cmd"):
        buf.add_column(col)
    for b in r.buffers:
        buf.add_row(b.node, b.client, human_bytes(b.omem), b.cmd)
    return buf


LINE_HEADER = (
    "time      ops/s    reads/s  writes/s  hit%    mem       clients  net-in/s  net-out/s  top"
)


def top_line(r: TopReport) -> str:
    """One interval as one line (piped output, `--count`)."""
    t = r.totals
    top = r.commands[0].name if r.commands else "-"
    out = len(t.missing)
    return (
        f"{datetime.now():%H:%M:%S}  {t.ops_per_s:>7,.0f}  {t.reads_per_s:>8,.0f}  "
        f"{t.writes_per_s:>8,.0f}  {_pct(t.hit_ratio):>6}  {human_bytes(t.used_memory):>8}  "
        f"{t.clients:>7,}  {human_bytes(t.net_in_per_s):>8}  {human_bytes(t.net_out_per_s):>9}  "
        f"{top}" + (f"  (partial: {out} of {len(r.nodes)} node(s) not read)" if out else "")
    )


@renderer(TopReport)
def top_table(report: TopReport, width: int | None = None, **_: Any) -> RenderableType:
    """--once: the screen, unbounded in height."""
    return top_screen(report, ViewState(live=False), width or 100, 200)
