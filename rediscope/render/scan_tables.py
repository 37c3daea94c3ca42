"""Tables of the scanning commands: bigkeys, patterns, memory."""

from __future__ import annotations

from typing import Any

from rich import box
from rich.console import Group, RenderableType
from rich.table import Table
from rich.text import Text
from rich.tree import Tree

from rediscope.core.bigkeys.command import BigKey, BigKeysReport
from rediscope.core.memory.report import MemoryReport, Share
from rediscope.core.patterns.command import PatternsReport, PatternStats, TreeNode, pattern_tree
from rediscope.core.pipeline.modtypes import label
from rediscope.core.units import plural
from rediscope.render.base import (
    empty_scan,
    human_bytes,
    human_count,
    human_ttl,
    key_text,
    kv_table,
    pct,
    renderer,
    scan_line,
    target_line,
)
from rediscope.render.fit import Col, fit_table
from rediscope.render.size_tables import dist_cells, pattern_size_cols, sizes_table
from rediscope.render.sizes_tables import size_tables

KEY_COLUMNS = (
    Col("#", "num", drop=6),
    Col("key", "key"),
    Col("type"),
    Col("encoding", drop=4),
    Col("size", "num"),
    Col("elements", "num"),
    Col("ttl", "num", drop=3),
    Col("db", "num", drop=5),
)


def key_table(title: str, keys: tuple[BigKey, ...], cluster: bool, width: int | None) -> Table:
    cols = [*KEY_COLUMNS, Col("node", drop=2)] if cluster else list(KEY_COLUMNS)
    rows = []
    for i, k in enumerate(keys, 1):
        row: list[RenderableType] = [
            str(i),
            key_text(k.key),
            label(k.type),
            k.encoding or "-",
            human_bytes(k.bytes),
            "unknown" if k.elements is None and k.type_name else human_count(k.elements),
            human_ttl(k.ttl_s),
            str(k.db),
        ]
        if cluster:
            row.append(k.node)
        rows.append(row)
    return fit_table(cols, rows, width, title)


PER_TYPE_SHOWN = 3  # the table lists at most this many keys per type by elements


OFFENDERS_SHOWN = 50  # and this many keys over a threshold (JSON has them all)


@renderer(BigKeysReport)
def bigkeys_table(
    report: BigKeysReport,
    min_bytes_text: str | None = None,
    width: int | None = None,
    **_: Any,
) -> RenderableType:
    cluster = report.target.mode == "cluster"
    parts: list[RenderableType] = [
        target_line(report.target),
        scan_line(report.scan, report.source),
    ]
    parts += size_tables(report.size_distribution, width)  # the server's own, scan or not
    empty = empty_scan(report.scan, report.source)
    if empty is not None:
        return Group(*parts, empty)
    title = f"top {plural(len(report.keys), 'key')} by memory"
    parts.append(key_table(title, report.keys, cluster, width))
    parts.append(_by_type_table(report))
    sizes = [(t.type, t.keys, t.bytes_dist, t.elements_dist) for t in report.by_type]
    parts.append(sizes_table(sizes, width))
    per_type_n = min(report.top, PER_TYPE_SHOWN)
    shown: dict[str, int] = {}
    per_type = []
    for k in report.top_by_elements:  # JSON has all --top of each type
        shown[k.type] = shown.get(k.type, 0) + 1
        if shown[k.type] <= per_type_n:
            per_type.append(k)
    title = f"biggest keys of each type by element count (top {per_type_n})"
    parts.append(key_table(title, tuple(per_type), cluster, width))
    if report.min_bytes is not None or report.min_elements is not None:
        parts += _offenders(report, min_bytes_text, cluster, width)
    return Group(*parts)


def _by_type_table(report: BigKeysReport) -> Table:
    est = "~" if report.scan.sampled else ""
    by_type = Table(box=box.SIMPLE_HEAD, title="by type", title_justify="left")
    for col in ("type", "keys", "memory", "share", "avg size", "elements", "avg elements"):
        by_type.add_column(col, justify="left" if col == "type" else "right")
    for t in report.by_type:
        known = t.elements_known > 0
        by_type.add_row(
            label(t.type),
            est + human_count(t.keys),
            est + human_bytes(t.bytes),
            f"{t.share:.1%}",
            human_bytes(t.avg_bytes),
            est + human_count(t.elements) if known else "unknown",
            human_count(t.avg_elements) if known else "unknown",
        )
    return by_type


