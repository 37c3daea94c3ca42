"""Reports as one self-contained HTML page (`--format html`): memory, patterns, bigkeys and
audit. Pictures are inline SVG drawn in Python (render/html_svg.py) with <title> tooltips, so
the page needs no script and fetches nothing: it opens from a mail attachment offline. The page
carries aggregates and the top lists only, never a row per key."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from rediscope.core.audit import SEVERITIES, AuditReport
from rediscope.core.bigkeys.command import BigKeysReport
from rediscope.core.memory.report import MemoryReport, Share
from rediscope.core.patterns.command import PatternsReport
from rediscope.core.pipeline.modtypes import label
from rediscope.core.report import Report
from rediscope.core.units import plural
from rediscope.render.audit_tables import _evidence as evidence_text
from rediscope.render.base import human_bytes, human_count, pct
from rediscope.render.html_page import esc, header, notes_list, page, table
from rediscope.render.html_sections import (
    key_table,
    pattern_table,
    pattern_treemap,
    sizes_section,
)
from rediscope.render.scan_tables import _share_bytes as share_bytes
from rediscope.render.scan_tables import memory_total_rows

_PAGES: dict[type[Any], Callable[..., str]] = {}


def _page(kind: type[Any]) -> Callable[[Callable[..., str]], Callable[..., str]]:
    def register(func: Callable[..., str]) -> Callable[..., str]:
        _PAGES[kind] = func
        return func

    return register


def render_html(report: Report, **view: Any) -> str:
    """The page of a report (memory, patterns, bigkeys, audit)."""
    return _PAGES[type(report)](report, **view)


def _shares(title: str, items: tuple[Share, ...], first: str, est: str) -> str:
    typed = bool(items) and items[0].type is not None
    headers = [first, *(["type"] if typed else []), "keys", "memory", "share"]
    rows = [
        [
            label(r.name) if first == "type" else r.name,
            *([label(r.type or "")] if typed else []),
            est + human_count(r.keys),
            share_bytes(r, est),
            "-" if r.keys_unknown >= r.keys > 0 else pct(r.share),
        ]
        for r in items[:20]
    ]
    n = len(headers)
    return f"<h3>{esc(title)}</h3>" + table(headers, rows, numeric=[n - 3, n - 2, n - 1])


def _memory_totals(report: MemoryReport) -> str:
    rows = [list(row) for row in memory_total_rows(report)]
    return "<h2>Totals</h2>" + table(["figure", "value"], rows)


def _recommendations(report: MemoryReport) -> str:
    rows = [
        [f"{r.severity}", r.id, r.message, f"docs: {r.doc}" if r.doc else ""]
        for r in report.recommendations
    ] or [["-", "-", "nothing to recommend", ""]]
    return "<h2>Recommendations</h2>" + table(["severity", "id", "what to do", "more"], rows)


@_page(MemoryReport)
def memory_page(report: MemoryReport, separators: str = ":", **_: Any) -> str:
    est = "~" if report.scan.sampled else ""
    cluster = report.target.mode == "cluster"
    sections = [_memory_totals(report)]
    sections.append(pattern_treemap(report.by_pattern, separators, True, est))
    sections.append("<h2>By type and encoding</h2>")
    sections.append(_shares("by type", report.by_type, "type", est))
    sections.append(_shares("by encoding", report.by_encoding, "encoding", est))
    if len(report.by_db) > 1:
        sections.append(_shares("by db", report.by_db, "db", est))
    if cluster:
        sections.append(_shares("by node", report.by_node, "node", est))
    sizes = [(t.type, t.keys, t.bytes_dist, t.elements_dist) for t in report.sizes]
    sections.append(sizes_section(sizes))
    sections.append(f"<h2>By pattern (top {len(report.by_pattern)})</h2>")
    sections.append(pattern_table(report.by_pattern, True, est))
    title = f"Top {plural(len(report.top_keys), 'key')} by memory"
    sections.append(key_table(title, report.top_keys, cluster))
    sections.append(_recommendations(report))
    sections.append(notes_list(report.notes))
    head = header("rediscope memory", report.target, report.scan, report.source, report.complete)
    return page("rediscope memory", head, sections)


@_page(PatternsReport)
def patterns_page(report: PatternsReport, **_: Any) -> str:
    est = "~" if report.scan.sampled else ""
    memory = any(p.bytes is not None for p in report.patterns)
    sections = [pattern_treemap(report.patterns, report.separators, memory, est)]
    sections.append(f"<h2>{len(report.patterns):,} patterns</h2>")
    sections.append(pattern_table(report.patterns, memory, est))
    sections.append(notes_list(report.notes))
    head = header("rediscope patterns", report.target, report.scan, report.source, report.complete)
    return page("rediscope patterns", head, sections)


@_page(BigKeysReport)
def bigkeys_page(report: BigKeysReport, **_: Any) -> str:
    est = "~" if report.scan.sampled else ""
    cluster = report.target.mode == "cluster"
    rows = [
        [label(t.type), est + human_count(t.keys), est + human_bytes(t.bytes), f"{t.share:.1%}",
         human_bytes(t.avg_bytes),
         est + human_count(t.elements) if t.elements_known > 0 else "unknown",
         human_count(t.avg_elements) if t.elements_known > 0 else "unknown"]
        for t in report.by_type
    ]  # fmt: skip
    headers = ["type", "keys", "memory", "share", "avg size", "elements", "avg elements"]
    sections = ["<h2>By type</h2>" + table(headers, rows, numeric=range(1, 7))]
    sizes = [(t.type, t.keys, t.bytes_dist, t.elements_dist) for t in report.by_type]
    sections.append(sizes_section(sizes))
    title = f"Top {plural(len(report.keys), 'key')} by memory"
    sections.append(key_table(title, report.keys, cluster))
    sections.append(
        key_table("Biggest keys of each type by elements", report.top_by_elements, cluster)
    )
    if report.min_bytes is not None or report.min_elements is not None:
        title = f"{plural(report.over_threshold, 'key')} over the threshold"
        sections.append(
            key_table(title, report.over_threshold_keys, cluster) or f"<h2>{title}</h2>"
        )
    sections.append(notes_list(report.notes))
    head = header("rediscope bigkeys", report.target, report.scan, report.source, report.complete)
    return page("rediscope bigkeys", head, sections)


@_page(AuditReport)
def audit_page(report: AuditReport, **_: Any) -> str:
    counts = ", ".join(f"{report.summary.get(s, 0)} {s}" for s in reversed(SEVERITIES))
    line = f"{len(report.findings)} finding(s) in {report.patterns:,} patterns: {counts}"
    line += f"; maxmemory-policy {report.policy}" if report.policy else ""
    sections = [f"<h2>Findings: {esc(counts)}</h2><p>{esc(line)}</p>"]
    if not report.findings:
        sections.append("<p>No finding: nothing in the keyspace matched a check.</p>")
    for severity in reversed(SEVERITIES):
        found = [f for f in report.findings if f.severity == severity]
        if found:
            sections.append(f'<h3 class="sev-{severity}">{esc(severity)} ({len(found)})</h3>')
        for f in found:
            size = "" if f.bytes is None else f", {human_bytes(f.bytes)}"
            examples = ", ".join(f.examples[:5])
            sections.append(
                f'<div class="finding {esc(severity)}"><b class="sev-{esc(severity)}">'
                f"{esc(f.id)}</b> &middot; <code>{esc(f.pattern)}</code> ({esc(f.role)}) &middot; "
                f"{esc(plural(f.keys, 'key'))}{esc(size)}"
                f"<p><b>evidence</b>: {esc(evidence_text(f) or '-')}</p>"
                + (f"<p><b>examples</b>: <code>{esc(examples)}</code></p>" if examples else "")
                + f"<p><b>fix</b>: {esc(f.fix)}</p></div>"
            )
    sections.append(notes_list(report.notes))
    head = header("rediscope audit", report.target, report.scan, report.source, report.complete)
    return page("rediscope audit", head, sections)
