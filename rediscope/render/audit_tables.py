"""The table of `audit`: findings by severity, then bytes affected."""

from __future__ import annotations

from typing import Any

from rich import box
from rich.console import Group, RenderableType
from rich.table import Table
from rich.text import Text

from rediscope.core.audit import AuditReport, Finding
from rediscope.render.base import human_bytes, renderer, scan_line

_STYLE = {"critical": "bold red", "warning": "yellow", "info": "cyan"}


def _evidence(f: Finding) -> str:
    shown = []
    for name, value in f.evidence.items():
        if value is None or isinstance(value, list | dict):
            continue
        shown.append(
            f"{name}={value:,}"
            if isinstance(value, int) and not isinstance(value, bool)
            else f"{name}={value}"
        )
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
    for col in ("severity", "check", "pattern", "role", "keys", "bytes"):
        table.add_column(col, justify="right" if col in ("keys", "bytes") else "left")
    for f in report.findings:
        table.add_row(
            Text(f.severity, style=_STYLE.get(f.severity, "")),
            f.id,
            f.pattern,
            f.role,
            f"{f.keys:,}",
            human_bytes(f.bytes),
        )
    parts.append(table)
    for f in report.findings:
        detail = Text.assemble((f"{f.id} {f.pattern}: ", "bold"), _evidence(f))
        if f.examples:
            detail.append(f"\n  e.g. {', '.join(f.examples)}")
        detail.append(f"\n  fix: {f.fix}", style="dim")
        parts.append(detail)
    return Group(*parts)