def _offenders(
    report: BigKeysReport, min_bytes_text: str | None, cluster: bool, width: int | None
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
    return [key_table(title, listed, cluster, width), line]


def _ttl_summary(ttl: dict[str, int]) -> str:
    """The TTL buckets that hold at least 1% of the keys: `100% none`, `20% none 80% <1h`."""
    total = sum(ttl.values())
    if not total:
        return "-"
    labels = {"no_ttl": "none", "lt_1m": "<1m", "lt_1h": "<1h", "lt_1d": "<1d", "lt_1w": "<1w"}
    labels["longer"] = ">1w"
    parts = [f"{n / total:.0%} {labels[b]}" for b, n in ttl.items() if n and n / total >= 0.005]
    return " ".join(parts) or "-"


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
    shown = [f"{n / total:.0%} {labels[b]}" for b, n in dist.items() if n / total >= 0.005]
    return " ".join(shown) or "-"


def _pattern_table(
    title: str,
    stats: tuple[PatternStats, ...],
    memory: bool,
    access: str | None,
    est: str,
    width: int | None,
) -> Table:
    cols = [Col("pattern", "key"), Col("keys", "num"), Col("share", "num", drop=3)]
    if memory:
        cols += [Col("memory", "num"), Col("mem %", "num", drop=2)]
    cols += [Col("types", drop=4), Col("ttl", drop=1)]
    if access:
        cols.append(Col("idle" if access == "idletime" else "lfu freq", drop=5))
    cols.append(Col("example", "key", drop=6))
    if memory:
        cols += pattern_size_cols(7)
    rows = []
    for p in stats:
        row: list[RenderableType] = [Text(p.pattern), est + human_count(p.keys), pct(p.share)]
        if memory:
            row += [est + human_bytes(p.bytes), pct(p.bytes_share)]
        row += [",".join(label(t) for t in p.types) or "-", _ttl_summary(p.ttl)]
        if access:
            row.append(_access_summary(p))
        row.append(key_text(p.examples[0]) if p.examples else Text("-"))
        if memory:
            row += dist_cells(p.bytes_dist, True)
        rows.append(row)
    return fit_table(cols, rows, width, title)


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

    def order(c: TreeNode) -> tuple[int, str]:  # the report's --sort, at every level
        return (-c.bytes, c.name) if report.sort == "bytes" else (-c.keys, c.name)

    def add(parent: Tree, node: TreeNode) -> None:
        for child in sorted(node.children.values(), key=order):
            add(parent.add(label(child)), child)

    add(tree, root)
    return tree


@renderer(PatternsReport)
def patterns_table(
    report: PatternsReport,
    tree: bool = False,
    top: int = 50,
    width: int | None = None,
    **_: Any,
) -> RenderableType:
    est = "~" if report.scan.sampled else ""
    parts: list[RenderableType] = [
        target_line(report.target),
        scan_line(report.scan, report.source),
    ]
    empty = empty_scan(report.scan, report.source)
    if empty is not None:
        return Group(*parts, empty)
    memory = any(p.bytes is not None for p in report.patterns)
    if tree:
        parts.append(_tree(report))
    else:
        shown = report.patterns[:top]
        title = f"{len(report.patterns)} patterns" + (
            f" (top {len(shown)} by {report.sort})" if len(shown) < len(report.patterns) else ""
        )
        parts.append(_pattern_table(title, shown, memory, report.access, est, width))
    if report.sizes:
        sizes = [(t.type, t.keys, t.bytes_dist, t.elements_dist) for t in report.sizes]
        parts.append(sizes_table(sizes, width))
    elif not memory:
        parts.append(Text(NOT_MEASURED, style="dim"))
    return Group(*parts)


#: a live scan without --memory: what is not in the table, and how to get it
NOT_MEASURED = "bytes and size percentiles (p50/p90/p99/max) not measured: add --memory"


def memory_total_rows(report: MemoryReport) -> list[tuple[str, str]]:
    """The server's figures (unknown where INFO could not be read) and the keys' bytes, as
    (figure, value) rows: the table and the HTML page show the same."""
    t = report.totals
    keys_line = f"{human_bytes(t.keys_bytes)} over {report.scan.keys_scanned:,} keys scanned"
    if report.scan.sampled:
        keys_line += (
            f"; estimate for all {t.keys:,} keys: ~{human_bytes(t.keys_bytes_estimate)}"
            f" ± {human_bytes(t.estimate_ci95)} (95% confidence)"
        )
    if t.keys_unknown:
        of = "the file's key bytes" if report.source.kind == "rdb" else "the keys"
        keys_line += (
            f"; {plural(t.keys_unknown, 'key')} of unknown bytes not counted"
            f" ({t.unknown_share:.1%} of {of})"
        )
    if t.maxmemory is None:
        limit = "unknown"
    elif t.maxmemory == 0:
        limit = "no limit"
    elif t.used_memory is None:
        limit = human_bytes(t.maxmemory)
    else:
        limit = f"{human_bytes(t.maxmemory)} ({t.used_memory / t.maxmemory:.0%} used)"
    frag = "-" if t.mem_fragmentation_ratio is None else f"{t.mem_fragmentation_ratio:.2f}"
    return [
        ("used_memory", "unknown" if t.used_memory is None else human_bytes(t.used_memory)),
        (
            "dataset / overhead",
            f"{human_bytes(t.used_memory_dataset)} / {human_bytes(t.used_memory_overhead)}",
        ),
        ("rss / fragmentation", f"{human_bytes(t.used_memory_rss)} / {frag}"),
        ("maxmemory", f"{limit}, policy {t.maxmemory_policy or 'unknown'}"),
        ("keys (estimated)" if report.source.kind == "rdb" else "keys (MEMORY USAGE)", keys_line),
    ]


def _memory_totals(report: MemoryReport) -> Table:
    return kv_table(list(memory_total_rows(report)))


def _shares(title: str, items: tuple[Share, ...], first: str, est: str, width: int | None) -> Table:
    typed = bool(items) and items[0].type is not None
    cols = [Col(first, "key"), *([Col("type")] if typed else [])]
    cols += [Col("keys", "num"), Col("memory", "num"), Col("share", "num")]
    rows = [
        [
            label(r.name) if first == "type" else r.name,
            *([label(r.type or "")] if typed else []),
            est + human_count(r.keys),
            _share_bytes(r, est),
            "-" if r.keys_unknown >= r.keys > 0 else pct(r.share),
        ]
        for r in items[:20]
    ]
    return fit_table(cols, rows, width, title)


def _share_bytes(r: Share, est: str) -> str:
    """A row's bytes; "unknown" when no key of it could be estimated, "+ ?" when some not."""
    if r.keys_unknown and r.keys_unknown >= r.keys:
        return "unknown"
    return est + human_bytes(r.bytes) + (" + ?" if r.keys_unknown else "")


def _recommendations(report: MemoryReport) -> Table:
    recs = Table(box=box.SIMPLE_HEAD, title="recommendations", title_justify="left")
    recs.add_column("severity")
    recs.add_column("id")
    recs.add_column("what to do", ratio=1)
    styles = {"critical": "bold red", "warning": "yellow", "info": "cyan"}
    for r in report.recommendations:
        recs.add_row(Text(r.severity, style=styles.get(r.severity, "")), r.id, Text(r.message))
    if not report.recommendations:
        recs.add_row("-", "-", "nothing to recommend")
    return recs


@renderer(MemoryReport)
def memory_table(report: MemoryReport, width: int | None = None, **_: Any) -> RenderableType:
    est = "~" if report.scan.sampled else ""
    cluster = report.target.mode == "cluster"
    parts: list[RenderableType] = [
        target_line(report.target),
        scan_line(report.scan, report.source),
    ]
    parts.append(_memory_totals(report))
    parts += size_tables(report.size_distribution, width)
    empty = empty_scan(report.scan, report.source)
    if empty is not None:  # the server's figures above, and where the keys are
        return Group(*parts, empty)
    parts.append(_shares("by type", report.by_type, "type", est, width))
    sizes = [(t.type, t.keys, t.bytes_dist, t.elements_dist) for t in report.sizes]
    parts.append(sizes_table(sizes, width))
    parts.append(_shares("by encoding", report.by_encoding, "encoding", est, width))
    if len(report.by_db) > 1:
        parts.append(_shares("by db", report.by_db, "db", est, width))
    if cluster:
        parts.append(_shares("by node", report.by_node, "node", est, width))
    title = f"by pattern (top {len(report.by_pattern)})"
    parts.append(_pattern_table(title, report.by_pattern, True, None, est, width))
    title = f"top {plural(len(report.top_keys), 'key')}"
    parts.append(key_table(title, report.top_keys, cluster, width))
    parts.append(_recommendations(report))
    return Group(*parts)
