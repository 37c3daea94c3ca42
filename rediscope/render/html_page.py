"""The HTML report's frame: one self-contained page (styles inline, no script, no font, no
link to anything), its header (target, time, complete or sampled), and small table helpers.
Pure: strings in, markup out; every text from the report is escaped."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timezone
from html import escape

from rediscope import __version__
from rediscope.core.pipeline.records import ScanSummary, SourceInfo
from rediscope.core.target import Target
from rediscope.render.base import empty_scan, scan_line, target_line

STYLE = """
:root{color-scheme:light;--fg:#1d2330;--dim:#5b6475;--line:#d9dde5;--bg:#fff;--band:#f4f6f9}
*{box-sizing:border-box}
body{margin:0;font:14px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;
color:var(--fg);background:var(--bg)}
main{max-width:1100px;margin:0 auto;padding:20px 24px 48px}
h1{font-size:22px;margin:0 0 6px}
h2{font-size:17px;margin:28px 0 8px;border-bottom:1px solid var(--line);padding-bottom:4px}
h3{font-size:15px;margin:18px 0 6px}
.meta{color:var(--dim);margin:2px 0}
.badge{display:inline-block;padding:1px 8px;border-radius:10px;font-weight:600;font-size:12px}
.ok{background:#dff3e4;color:#17622f}.bad{background:#fbe1de;color:#8a1c12}
.est{background:#fff1cc;color:#6b4d00}
table{border-collapse:collapse;margin:6px 0 12px;font-variant-numeric:tabular-nums;display:block;max-width:100%;overflow-x:auto}
th,td{padding:3px 10px;border-bottom:1px solid var(--line);text-align:left;vertical-align:top}
th{background:var(--band);font-weight:600}
td.n,th.n{text-align:right;white-space:nowrap}
td.k{font-family:ui-monospace,SFMono-Regular,Menlo,Consolas,monospace;word-break:break-all}
.treemap{display:block;border:1px solid var(--line);margin:6px 0}
.tl{font-size:11px;fill:#fff;font-weight:600;pointer-events:none}
.hist{border:1px solid var(--line);margin:4px 10px 4px 0;background:#fff}
.bar{fill:#0072b2}.ax{font-size:9px;fill:var(--dim);text-anchor:middle}
.ht{font-size:11px;fill:var(--fg);font-weight:600}.axis{stroke:#999}
.hists{display:flex;flex-wrap:wrap}
.sev-critical{color:#8a1c12;font-weight:700}.sev-warning{color:#7a5200;font-weight:700}
.sev-info{color:#0b5d8a;font-weight:700}
.finding{border:1px solid var(--line);border-left-width:5px;padding:6px 12px;margin:8px 0}
.finding.critical{border-left-color:#d55e00}.finding.warning{border-left-color:#e69f00}
.finding.info{border-left-color:#56b4e9}
.note{color:var(--dim);font-size:13px}
footer{color:var(--dim);font-size:12px;margin-top:32px}
"""


def esc(text: object) -> str:
    return escape(str(text), quote=True)


def header(
    title: str,
    target: Target,
    scan: ScanSummary | None,
    source: SourceInfo | None,
    complete: bool,
    generated_at: datetime | None = None,
) -> str:
    """The top of the page: what, where, when, and whether the figures are whole."""
    when = (generated_at or datetime.now(timezone.utc)).strftime("%Y-%m-%d %H:%M:%S UTC")
    status = (
        '<span class="badge ok">complete</span>'
        if complete
        else '<span class="badge bad">INCOMPLETE</span>'
    )
    if scan is not None and scan.sampled:
        status += ' <span class="badge est">SAMPLED: figures marked ~ are estimates</span>'
    parts = [
        f"<h1>{esc(title)}</h1>",
        f'<p class="meta">{esc(target_line(target).plain)}</p>',
        f'<p class="meta">generated {esc(when)} &middot; {status}</p>',
    ]
    if scan is not None:
        parts.append(f'<p class="meta">{esc(scan_line(scan, source).plain)}</p>')
        empty = empty_scan(scan, source)
        if empty is not None:
            parts.append(f"<p><b>{esc(empty.plain)}</b></p>")
    return "<header>" + "".join(parts) + "</header>"


def table(
    headers: Sequence[str],
    rows: Sequence[Sequence[object]],
    numeric: Sequence[int] = (),
    keys: Sequence[int] = (),
) -> str:
    """A table; columns NUMERIC right-aligned, columns KEYS in a monospace face."""

    def cls(i: int) -> str:
        return ' class="n"' if i in numeric else ' class="k"' if i in keys else ""

    head = "".join(f"<th{cls(i)}>{esc(h)}</th>" for i, h in enumerate(headers))
    body = "".join(
        "<tr>" + "".join(f"<td{cls(i)}>{esc(v)}</td>" for i, v in enumerate(row)) + "</tr>"
        for row in rows
    )
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def notes_list(notes: Sequence[str]) -> str:
    if not notes:
        return ""
    items = "".join(f"<li>{esc(n)}</li>" for n in notes)
    return f'<h2>Notes</h2><ul class="note">{items}</ul>'


def page(title: str, head: str, sections: Sequence[str]) -> str:
    """The whole document: one file, nothing fetched."""
    return (
        '<!DOCTYPE html><html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width,initial-scale=1">'
        f"<title>{esc(title)}</title><style>{STYLE}</style></head><body><main>"
        + head
        + "".join(sections)
        + f"<footer>rediscope {esc(__version__)} &middot; a self-contained page: "
        "no script, nothing fetched; hover a shape for its figures</footer>"
        "</main></body></html>"
    )
