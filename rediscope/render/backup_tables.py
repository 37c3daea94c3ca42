"""Tables of backup run, list, verify and prune."""

from __future__ import annotations

from typing import Any

from rich import box
from rich.console import Group, RenderableType
from rich.table import Table
from rich.text import Text

from rediscope.core.backup import (
    BackupListReport,
    BackupRunReport,
    ListedBackup,
    PruneReport,
    VerifyReport,
)
from rediscope.render.base import human_bytes, human_count, human_ttl, kv_table, renderer


@renderer(BackupRunReport)
def backup_run_table(report: BackupRunReport, **_: Any) -> RenderableType:
    rows: list[tuple[str, Any]] = [
        ("target", report.target.url),
        ("manifest", f"{report.directory}/{report.manifest}"),
        ("method", f"{report.method}, {report.compression}"),
        ("size", f"{human_bytes(report.bytes)} ({human_bytes(report.bytes_raw)} RDB)"),
        ("took", f"{report.seconds:.1f}s"),
    ]
    for f in report.files:
        rows.append(
            (
                "file",
                f"{f.file}  RDB v{f.rdb_version}, crc64 {f.crc64}, "
                f"{sum(f.keys.values()):,} keys, verified",
            )
        )
    if report.pruned:
        rows.append(("pruned", ", ".join(report.pruned)))
    return kv_table(rows)


_STATE_TEXT = {
    "ok": Text("ok", style="green"),
    "verified": Text("verified", style="green"),
    "unverified": Text("UNVERIFIED", style="yellow"),
    "missing": Text("MISSING", style="bold red"),
    "damaged": Text("DAMAGED", style="bold red"),
    "bad": Text("BAD", style="bold red"),
}


def _backup_rows(title: str, backups: tuple[ListedBackup, ...], keep: bool) -> Table:
    table = Table(box=box.SIMPLE_HEAD, title=title, title_justify="left")
    for col in ("backup", "time (UTC)", "age", "size", "ratio", "rdb", "keys", "state"):
        table.add_column(col, justify="right" if col in ("size", "ratio", "keys") else "left")
    if keep:
        table.add_column("kept by")
    for b in backups:
        row: list[RenderableType] = [
            b.base,
            b.time,
            human_ttl(b.age_s),
            human_bytes(b.bytes),
            "-" if b.ratio is None else f"{b.ratio:.0%}",
            "-" if b.rdb_version is None else f"v{b.rdb_version}",
            human_count(b.keys),
            _STATE_TEXT.get(b.state, Text(b.state)),
        ]
        if keep:
            row.append(", ".join(b.keep or ()))
        table.add_row(*row)
    return table


@renderer(BackupListReport)
def backup_list_table(report: BackupListReport, **_: Any) -> RenderableType:
    if not report.backups:
        return Text(f"no backups in {report.directory}")
    return _backup_rows(
        f"{len(report.backups)} backups in {report.directory}", report.backups, False
    )


@renderer(VerifyReport)
def verify_table(report: VerifyReport, **_: Any) -> RenderableType:
    table = Table(box=box.SIMPLE_HEAD)
    for col in ("file", "result", "rdb", "crc64"):
        table.add_column(col)
    for f in report.files:
        table.add_row(
            f.file,
            Text("ok", style="green") if f.ok else Text(f"BAD: {f.problem}", style="bold red"),
            "-" if f.rdb_version is None else f"v{f.rdb_version}",
            f.crc64 or "-",
        )
    if not report.files:
        return Text(f"no backup files in {report.path}")
    return table


@renderer(PruneReport)
def prune_table(report: PruneReport, **_: Any) -> RenderableType:
    verb = "would remove" if report.dry_run else "removed"
    parts: list[RenderableType] = [_backup_rows(f"kept {len(report.kept)}", report.kept, True)]
    parts.append(
        _backup_rows(f"{verb} {len(report.removed)}", report.removed, False)
        if report.removed
        else Text(f"{verb} nothing")
    )
    return Group(*parts)
