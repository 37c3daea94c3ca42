"""The HTML report's sections that several commands share: the treemap of patterns nested by
their segments, the size tables and power-of-two histograms per type, the key tables. The
figures and units are the tables' (render/base.py, render/scan_tables.py)."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field

from rediscope.core.bigkeys.command import BigKey
from rediscope.core.collectors.sketch import Distribution
from rediscope.core.keynames import display_key
from rediscope.core.patterns.command import PatternStats
from rediscope.core.pipeline.modtypes import label
from rediscope.render.base import human_bytes, human_count, human_ttl, pct
from rediscope.render.html_page import esc, table
from rediscope.render.html_svg import Cell, histogram, treemap
from rediscope.render.scan_tables import _ttl_summary as ttl_summary
from rediscope.render.size_tables import QUANTILES, dist_cells

TREEMAP_PATTERNS = 300  # leaves drawn; the rest are one "(other)" leaf
TABLE_PATTERNS = 200  # rows listed; --format json has every pattern


@dataclass
class _Node:
    prefix: str
    stats: PatternStats | None = None
    children: dict[str, _Node] = field(default_factory=dict)


def _value(s: PatternStats, by_bytes: bool) -> float:
    return float(s.bytes or 0) if by_bytes else float(s.keys)


def _leaf_tip(s: PatternStats, by_bytes: bool, est: str) -> str:
    keys = "key" if s.keys == 1 else "keys"
    lines = [s.pattern, f"{est}{human_count(s.keys)} {keys} ({pct(s.share)} of keys)"]
    if by_bytes:
        lines.append(f"{est}{human_bytes(s.bytes)} ({pct(s.bytes_share)} of bytes)")
    lines.append(f"TTL: {ttl_summary(s.ttl)}")
    if s.bytes_dist is not None:
        figures = dist_cells(s.bytes_dist, True)
        lines.append(
            "size " + ", ".join(f"{q} {v}" for q, v in zip(QUANTILES, figures, strict=True))
        )
    if s.examples:
        lines.append(f"e.g. {display_key(s.examples[0])}")
    return "\n".join(lines)


def _cell(node: _Node, by_bytes: bool, est: str, total: float) -> Cell:
    kids = [_cell(c, by_bytes, est, total) for c in node.children.values()]
    if node.stats is not None:
        leaf = Cell(
            node.stats.pattern, _value(node.stats, by_bytes), _leaf_tip(node.stats, by_bytes, est)
        )
        if not kids:
            return leaf
        kids.append(leaf)
    if len(kids) == 1:  # a chain of single segments: one cell named by the longest prefix
        return kids[0]
    value = sum(k.value for k in kids)
    what = human_bytes(value) if by_bytes else f"{human_count(value)} keys"
    share = f"{value / total:.1%}" if total else "-"
    tip = f"{node.prefix}…: {len(kids)} parts, {est}{what} ({share})"
    return Cell(node.prefix, value, tip, kids)


def pattern_cells(
    stats: Sequence[PatternStats], separators: str, by_bytes: bool, est: str
) -> list[Cell]:
    """The patterns as a tree of their segments (`user:*:profile` under `user:`), biggest
    TREEMAP_PATTERNS drawn, the rest summed into one leaf."""
    ranked = sorted(stats, key=lambda s: -_value(s, by_bytes))
    shown, rest = ranked[:TREEMAP_PATTERNS], ranked[TREEMAP_PATTERNS:]
    split = re.compile("(?<=[" + re.escape(separators) + "])").split if separators else None
    root = _Node("")
    for s in shown:
        node, prefix = root, ""
        for part in split(s.pattern) if split else [s.pattern]:
            prefix += part
            node = node.children.setdefault(prefix, _Node(prefix))
        node.stats = s
    total = sum(_value(s, by_bytes) for s in ranked)
    cells = [_cell(c, by_bytes, est, total) for c in root.children.values()]
    if rest:
        value = sum(_value(s, by_bytes) for s in rest)
        cells.append(Cell(f"({len(rest)} more patterns)", value, f"{len(rest)} smaller patterns"))
    return cells


def pattern_treemap(
    stats: Sequence[PatternStats], separators: str, by_bytes: bool, est: str
) -> str:
    what = "bytes" if by_bytes else "keys (measure bytes with --memory)"
    cells = pattern_cells(stats, separators, by_bytes, est)
    if not cells:
        return ""
    return (
        f"<h2>Where it goes: patterns by {esc(what)}</h2>"
        '<p class="note">Area is proportional to the pattern\'s share, nested by its segments. '
        "Hover a block for its keys, bytes, share, TTL coverage and an example key.</p>"
        + treemap(cells)
    )


def pattern_table(stats: Sequence[PatternStats], memory: bool, est: str) -> str:
    headers = ["pattern", "keys", "share"]
    if memory:
        headers += ["memory", "mem %"]
    headers += ["types", "ttl", "example"]
    if memory:
        headers += [f"size {q}" for q in QUANTILES]
    rows = []
    for p in stats[:TABLE_PATTERNS]:
        row: list[object] = [p.pattern, est + human_count(p.keys), pct(p.share)]
        if memory:
            row += [est + human_bytes(p.bytes), pct(p.bytes_share)]
        row += [",".join(label(t) for t in p.types) or "-", ttl_summary(p.ttl)]
        row.append(display_key(p.examples[0]) if p.examples else "-")
        if memory:
            row += dist_cells(p.bytes_dist, True)
        rows.append(row)
    n = len(headers)
    numeric = [1, 2, *([3, 4] if memory else []), *(range(n - 4, n) if memory else [])]
    more = len(stats) - TABLE_PATTERNS
    tail = f'<p class="note">{more:,} more patterns in --format json</p>' if more > 0 else ""
    return table(headers, rows, numeric=numeric, keys=[0, n - 5 if memory else n - 1]) + tail


SizeRow = tuple[str, int, Distribution | None, Distribution | None]


def sizes_section(rows: Sequence[SizeRow]) -> str:
    """Per type: p50/p90/p99/max of bytes and elements, and the power-of-two histograms."""
    if not rows:
        return ""
    headers = ["type", "keys", *(f"bytes {q}" for q in QUANTILES)]
    headers += [f"elements {q}" for q in QUANTILES]
    cells = [
        [label(name), human_count(keys), *dist_cells(b, True), *dist_cells(e, False)]
        for name, keys, b, e in rows
    ]
    pictures = []
    for name, _keys, b, e in rows:
        if b is not None:
            pictures.append(histogram(b.buckets, human_bytes, f"{label(name)}: keys by bytes"))
        if e is not None:
            pictures.append(histogram(e.buckets, human_count, f"{label(name)}: keys by elements"))
    return (
        "<h2>Key sizes by type</h2>"
        '<p class="note">p90: 90% of the keys are at most this. Histograms: keys per '
        "power-of-two bucket (hover a bar for its range and count).</p>"
        + table(headers, cells, numeric=range(1, len(headers)))
        + f'<div class="hists">{"".join(pictures)}</div>'
    )


def key_table(title: str, keys: Sequence[BigKey], cluster: bool) -> str:
    if not keys:
        return ""
    headers = ["#", "key", "type", "encoding", "size", "elements", "ttl", "db"]
    headers += ["node"] if cluster else []
    rows = []
    for i, k in enumerate(keys, 1):
        elements = "unknown" if k.elements is None and k.type_name else human_count(k.elements)
        row: list[object] = [i, display_key(k.key), label(k.type), k.encoding or "-"]
        row += [human_bytes(k.bytes), elements, human_ttl(k.ttl_s), k.db]
        rows.append([*row, k.node] if cluster else row)
    return f"<h2>{esc(title)}</h2>" + table(headers, rows, numeric=[0, 4, 5, 6, 7], keys=[1])
