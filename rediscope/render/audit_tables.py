"""The table of `audit`: findings by severity, then bytes affected."""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Any

from rich import box
from rich.console import Group, RenderableType
from rich.table import Table
from rich.text import Text

from rediscope.core.audit import AuditReport, Finding
from rediscope.render.base import human_bytes, renderer, scan_line

_STYLE = {"critical": "bold red", "warning": "yellow", "info": "cyan"}


def compact_duration(seconds: int) -> str:
    """1h59m, 3d4h, 12m5s, 40s: a relative time, to the minute past an hour."""
    sign, seconds = ("-", -seconds) if seconds < 0 else ("", seconds)
    d, rest = divmod(seconds, 86400)
    h, rest = divmod(rest, 3600)
    m, s = divmod(rest, 60)
    if d:
        return f"{sign}{d}d{h}h"
    if h:
        return f"{sign}{h}h{m}m"
    return f"{sign}{m}m{s}s" if m else f"{sign}{s}s"


def _group(g: dict[str, Any]) -> str:
    lag = "unknown" if g.get("lag") is None else f"{g['lag']:,}"
    pending = "unknown" if g.get("pending") is None else f"{g['pending']:,}"
    return f"group {g.get('name')}: lag {lag}, pending {pending}"


def _evidence(f: Finding) -> str:
    shown = []
    for name, value in f.evidence.items():
        if name == "groups" and isinstance(value, list):  # queue_backlog: what to act on
            shown += [_group(g) for g in value if isinstance(g, dict)]
            continue
        if value is None or isinstance(value, list | dict):
            continue
        if name == "clock":
            continue
        if name.endswith("_at") and isinstance(value, int) and f.evidence.get("clock") == "file":
            shown.append(f"{name}=+{compact_duration(value)} after the file was written")
        elif name.endswith("_at") and isinstance(value, int):  # epoch seconds
            when = datetime.fromtimestamp(value, timezone.utc)
            shown.append(f"{name}={when:%Y-%m-%d %H:%M:%SZ}")
        elif isinstance(value, int) and not isinstance(value, bool):
            shown.append(f"{name}={value:,}")
        else:
            shown.append(f"{name}={value}")
    return ", ".join(shown)


@renderer(AuditReport)
def audit_table(report: AuditReport, width: int | None = None, **_: Any) -> RenderableType:
    s = report.summary
    head = Text(
        f"{len(report.findings)} finding(s) in {report.patterns:,} patterns: "
        f"{s['critical']} critical, {s['warning']} warning, {s['info']} info"
        + (f"; maxmemory-policy {report.policy}" if report.policy else ""),
        style="bold",
    )
    parts: list[RenderableType] = [scan_line(report.scan, report.source), head]
    if not report.findings:
        parts.append(Text("no caching-pattern mistakes found", style="green"))
        return Group(*parts)
    table = Table(box=box.SIMPLE_HEAD)
    table.add_column("severity", no_wrap=True)
    table.add_column("check", no_wrap=True)
    table.add_column("pattern", overflow="fold")
    table.add_column("affected", justify="right", no_wrap=True)  # keys the finding concerns
    table.add_column("bytes", justify="right", no_wrap=True)
    factor = report.scan.extrapolation if report.scan.sampled else 1.0
    mark = "~" if report.scan.sampled else ""
    for f in report.findings:
        table.add_row(
            Text(f.severity, style=_STYLE.get(f.severity, "")),
            f.id,
            f.pattern,
            f"{mark}{round(f.keys * factor):,}",
            "-" if f.bytes is None else mark + human_bytes(round(f.bytes * factor)),
        )
    parts.append(table)
    for f in report.findings:
        detail = Text.assemble((f"{f.id} {f.pattern} ({f.role}): ", "bold"), _evidence(f))
        if f.examples:
            detail.append(f"\n  e.g. {', '.join(f.examples)}")
        detail.append(f"\n  fix: {f.fix}", style="dim")
        parts.append(detail)
    return Group(*parts)
