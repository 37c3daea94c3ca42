"""The table of `backup restore`: what was restored per db and per node, and what was not."""

from __future__ import annotations

from typing import Any

from rich import box
from rich.console import Group, RenderableType
from rich.table import Table
from rich.text import Text

from rediscope.core.restore import RestoreReport
from rediscope.core.units import plural
from rediscope.render.base import human_bytes, renderer

#: failures shown in the table (JSON has all of them)
SHOWN_FAILURES = 20


def _headline(r: RestoreReport) -> Text:
    verb = "would restore" if r.dry_run else "restored"
    s = r.skipped
    # "exists" in a dry run too: the same word for a key already on the target
    skipped = ", ".join(f"{n:,} {what.replace('_', ' ')}" for what, n in s.items() if n)
    line = f"{verb} {plural(r.restored, 'key')} ({human_bytes(r.bytes)}) in {r.seconds:.1f}s"
    if skipped:
        line += f"; skipped: {skipped}"
    if r.failed:
        line += f"; FAILED: {r.failed:,}"
    if r.unconfirmed:
        line += f"; UNCONFIRMED: {r.unconfirmed:,} (sent, no reply: the target may hold them)"
    if r.unverified:
        line += f"; unverified: {r.unverified:,} (no CRC-64 vouches for their values)"
    f = r.functions
    if f.in_file:
        line += f"; functions: {f.restored} restored, {f.skipped} skipped, {f.failed} failed"
    style = "bold red" if r.failed or r.error or r.unconfirmed else "green" if not r.dry_run else ""
    head = Text(line, style=style)
    versions = f"RDB version: file {r.file_rdb_version}, target " + (
        "unknown" if r.target_rdb_version is None else str(r.target_rdb_version)
    )
    return Text.assemble(head, "\n", Text(f"{versions}, payloads {r.payload_rdb_version}"))


def _db_table(r: RestoreReport) -> Table:
    table = Table(box=box.SIMPLE_HEAD, title="per db", title_justify="left")
    for col in ("db", "to", "restored", "bytes", "exists", "expired", "filtered", "failed"):
        table.add_column(col, justify="left" if col in ("db", "to") else "right")
    for d in r.per_db:
        table.add_row(
            str(d.db),
            str(d.to_db),
            f"{d.restored:,}",
            human_bytes(d.bytes),
            f"{d.exists:,}",
            f"{d.expired:,}",
            f"{d.filtered:,}",
            Text(f"{d.failed:,}", style="bold red" if d.failed else ""),
        )
    return table


def _node_table(r: RestoreReport) -> Table:
    table = Table(box=box.SIMPLE_HEAD, title="per node", title_justify="left")
    for col in ("node", "restored", "bytes", "exists", "failed"):
        table.add_column(col, justify="left" if col == "node" else "right")
    for n in r.per_node:
        table.add_row(
            n.node, f"{n.restored:,}", human_bytes(n.bytes), f"{n.exists:,}", f"{n.failed:,}"
        )
    return table


@renderer(RestoreReport)
def restore_table(report: RestoreReport, **_: Any) -> RenderableType:
    parts: list[RenderableType] = [_headline(report)]
    if report.per_db:
        parts.append(_db_table(report))
    if len(report.per_node) > 1:
        parts.append(_node_table(report))
    if report.failures:
        table = Table(box=box.SIMPLE_HEAD, title="failures", title_justify="left")
        for col in ("key", "db", "node", "error"):
            table.add_column(col)
        for f in report.failures[:SHOWN_FAILURES]:
            table.add_row(f.key, str(f.db), f.node, f.error)
        parts.append(table)
        if report.failed > SHOWN_FAILURES:
            parts.append(Text(f"... and {report.failed - SHOWN_FAILURES:,} more (--format json)"))
    if report.error:
        parts.append(Text(report.error, style="bold red"))
    return Group(*parts)
