"""Tables of backup run, list, verify and prune."""

from __future__ import annotations

import re
from typing import Any

from rich import box
from rich.console import Group, RenderableType
from rich.table import Table
from rich.text import Text

from rediscope.core.backup import (
    BackupListReport,
    BackupRunReport,
    ListedBackup,
    OrphanFile,
    PruneReport,
    VerifyReport,
)
from rediscope.core.backup.catalog import FileVerdict
from rediscope.core.backup.load import LoadResult
from rediscope.core.units import plural
from rediscope.render.base import human_bytes, human_count, human_ttl, kv_table, renderer
from rediscope.render.fit import Col, fit_table


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
    "future": Text("FUTURE", style="bold yellow"),
}


BACKUP_COLUMNS = (
    Col("backup", "key"),
    Col("time (UTC)", drop=3),
    Col("age", "num"),
    Col("size", "num"),
    Col("ratio", "num", drop=4),
    Col("rdb", drop=2),
    Col("keys", "num", drop=1),
    Col("state"),
)


def _backup_rows(
    title: str, backups: tuple[ListedBackup, ...], why: str | None, width: int | None
) -> Table:
    """One row per backup; WHY: the column of prune's reasons (kept by, or why removed)."""
    # the reason is what a prune (and its --dry-run) is read for: it stays, wrapped at words
    cols = [*BACKUP_COLUMNS, Col(why, "text")] if why else list(BACKUP_COLUMNS)
    rows = []
    for b in backups:
        row: list[RenderableType] = [
            b.base,
            b.time.replace("T", " ").rstrip("Z"),
            "in the future" if b.age_s < 0 else human_ttl(b.age_s),
            human_bytes(b.bytes),
            "-" if b.ratio is None else f"{b.ratio:.0%}",
            "-" if b.rdb_version is None else f"v{b.rdb_version}",
            human_count(b.keys),
            _STATE_TEXT.get(b.state, Text(b.state)),
        ]
        if why:
            row.append(", ".join(b.keep) if b.keep else (b.reason or ""))
        rows.append(row)
    return fit_table(cols, rows, width, title)


def _orphan_rows(
    orphans: tuple[OrphanFile, ...], removed: tuple[str, ...] = (), verb: str = "removed"
) -> Table:
    """Files no readable manifest names: ORPHAN, and why."""
    table = Table(box=box.SIMPLE_HEAD, title=plural(len(orphans), "orphan"))
    for col in ("file", "size", "state", "why"):
        table.add_column(col)
    for o in orphans:
        state = verb if o.file in removed else "ORPHAN"
        table.add_row(o.file, human_bytes(o.bytes), Text(state, style="bold yellow"), o.reason)
    return table


@renderer(BackupListReport)
def backup_list_table(
    report: BackupListReport, width: int | None = None, **_: Any
) -> RenderableType:
    orphans = (_orphan_rows(report.orphans),) if report.orphans else ()
    if not report.backups:
        return Group(Text(f"no backups in {report.directory}"), *orphans)
    title = f"{plural(len(report.backups), 'backup')} in {report.directory}"
    return Group(_backup_rows(title, report.backups, None, width), *orphans)


_STAMPED = re.compile(r"^(?P<name>.+)-(?P<rest>\d{8}T\d{6}Z.*)$")


def _short_names(files: list[str]) -> tuple[str | None, list[str]]:
    """Files of one target's backups named without the target (`127.0.0.1-6379-`), which
    the title says once: at 80 columns the part that tells backups apart, the time, shows."""
    found = [_STAMPED.match(f) for f in files]
    names = {m.group("name") for m in found if m is not None}
    if len(names) != 1 or any(m is None for m in found):
        return None, files
    return names.pop(), [m.group("rest") for m in found if m is not None]


@renderer(VerifyReport)
def verify_table(report: VerifyReport, **_: Any) -> RenderableType:
    name, shown = _short_names([f.file for f in report.files])
    table = Table(box=box.SIMPLE_HEAD, title=f"backups of {name}" if name else None)
    table.title_justify = "left"
    load = ("loaded", "load time", "memory") if report.load else ()
    for col in ("file", "result", "rdb", "crc64", *(("keys",) if report.deep else ()), *load):
        table.add_column(col, no_wrap=col == "file", min_width=12 if col == "result" else None)
    for f, label in zip(report.files, shown, strict=True):
        keys = ", ".join(
            f"{db}: " + " ".join(f"{n:,} {t}" for t, n in sorted(types.items()))
            for db, types in sorted((f.keys or {}).items())
        )
        table.add_row(
            label,
            _verdict(f),
            "-" if f.rdb_version is None else f"v{f.rdb_version}",
            f.crc64 or "-",
            *((keys or "-",) if report.deep else ()),
            *(_load_cells(f.load) if report.load else ()),
        )
    if report.nothing is not None:
        return Text(report.nothing)
    parts: list[RenderableType] = [table]
    bad = [f for f in report.files if not f.ok]
    if bad:  # each on a line of its own: a loader's message does not widen the table
        parts.append(Text("\n".join(f"{f.file}: {f.problem}" for f in bad), style="red"))
    if report.orphans:
        parts.append(_orphan_rows(report.orphans))
    return Group(*parts)


#: what each check proves, in the words the result column uses
_CHECK_WORDS = {
    "sha256": "sha256",
    "crc64": "CRC-64",
    "header-eof": "header and EOF only (no CRC-64 in the file)",
    "records": "every record read",
    "load": "loaded",
}


def _verdict(f: FileVerdict) -> Text:
    """BAD and why, or ok and which checks ran: a file whose records nobody read is not
    called verified in the words of one whose CRC-64 was checked."""
    if not f.ok:
        return Text("BAD (below)", style="bold red")
    words = ", ".join(_CHECK_WORDS.get(c, c) for c in f.checks) or "ok"
    if f.orphan:
        return Text(f"ORPHAN (no manifest); {words}", style="bold yellow")
    style = "yellow" if f.records_unchecked else "green"
    return Text(f"ok: {words}", style=style)


def _load_cells(load: LoadResult | None) -> tuple[str, str, str]:
    """What the restore drill found: keys loaded per db, how long, the memory it took."""
    if load is None or load.keys is None:
        return ("-", "-", "-")
    keys = ", ".join(f"{db}: {n:,}" for db, n in sorted(load.keys.items())) or "0 keys"
    took = "-" if load.seconds is None else f"{load.seconds:.2f}s"
    return (keys, took, human_bytes(load.used_memory))


@renderer(PruneReport)
def prune_table(report: PruneReport, width: int | None = None, **_: Any) -> RenderableType:
    verb = "would remove" if report.dry_run else "removed"
    parts: list[RenderableType] = [
        _backup_rows(f"kept {len(report.kept)}", report.kept, "kept by", width)
        if report.kept
        else Text("kept nothing")
    ]
    parts.append(
        _backup_rows(f"{verb} {len(report.removed)}", report.removed, "why", width)
        if report.removed
        else Text(f"{verb} nothing")
    )
    if report.orphans:
        parts.append(_orphan_rows(report.orphans, report.removed_orphans, verb))
    return Group(*parts)
