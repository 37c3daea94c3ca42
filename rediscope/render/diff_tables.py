"""`rediscope diff` as tables: the two sides, the totals with growth per day, the patterns
(sorted by --sort), new and vanished patterns, per type and db, and the keys that grew most."""

from __future__ import annotations

from typing import Any

from rich.console import Group, RenderableType
from rich.table import Table
from rich.text import Text

from rediscope.core.diff.report import DiffReport, GroupDelta, KeyGrowth, PatternDelta, Side
from rediscope.core.units import short_duration
from rediscope.render.base import human_bytes, human_count, key_text, kv_table, renderer
from rediscope.render.fit import Col, fit_table

KEYS_SHOWN = 10


def signed_bytes(n: int | float | None) -> str:
    if n is None:
        return "-"
    return ("+" if n > 0 else "-" if n < 0 else "±") + human_bytes(abs(n))


def signed_count(n: int | None) -> str:
    return "-" if n is None else f"{n:+,}"


def growth(x: float | None) -> str:
    return "-" if x is None else f"{x:+.1f}%"


def share(x: float | None) -> str:
    return "-" if x is None else f"{x:.0%}"


def mean(x: float | None) -> str:
    return "-" if x is None else f"{x:,.1f}"


def _side(name: str, side: Side) -> tuple[str, Text]:
    when = f"taken {side.time} ({side.time_source})" if side.time else "time unknown"
    text = Text(f"{side.given} [{side.kind}]  {when}  ")
    text.append(f"{human_count(side.keys)} keys, {human_bytes(side.bytes)}")
    if side.sampled:
        text.append("  (sampled)", style="dim")
    if not side.complete:
        text.append("  INCOMPLETE", style="bold red")
    return name, text


def _summary(report: DiffReport) -> Table:
    t = report.totals
    rows: list[tuple[str, Any]] = [_side("OLD", report.old), _side("NEW", report.new)]
    between = "unknown"
    if report.seconds_between is not None:
        between = short_duration(abs(report.seconds_between))
    rows.append(("between", between))
    change = (
        f"{signed_count(t.keys_delta)} keys, {signed_bytes(t.bytes_delta)} ({growth(t.growth_pct)})"
    )
    if report.bytes_per_day is not None:
        change += f"; {signed_bytes(report.bytes_per_day)}/day"
    rows.append(("change", change))
    if report.bytes_per_day is None and report.keys_per_day is None:
        rows.append(("per day", _no_rate(report)))
    if report.movers:
        rows.append(("grew most", ", ".join(report.movers[:5])))
    for gate in report.gates:
        verdict = "TRIPPED" if gate.tripped else "ok"
        rows.append((f"--{gate.option}", f"{gate.threshold_pct:g}%: {verdict}"))
    return kv_table(rows)


def _no_rate(report: DiffReport) -> str:
    if report.seconds_between is None:
        return "unknown (the time between the sides is not known)"
    if abs(report.seconds_between) < report.rates_min_seconds:
        least = short_duration(report.rates_min_seconds)
        return f"unknown (the sides are less than {least} apart: not extrapolated to a day)"
    return "unknown"


def _patterns(rows: tuple[PatternDelta, ...], width: int | None, title: str) -> Table:
    cols = [
        Col("pattern", "key"),
        Col("status", drop=5),
        Col("keys old", "num", drop=3),
        Col("keys new", "num"),
        Col("Δ keys", "num"),
        Col("bytes old", "num", drop=4),
        Col("bytes new", "num"),
        Col("Δ bytes", "num"),
        Col("growth", "num", drop=1),
        Col("/day", "num", drop=6),
        Col("ttl old→new", drop=7),
        Col("elems old→new", drop=8),
    ]
    out: list[list[RenderableType]] = [
        [
            Text(p.pattern),
            p.status,
            human_count(p.old.keys),
            human_count(p.new.keys),
            signed_count(p.keys_delta),
            human_bytes(p.old.bytes),
            human_bytes(p.new.bytes),
            signed_bytes(p.bytes_delta),
            growth(p.growth_pct),
            signed_bytes(p.bytes_per_day),
            f"{share(p.old.ttl_share)}→{share(p.new.ttl_share)}",
            f"{mean(p.old.mean_elements)}→{mean(p.new.mean_elements)}",
        ]
        for p in rows
    ]
    return fit_table(cols, out, width, title)


def _groups(title: str, rows: tuple[GroupDelta, ...], width: int | None) -> Table:
    cols = [
        Col(title),
        Col("keys old", "num"),
        Col("keys new", "num"),
        Col("Δ keys", "num"),
        Col("bytes old", "num", drop=2),
        Col("bytes new", "num", drop=1),
        Col("Δ bytes", "num"),
        Col("growth", "num"),
    ]
    out = [
        [
            g.name,
            human_count(g.old_keys),
            human_count(g.new_keys),
            signed_count(g.keys_delta),
            human_bytes(g.old_bytes),
            human_bytes(g.new_bytes),
            signed_bytes(g.bytes_delta),
            growth(g.growth_pct),
        ]
        for g in rows
    ]
    return fit_table(cols, out, width)


def _keys(report: DiffReport, width: int | None) -> list[RenderableType]:
    if report.keys_grown is None or report.keys_bound is None:
        return []
    out: list[RenderableType] = []
    grown = report.keys_grown[:KEYS_SHOWN]
    if grown:
        out.append(fit_table(_KEY_COLS, [_key_row(k) for k in grown], width, "keys that grew most"))
    else:
        out.append(Text("no key among NEW's biggest grew", style="dim"))
    fresh = (report.keys_new or ())[:KEYS_SHOWN]
    if fresh:
        rows = [_key_row(k) for k in fresh]
        out.append(fit_table(_KEY_COLS, rows, width, "new keys (not in OLD), biggest first"))
    out.append(Text(report.keys_bound.how, style="dim"))
    return out


_KEY_COLS = [
    Col("key", "key"),
    Col("db", "num", drop=2),
    Col("type", drop=1),
    Col("bytes old", "num"),
    Col("bytes new", "num"),
    Col("Δ bytes", "num"),
]


def _key_row(k: KeyGrowth) -> list[RenderableType]:
    return [
        key_text(k.key),
        str(k.db),
        k.type,
        human_bytes(k.old_bytes) if k.old_bytes is not None else "new",
        human_bytes(k.new_bytes),
        signed_bytes(k.bytes_delta),
    ]


@renderer(DiffReport)
def diff_table(report: DiffReport, top: int = 30, width: int | None = None, **_: Any) -> Group:
    parts: list[RenderableType] = [_summary(report)]
    shown = report.patterns[:top]
    title = f"{len(report.patterns)} patterns" + (
        f" (top {len(shown)} by {report.sort})" if len(shown) < len(report.patterns) else ""
    )
    parts.append(_patterns(shown, width, title))
    for label, names in (("new", report.new_patterns), ("vanished", report.vanished_patterns)):
        if names:
            parts.append(Text(f"{label}: " + ", ".join(names), overflow="fold"))
    parts.append(_groups("type", report.by_type, width))
    if report.by_db:
        parts.append(_groups("db", report.by_db, width))
    parts += _keys(report, width)
    return Group(*parts)
