"""What every table shares: the renderer registry, units for people, key text, the target and scan lines."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from typing import Any, TypeVar

import humanize
from rich import box
from rich.console import RenderableType
from rich.table import Table
from rich.text import Text

from rediscope.core.keynames import display_key
from rediscope.core.pipeline.records import ScanSummary, SourceInfo
from rediscope.core.report import Report
from rediscope.core.target import Target
from rediscope.core.units import bytes_text, plural

R = TypeVar("R", bound=Report)


#: a report's class -> its table renderer (each family module registers its own)
RENDERERS: dict[type[Report], Callable[..., RenderableType]] = {}


def renderer(
    kind: type[R],
) -> Callable[[Callable[..., RenderableType]], Callable[..., RenderableType]]:
    def register(func: Callable[..., RenderableType]) -> Callable[..., RenderableType]:
        RENDERERS[kind] = func
        return func

    return register


def target_line(target: Target) -> Text:
    text = Text()
    text.append("target ", style="dim")
    text.append(target.url)
    text.append(
        f"  ({target.mode}, {len(target.nodes)} node{'s' if len(target.nodes) != 1 else ''})",
        style="dim",
    )
    return text


def kv_table(rows: list[tuple[str, Any]]) -> Table:
    table = Table(box=box.SIMPLE_HEAD, show_header=False, pad_edge=False)
    table.add_column(style="bold")
    table.add_column()
    for name, value in rows:
        table.add_row(name, value if isinstance(value, Text) else Text(str(value)))
    return table


def human_bytes(n: int | float | None) -> str:
    return "-" if n is None else bytes_text(n)


def human_count(n: int | float | None) -> str:
    return "-" if n is None else f"{n:,.0f}"


def human_ttl(seconds: float | None) -> str:
    if seconds is None:
        return "-"
    return humanize.naturaldelta(timedelta(seconds=seconds)) if seconds >= 1 else f"{seconds:.3f}s"


def key_text(key: bytes) -> Text:
    """A key as plain text: never markup, control bytes escaped like redis-cli."""
    return Text(display_key(key), overflow="fold")


def scan_line(scan: ScanSummary, source: SourceInfo | None = None) -> Text:
    text = Text(style="dim")
    nodes = len(scan.nodes)
    if source is not None and source.kind == "rdb":
        streamed = any(f.path.startswith("sync://") for f in source.files)
        what = "replication stream" if streamed else "RDB file"
        text.append(
            f"read {scan.keys_scanned:,} keys from {plural(nodes, what, what + 's')} in "
            f"{scan.seconds:.1f}s (no per-key command; bytes estimated)"
        )
    else:
        text.append(
            f"scanned {scan.keys_scanned:,} keys on {nodes} node{'s' if nodes != 1 else ''} "
            f"in {scan.seconds:.1f}s"
        )
    if scan.keys_vanished or scan.keys_retyped:
        text.append(
            f"; {scan.keys_vanished:,} vanished, {scan.keys_retyped:,} changed type mid-scan"
        )
    if scan.rescans:
        text.append(f"; slots moved mid-scan: {scan.rescans} rescan(s), see notes")
    if scan.keys_asking:
        text.append(f"; {scan.keys_asking:,} keys of an open migration read with ASKING")
    if scan.keys_moved:
        text.append(f"; {scan.keys_moved:,} moved to another shard mid-scan")
    if scan.sampled:
        text.append(f"; SAMPLED: totals marked ~ are estimates (x{scan.extrapolation:.2f})")
    if not scan.complete:
        text.append("; INCOMPLETE", style="bold red")
    return text


def pct(x: float | None) -> str:
    return "-" if x is None else f"{x:.1%}"


STATUS_STYLE = {"OK": "green", "WARNING": "yellow", "CRITICAL": "bold red", "UNKNOWN": "magenta"}


def empty_scan(scan: ScanSummary, source: SourceInfo | None = None) -> Text | None:
    """A sentence for a scan that found no key, saying where keys are (None: it found some)."""
    if scan.keys_scanned or not scan.complete:
        return None
    if sum(n.dbsize for n in scan.nodes):  # keys are there: the filters matched none
        return Text("no key matched the filters (--match, --type) among the keys scanned")
    elsewhere: dict[int, int] = {}
    for node in scan.nodes:
        for db, keys in node.other_dbs.items():
            elsewhere[db] = elsewhere.get(db, 0) + keys
    holder = "the file holds" if source is not None and source.kind == "rdb" else "the server holds"
    if source is not None and any(f.keys_expired for f in source.files):
        return Text(f"{holder} no keys that have not expired (see the notes)")
    if scan.db is None:
        return Text(f"{holder} no keys")
    if not elsewhere:
        return Text(f"db {scan.db} holds no keys, and no other db does either")
    where = ", ".join(f"db {d} ({plural(k, 'key')})" for d, k in sorted(elsewhere.items()))
    return Text(f"db {scan.db} holds no keys; keys are in {where}: pick one with -n")
