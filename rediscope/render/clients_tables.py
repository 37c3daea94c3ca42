"""The clients table (fitted to the terminal; whole when piped) and the JSONL row of a client."""

from __future__ import annotations

import json
from typing import Any

from rich.console import Group, RenderableType
from rich.text import Text

from rediscope.core.clients import ClientRow, ClientsReport
from rediscope.core.clients.model import ClientGroup, NodeClients, gate_value
from rediscope.core.keynames import display_key, json_key
from rediscope.core.units import short_duration
from rediscope.render.base import human_bytes, human_count, pct, renderer, target_line
from rediscope.render.fit import Col, fit_table

_EMPTY = {"name": "(no name)", "user": "(none)", "addr": "(none)", "cmd": "(none)", "db": "-"}


def _key(group: ClientGroup, by: str) -> Text:
    return Text(display_key(group.key) if group.key else _EMPTY[by], overflow="fold")


def _seconds(value: float | None) -> str:
    return "-" if value is None else short_duration(value)


def _groups(
    width: int | None,
    groups: tuple[ClientGroup, ...],
    by: str,
    total: int,
) -> RenderableType:
    cols = [
        Col(by, "key"),
        Col("conns", "num"),
        Col("idle p50", "num", drop=5),
        Col("idle max", "num"),
        Col("age max", "num", drop=6),
        Col("blocked", "num", drop=1),
        Col("multi", "num", drop=1),
        Col("subs", "num"),
        Col("track", "num", drop=7),
        Col("tot-mem", "num", drop=3),
        Col("omem", "num"),
        Col("qbuf", "num", drop=4),
    ]
    rows: list[list[RenderableType]] = [
        [
            _key(g, by),
            human_count(g.connections),
            ("~" if g.median_sampled else "") + _seconds(g.idle_median_s),
            _seconds(g.idle_max_s),
            _seconds(g.age_max_s),
            human_count(g.blocked),
            human_count(g.in_multi),
            human_count(g.subscriptions),
            human_count(g.tracking),
            human_bytes(g.tot_mem),
            human_bytes(g.omem),
            human_bytes(g.qbuf),
        ]
        for g in groups
    ]
    more = f" ({len(groups)} of {total})" if len(groups) < total else ""
    return fit_table(cols, rows, width, f"connections by {by}{more}")


def _nodes(report: ClientsReport, width: int | None) -> RenderableType:
    cols = [
        Col("node", "key"),
        Col("role", drop=3),
        Col("clients", "num"),
        Col("of max", "num"),
        Col("new/s", "num"),
        Col("rejected", "num", drop=2),
        Col("ours", "num", drop=4),
        Col("error", "text", drop=1),
    ]
    rows: list[list[RenderableType]] = [_node_row(n) for n in report.nodes]
    return fit_table(cols, rows, width, "nodes")


def _node_row(n: NodeClients) -> list[RenderableType]:
    rate = "-" if n.connections_per_s is None else f"{n.connections_per_s:,.1f}"
    return [
        Text(n.address),
        n.role,
        human_count(n.connected_clients) if not n.error else "-",
        pct(n.maxclients_share),
        rate,
        human_count(n.rejected_in_window),
        human_count(n.own),
        Text(n.error or "", style="red"),
    ]


def _summary(report: ClientsReport) -> Text:
    t = report.totals
    text = Text()
    text.append(f"{t.connections:,} connections", style="bold")
    text.append(
        f" (and {t.own} of rediscope's own); {t.blocked} blocked, {t.in_multi} in MULTI, "
        f"{t.subscribers} subscribed, {t.tracking} tracking, {t.monitors} MONITOR; "
        f"client memory {human_bytes(t.tot_mem)}, output buffers {human_bytes(t.omem)}"
    )
    if t.maxclients_share is not None:
        text.append(f"; maxclients {t.maxclients_share:.1%} used (the fullest node)")
    if t.connections_per_s is not None:
        text.append(
            f"\nchurn: {t.connections_received:,} new connections in the "
            f"{report.window_s:g} s window ({t.connections_per_s:,.1f}/s), "
            f"{t.rejected_in_window or 0:,} rejected"
        )
    return text


def _culprits(report: ClientsReport) -> list[RenderableType]:
    if not report.culprits:
        return [Text("no client hurts: no big buffer, no MONITOR, no long-idle connection")]
    out: list[RenderableType] = [Text("the clients that hurt", style="bold")]
    style = {"output_buffer": "bold red", "query_buffer": "red", "monitor": "yellow"}
    for c in report.culprits:
        line = Text(f"{c.kind.replace('_', ' ').upper()}: ", style=style.get(c.kind, "yellow"))
        line.append(c.evidence)
        out.append(line)
    return out


def _gates(report: ClientsReport) -> list[RenderableType]:
    out: list[RenderableType] = []
    for g in report.gates:
        value = gate_value(g)
        where = f" on {g.node}" if g.node else ""
        state, style = ("TRIPPED", "bold red") if g.tripped else ("ok", "green")
        line = Text(f"--fail-if {g.expr}: ", style="bold")
        line.append(state, style=style)
        line.append(f" ({value}{where})")
        out.append(line)
    return out


@renderer(ClientsReport)
def clients_table(report: ClientsReport, width: int | None = None, **_: Any) -> RenderableType:
    parts: list[RenderableType] = [target_line(report.target), _summary(report)]
    if report.groups:
        parts.append(_groups(width, report.groups, report.by, report.groups_total))
        if report.by != "addr":
            parts.append(_groups(width, report.hosts, "addr", report.hosts_total))
    else:
        parts.append(Text("no client is connected but rediscope itself", style="dim"))
    if len(report.nodes) > 1 or any(n.error for n in report.nodes):
        parts.append(_nodes(report, width))
    parts += _culprits(report)
    parts += _gates(report)
    if report.interrupted:
        parts.append(Text("interrupted: partial (complete: false)", style="bold red"))
    return Group(*parts)


def client_jsonl(row: ClientRow) -> str:
    """One CLIENT LIST row as one JSON line (names, addresses and users as keys are: text,
    or redis-cli's quoted form with `<field>_escaped: true`)."""
    out: dict[str, Any] = {}
    for name, value in row.__dict__.items():
        if isinstance(value, bytes):
            out[name], escaped = json_key(value)
            if escaped:
                out[f"{name}_escaped"] = True
        else:
            out[name] = value
    for prop in ("blocked", "in_multi", "subscriptions", "tracking", "monitor"):
        out[prop] = getattr(row, prop)
    return json.dumps(out, ensure_ascii=False)
