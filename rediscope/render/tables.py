"""Table renderers, one per report type. Humanizing happens here and only here."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from typing import Any, TypeVar

import humanize
from rich import box
from rich.console import Group, RenderableType
from rich.table import Table
from rich.text import Text
from rich.tree import Tree

from rediscope.core.backup import (
    BackupListReport,
    BackupRunReport,
    ListedBackup,
    PruneReport,
    VerifyReport,
)
from rediscope.core.bigkeys import BigKey, BigKeysReport
from rediscope.core.capacity import CapacityReport, NodeCapacity, RecordReport
from rediscope.core.health import HealthReport
from rediscope.core.hotkeys import HotkeysReport
from rediscope.core.keys import display_key
from rediscope.core.memory import MemoryReport, Share
from rediscope.core.pattern_stats import PatternsReport, PatternStats, TreeNode, pattern_tree
from rediscope.core.ping import PingReport
from rediscope.core.scanner import ScanSummary
from rediscope.core.target import Target
from rediscope.render.words import plural

R = TypeVar("R")
_RENDERERS: dict[type, Callable[..., RenderableType]] = {}


def renderer(
    kind: type[R],
) -> Callable[[Callable[..., RenderableType]], Callable[..., RenderableType]]:
    def register(func: Callable[..., RenderableType]) -> Callable[..., RenderableType]:
        _RENDERERS[kind] = func
        return func

    return register


def render_table(report: Any, **view: Any) -> RenderableType:
    """The table for a report; `view` holds table-only options (e.g. tree=True)."""
    return _RENDERERS[type(report)](report, **view)


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


@renderer(PingReport)
def ping_table(report: PingReport, **_: Any) -> RenderableType:
    rows: list[tuple[str, Any]] = [
        ("target", report.target.url),
        ("server", f"{report.server} {report.version}"),
        ("mode", report.mode),
        ("role", report.role),
        (
            "rtt",
            f"min {report.rtt_min_ms:.3f} ms / avg {report.rtt_avg_ms:.3f} ms / "
            f"max {report.rtt_max_ms:.3f} ms over {report.pings} pings",
        ),
    ]
    parts: list[RenderableType] = [kv_table(rows)]
    if report.mode == "cluster":
        nodes = Table(box=box.SIMPLE_HEAD, title="cluster nodes", title_justify="left")
        for col in ("address", "role", "node id", "slots"):
            nodes.add_column(col)
        for node in report.target.nodes:
            slots = ", ".join(f"{a}-{b}" for a, b in node.slots)
            nodes.add_row(node.address, node.role, (node.node_id or "")[:12], slots)
        parts.append(nodes)
    return Group(*parts)


def human_bytes(n: int | float | None) -> str:
    if n is None:
        return "-"
    for unit in ("B", "KiB", "MiB", "GiB", "TiB"):
        if abs(n) < 1024 or unit == "TiB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1024
    return f"{n:.1f} TiB"


def human_count(n: int | float | None) -> str:
    return "-" if n is None else f"{n:,.0f}"


def human_ttl(seconds: float | None) -> str:
    if seconds is None:
        return "-"
    return humanize.naturaldelta(timedelta(seconds=seconds)) if seconds >= 1 else f"{seconds:.3f}s"


def key_text(key: bytes) -> Text:
    """A key as plain text: never markup, control bytes escaped like redis-cli."""
    return Text(display_key(key), overflow="fold")


def scan_line(scan: ScanSummary) -> Text:
    text = Text(style="dim")
    nodes = len(scan.nodes)
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


def _key_table(title: str, keys: tuple[BigKey, ...], cluster: bool) -> Table:
    table = Table(box=box.SIMPLE_HEAD, title=title, title_justify="left")
    table.add_column("#", justify="right")
    table.add_column("key", overflow="fold", min_width=24, ratio=1)
    for col in ("type", "encoding"):
        table.add_column(col)
    table.add_column("size", justify="right")
    table.add_column("elements", justify="right")
    table.add_column("ttl", justify="right")
    table.add_column("db", justify="right")
    if cluster:
        table.add_column("node")
    for i, k in enumerate(keys, 1):
        row: list[RenderableType] = [
            str(i),
            key_text(k.key),
            k.type,
            k.encoding or "-",
            human_bytes(k.bytes),
            human_count(k.elements),
            human_ttl(k.ttl_s),
            str(k.db),
        ]
        if cluster:
            row.append(k.node)
        table.add_row(*row)
    return table


PER_TYPE_SHOWN = 3  # the table lists at most this many keys per type by elements
OFFENDERS_SHOWN = 50  # and this many keys over a threshold (JSON has them all)


@renderer(BigKeysReport)
def bigkeys_table(
    report: BigKeysReport, min_bytes_text: str | None = None, **_: Any
) -> RenderableType:
    cluster = report.target.mode == "cluster"
    parts: list[RenderableType] = [target_line(report.target), scan_line(report.scan)]
    title = f"top {plural(len(report.keys), 'key')} by memory"
    parts.append(_key_table(title, report.keys, cluster))
    parts.append(_by_type_table(report))
    per_type_n = min(report.top, PER_TYPE_SHOWN)
    shown: dict[str, int] = {}
    per_type = []
    for k in report.top_by_elements:  # JSON has all --top of each type
        shown[k.type] = shown.get(k.type, 0) + 1
        if shown[k.type] <= per_type_n:
            per_type.append(k)
    title = f"biggest keys of each type by element count (top {per_type_n})"
    parts.append(_key_table(title, tuple(per_type), cluster))
    if report.min_bytes is not None or report.min_elements is not None:
        parts += _offenders(report, min_bytes_text, cluster)
    return Group(*parts)


def _by_type_table(report: BigKeysReport) -> Table:
    est = "~" if report.scan.sampled else ""
    by_type = Table(box=box.SIMPLE_HEAD, title="by type", title_justify="left")
    for col in ("type", "keys", "memory", "share", "avg size", "elements", "avg elements"):
        by_type.add_column(col, justify="left" if col == "type" else "right")
    for t in report.by_type:
        by_type.add_row(
            t.type,
            est + human_count(t.keys),
            est + human_bytes(t.bytes),
            f"{t.share:.1%}",
            human_bytes(t.avg_bytes),
            est + human_count(t.elements),
            human_count(t.avg_elements),
        )
    return by_type


def _offenders(
    report: BigKeysReport, min_bytes_text: str | None, cluster: bool
) -> list[RenderableType]:
    """The threshold line, and when it trips, the keys over it (a stated number of them)."""
    limits = []
    if report.min_bytes is not None:
        limits.append(f">= {min_bytes_text or f'{report.min_bytes:,} bytes'}")
    if report.min_elements is not None:
        limits.append(f">= {report.min_elements:,} elements")
    count = report.over_threshold
    line = Text(
        f"{plural(count, 'key')} over the threshold ({' or '.join(limits)})",
        style="bold red" if count else "green",
    )
    if not count:
        return [line]
    listed = report.over_threshold_keys[:OFFENDERS_SHOWN]
    title = f"keys over the threshold ({len(listed):,} of {count:,}"
    title += ", all in --format json)" if len(listed) < count else ")"
    return [_key_table(title, listed, cluster), line]


def _pct(x: float | None) -> str:
    return "-" if x is None else f"{x:.1%}"


def _ttl_summary(ttl: dict[str, int]) -> str:
    total = sum(ttl.values())
    if not total:
        return "-"
    labels = {"lt_1m": "<1m", "lt_1h": "<1h", "lt_1d": "<1d", "lt_1w": "<1w", "longer": ">1w"}
    parts = [f"{ttl.get('no_ttl', 0) / total:.0%} none"]
    parts += [f"{n / total:.0%} {labels[b]}" for b, n in ttl.items() if b != "no_ttl" and n]
    return " ".join(parts)


def _access_summary(stats: PatternStats) -> str:
    dist = stats.idle or stats.freq
    if not dist or not sum(dist.values()):
        return "-"
    total = sum(dist.values())
    labels = {
        "lt_1m": "<1m",
        "lt_1h": "<1h",
        "lt_1d": "<1d",
        "lt_1w": "<1w",
        "longer": ">1w",
        "f0_4": "0-4",
        "f5_9": "5-9",
        "f10_49": "10-49",
        "f50_99": "50-99",
        "f100_255": "100+",
    }
    return " ".join(f"{n / total:.0%} {labels[b]}" for b, n in dist.items() if n)


def _pattern_table(
    title: str, stats: tuple[PatternStats, ...], memory: bool, access: str | None, est: str
) -> Table:
    table = Table(box=box.SIMPLE_HEAD, title=title, title_justify="left")
    table.add_column("pattern", overflow="fold", min_width=20, ratio=1)
    table.add_column("keys", justify="right")
    table.add_column("share", justify="right")
    if memory:
        table.add_column("memory", justify="right")
        table.add_column("mem %", justify="right")
    table.add_column("types")
    table.add_column("ttl")
    if access:
        table.add_column("idle" if access == "idletime" else "lfu freq")
    table.add_column("example", overflow="fold", max_width=40)
    for p in stats:
        row: list[RenderableType] = [Text(p.pattern), est + human_count(p.keys), _pct(p.share)]
        if memory:
            row += [est + human_bytes(p.bytes), _pct(p.bytes_share)]
        row += [",".join(p.types) or "-", _ttl_summary(p.ttl)]
        if access:
            row.append(_access_summary(p))
        row.append(key_text(p.examples[0]) if p.examples else Text("-"))
        table.add_row(*row)
    return table


def _tree(report: PatternsReport) -> Tree:
    root = pattern_tree(report.patterns, report.separators)
    memory = any(p.bytes is not None for p in report.patterns)

    def label(node: TreeNode) -> Text:
        text = Text(node.name or "(empty)")
        text.append(f"  {human_count(node.keys)} keys", style="dim")
        if memory:
            text.append(f"  {human_bytes(node.bytes)}", style="dim")
        return text

    tree = Tree(Text(f"{human_count(root.keys)} keys"))

    def add(parent: Tree, node: TreeNode) -> None:
        for child in sorted(node.children.values(), key=lambda c: (-c.keys, c.name)):
            add(parent.add(label(child)), child)

    add(tree, root)
    return tree


@renderer(PatternsReport)
def patterns_table(
    report: PatternsReport, tree: bool = False, top: int = 50, **_: Any
) -> RenderableType:
    est = "~" if report.scan.sampled else ""
    parts: list[RenderableType] = [target_line(report.target), scan_line(report.scan)]
    memory = any(p.bytes is not None for p in report.patterns)
    if tree:
        parts.append(_tree(report))
    else:
        shown = report.patterns[:top]
        title = f"{len(report.patterns)} patterns" + (
            f" (top {len(shown)} by {report.sort})" if len(shown) < len(report.patterns) else ""
        )
        parts.append(_pattern_table(title, shown, memory, report.access, est))
    return Group(*parts)


@renderer(MemoryReport)
def memory_table(report: MemoryReport, **_: Any) -> RenderableType:
    t = report.totals
    est = "~" if report.scan.sampled else ""
    parts: list[RenderableType] = [target_line(report.target), scan_line(report.scan)]
    keys_line = f"{human_bytes(t.keys_bytes)} over {report.scan.keys_scanned:,} keys scanned"
    if report.scan.sampled:
        keys_line += (
            f"; estimate for all {t.keys:,} keys: ~{human_bytes(t.keys_bytes_estimate)}"
            f" ± {human_bytes(t.estimate_ci95)} (95% confidence)"
        )
    if t.maxmemory is None:
        limit = "unknown"
    elif t.maxmemory == 0:
        limit = "no limit"
    elif t.used_memory is None:
        limit = human_bytes(t.maxmemory)
    else:
        limit = f"{human_bytes(t.maxmemory)} ({t.used_memory / t.maxmemory:.0%} used)"
    rows: list[tuple[str, Any]] = [
        ("used_memory", "unknown" if t.used_memory is None else human_bytes(t.used_memory)),
        (
            "dataset / overhead",
            f"{human_bytes(t.used_memory_dataset)} / {human_bytes(t.used_memory_overhead)}",
        ),
        (
            "rss / fragmentation",
            f"{human_bytes(t.used_memory_rss)} / "
            + ("-" if t.mem_fragmentation_ratio is None else f"{t.mem_fragmentation_ratio:.2f}"),
        ),
        ("maxmemory", f"{limit}, policy {t.maxmemory_policy or 'unknown'}"),
        ("keys (MEMORY USAGE)", keys_line),
    ]
    parts.append(kv_table(rows))

    def shares(title: str, items: tuple[Share, ...], first: str, limit: int = 20) -> Table:
        table = Table(box=box.SIMPLE_HEAD, title=title, title_justify="left")
        table.add_column(first)
        if items and items[0].type is not None:
            table.add_column("type")
        for col in ("keys", "memory", "share"):
            table.add_column(col, justify="right")
        for r in items[:limit]:
            row = [r.name] + ([r.type or ""] if r.type is not None else [])
            row += [est + human_count(r.keys), est + human_bytes(r.bytes), _pct(r.share)]
            table.add_row(*row)
        return table

    parts.append(shares("by type", report.by_type, "type"))
    parts.append(shares("by encoding", report.by_encoding, "encoding"))
    if len(report.by_db) > 1:
        parts.append(shares("by db", report.by_db, "db"))
    if report.target.mode == "cluster":
        parts.append(shares("by node", report.by_node, "node"))
    parts.append(
        _pattern_table(
            f"by pattern (top {len(report.by_pattern)})", report.by_pattern, True, None, est
        )
    )
    parts.append(
        _key_table(
            f"top {len(report.top_keys)} keys", report.top_keys, report.target.mode == "cluster"
        )
    )
    recs = Table(box=box.SIMPLE_HEAD, title="recommendations", title_justify="left")
    recs.add_column("severity")
    recs.add_column("id")
    recs.add_column("what to do", ratio=1)
    styles = {"critical": "bold red", "warning": "yellow", "info": "cyan"}
    for r in report.recommendations:
        recs.add_row(Text(r.severity, style=styles.get(r.severity, "")), r.id, Text(r.message))
    if not report.recommendations:
        recs.add_row("-", "-", "nothing to recommend")
    parts.append(recs)
    return Group(*parts)


STATUS_STYLE = {"OK": "green", "WARNING": "yellow", "CRITICAL": "bold red", "UNKNOWN": "magenta"}


def _measure(value: float | None, unit: str) -> str:
    if value is None:
        return "-"
    if unit == "%":
        return f"{value:.1f}%"
    if unit == "ms":
        return f"{value:.2f} ms"
    if unit == "s":
        return human_ttl(value) if value >= 1 else f"{value:.0f} s"
    return f"{value:g}" + (f" {unit}" if unit and unit != "ratio" else "")


@renderer(HealthReport)
def health_table(report: HealthReport, **_: Any) -> RenderableType:
    cluster = any(c.node for c in report.checks)
    table = Table(box=box.SIMPLE_HEAD)
    table.add_column("status")
    table.add_column("check")
    if cluster:
        table.add_column("node")
    table.add_column("value", justify="right")
    table.add_column("warn / crit", justify="right")
    table.add_column("message", ratio=1)
    for c in report.checks:
        limits = (
            "-"
            if c.warn is None and c.crit is None
            else (
                f"{'-' if c.warn is None else f'{c.warn:g}'} / {'-' if c.crit is None else f'{c.crit:g}'}"
            )
        )
        message = Text(c.message)
        if c.hint and c.status != "OK":
            message.append(f" — {c.hint}", style="dim")
        row: list[RenderableType] = [Text(c.status, style=STATUS_STYLE[c.status]), c.id]
        if cluster:
            row.append(c.node or "")
        row += [_measure(c.value, c.unit), limits, message]
        table.add_row(*row)
    counts: dict[str, int] = {}
    for c in report.checks:
        counts[c.status] = counts.get(c.status, 0) + 1
    tally = [f"{n} {s.lower()}" for s, n in sorted(counts.items())]
    if report.not_applicable:
        tally.append(f"{plural(len(report.not_applicable), 'check')} not applicable")
    verdict = Text("overall ", style="bold")
    verdict.append(report.status, style=STATUS_STYLE[report.status])
    verdict.append(f"  (exit {report.exit_code}; " + ", ".join(tally) + ")")
    parts: list[RenderableType] = [target_line(report.target)]
    parts.append(table if report.checks else Text("no check applies to this target"))
    parts += [Text(f"not applicable: {n.id}: {n.reason}") for n in report.not_applicable]
    return Group(*parts, verdict)


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


_SPARK = "▁▂▃▄▅▆▇█"


def chart(node: NodeCapacity, width: int = 60, height: int = 8) -> Text:
    """used_memory over time (bars), the projection (·) and, when the projection reaches it
    within the view, the limit (─). The y axis spans the data, not zero to the limit."""
    points = node.history
    if len(points) < 2:
        return Text("(not enough samples for a chart)", style="dim")
    t0, t1 = points[0][0], points[-1][0]
    growth = node.growth_bytes_per_day or 0
    end = t1
    reaches = node.days_until_full is not None and growth > 0
    if reaches:
        end = t1 + min((node.days_until_full or 0) * 86400, 3 * max(t1 - t0, 1))
    span = max(end - t0, 1e-9)
    cols: list[float | None] = [None] * width
    for ts, value in points:
        i = min(width - 1, int((ts - t0) / span * (width - 1)))
        cols[i] = max(cols[i] or 0, value)
    proj: dict[int, float] = {}
    if growth > 0 and node.fitted_now is not None:
        for i in range(width):
            ts = t0 + span * i / (width - 1)
            if ts > t1:
                proj[i] = node.fitted_now + growth * (ts - t1) / 86400
    values = [v for _, v in points] + list(proj.values())
    show_limit = (
        bool(node.limit_bytes) and reaches and max(values) >= 0.98 * (node.limit_bytes or 0)
    )
    if show_limit:
        values.append(node.limit_bytes or 0)
    lo_v, hi_v = min(values), max(values)
    if hi_v - lo_v < 1:
        lo_v, hi_v = lo_v - 1, hi_v + 1
    step = (hi_v - lo_v) / height
    limit_row = int(((node.limit_bytes or 0) - lo_v) / step) if show_limit else None
    text = Text()
    for row in range(height - 1, -1, -1):
        lo = lo_v + step * row
        line = Text()
        for i in range(width):
            col = cols[i]
            if col is not None and col >= lo:
                frac = min(1.0, (col - lo) / step)
                line.append(_SPARK[int(frac * 7)], style="cyan")
            elif i in proj and lo <= proj[i] < lo + step:
                line.append("·", style="yellow")
            elif limit_row is not None and min(limit_row, height - 1) == row:
                line.append("─", style="red")
            else:
                line.append(" ")
        label = (
            human_bytes(lo + step) if row == height - 1 else (human_bytes(lo) if row == 0 else "")
        )
        text.append(f"{label:>10} ").append_text(line).append("\n")
    return text


def _samples_line(report: CapacityReport) -> str:
    if report.samples:
        return f"{plural(report.samples, 'sample')} over {human_ttl(report.span_s)}"
    if report.samples_recorded:
        return f"none in the window ({plural(report.samples_recorded, 'sample')} recorded)"
    return "none recorded yet (figures from INFO now)"


@renderer(CapacityReport)
def capacity_table(report: CapacityReport, **_: Any) -> RenderableType:
    parts: list[RenderableType] = [target_line(report.target)]
    days = "-" if report.days_until_full is None else f"{report.days_until_full:,.1f} days"
    growth = (
        "-"
        if report.growth_bytes_per_day is None
        else (f"{human_bytes(report.growth_bytes_per_day)}/day (r² {report.r2:.3f})")
    )
    rows: list[tuple[str, Any]] = [
        ("samples", _samples_line(report)),
        ("used_memory", human_bytes(report.used_memory)),
        ("limit", f"{human_bytes(report.limit_bytes)} ({report.limit_source})"),
        ("growth", growth),
        ("full in", days),
    ]
    parts.append(kv_table(rows))
    if report.note:
        parts.append(Text(f"note: {report.note}", style="yellow"))
    for node in report.nodes:
        if len(report.nodes) > 1:
            parts.append(Text(f"{node.node} ({node.role})", style="bold"))
        if node.low_confidence:
            parts.append(Text("low confidence: the series spans less than an hour", style="yellow"))
        parts.append(chart(node))
        details = [
            (
                "growth",
                "-"
                if node.growth_bytes_per_day is None
                else f"{human_bytes(node.growth_bytes_per_day)}/day, r² {node.r2:.3f}",
            ),
            (
                "keys/day",
                ", ".join(f"{db} {v:+,.0f}" for db, v in sorted(node.keys_growth_per_day.items()))
                or "-",
            ),
            ("hit rate", " → ".join("-" if h is None else f"{h:.1%}" for h in node.hit_rate)),
            ("evictions/day", human_count(node.evictions_per_day)),
            ("expirations/day", human_count(node.expirations_per_day)),
            (
                "peak / current",
                f"{human_bytes(node.peak_memory)} / {human_bytes(node.used_memory)}",
            ),
            (
                "fragmentation",
                " → ".join("-" if f is None else f"{f:.2f}" for f in node.fragmentation),
            ),
            ("ops/s", " → ".join("-" if o is None else f"{o:,.0f}" for o in node.ops_per_s)),
        ]
        parts.append(kv_table(details))
    if report.recommendations:
        recs = Table(box=box.SIMPLE_HEAD, title="recommendations", title_justify="left")
        recs.add_column("severity")
        recs.add_column("id")
        recs.add_column("what to do", ratio=1)
        for r in report.recommendations:
            recs.add_row(r.severity, r.id, Text(r.message))
        parts.append(recs)
    parts.append(Text(f"limit rule: {report.headroom_rule}", style="dim"))
    return Group(*parts)


@renderer(RecordReport)
def record_table(report: RecordReport, **_: Any) -> RenderableType:
    return kv_table(
        [
            (str(s["node"]), f"used_memory {human_bytes(s.get('used_memory'))}")
            for s in report.samples
        ]
    )


@renderer(HotkeysReport)
def hotkeys_table(report: HotkeysReport, **_: Any) -> RenderableType:
    parts: list[RenderableType] = [target_line(report.target)]
    head = Text(f"method {report.method}", style="bold")
    if report.reason:
        head.append(f" ({report.reason})", style="dim")
    parts.append(head)
    if report.method == "monitor":
        parts.append(
            Text(
                f"{report.commands_seen:,} commands in {report.window_s:.1f}s "
                f"({report.ops_per_s or 0:,.0f} ops/s)",
                style="dim",
            )
        )
    elif report.scan is not None:
        parts.append(scan_line(report.scan))
    lfu = report.method == "lfu"
    keys = Table(box=box.SIMPLE_HEAD, title=f"top {len(report.keys)} keys", title_justify="left")
    keys.add_column("#", justify="right")
    keys.add_column("key", overflow="fold", min_width=24, ratio=1)
    if lfu:
        keys.add_column("lfu counter", justify="right")
    else:
        for col in ("hits", "reads", "writes", "share"):
            keys.add_column(col, justify="right")
    keys.add_column("db", justify="right")
    if report.target.mode == "cluster":
        keys.add_column("node")
    for i, k in enumerate(report.keys, 1):
        row: list[RenderableType] = [str(i), key_text(k.key)]
        row += (
            [str(k.freq)]
            if lfu
            else [human_count(k.hits), human_count(k.reads), human_count(k.writes), _pct(k.share)]
        )
        row.append(str(k.db))
        if report.target.mode == "cluster":
            row.append(k.node)
        keys.add_row(*row)
    parts.append(keys)
    if report.patterns:
        pats = Table(box=box.SIMPLE_HEAD, title="top patterns", title_justify="left")
        pats.add_column("pattern", overflow="fold", ratio=1)
        for col in ("sum of counters", "share") if lfu else ("hits", "reads", "writes", "share"):
            pats.add_column(col, justify="right")
        for p in report.patterns:
            pats.add_row(
                Text(p.pattern),
                human_count(p.hits),
                *([] if lfu else [human_count(p.reads), human_count(p.writes)]),
                _pct(p.share),
            )
        parts.append(pats)
    if report.commands:
        cmds = Table(box=box.SIMPLE_HEAD, title="commands", title_justify="left")
        cmds.add_column("command")
        cmds.add_column("calls", justify="right")
        cmds.add_column("share", justify="right")
        for c in report.commands[:10]:
            cmds.add_row(c.name, human_count(c.calls), _pct(c.share))
        clients = Table(box=box.SIMPLE_HEAD, title="clients", title_justify="left")
        clients.add_column("client")
        clients.add_column("calls", justify="right")
        clients.add_column("share", justify="right")
        for c in report.clients:
            clients.add_row(c.name, human_count(c.calls), _pct(c.share))
        parts += [cmds, clients]
    for flag in report.flagged:
        text = Text(f"HOT: {flag.key} takes {flag.share:.0%} of the traffic; ", style="bold yellow")
        text.append("; ".join(flag.hints), style="yellow")
        parts.append(text)
    return Group(*parts)
