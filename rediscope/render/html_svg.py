"""The HTML report's pictures as inline SVG, drawn here (no script, no library): a squarified
treemap (Bruls, Huizing and van Wijk, 2000) of a tree of named values, and a bar chart of
power-of-two buckets. Each shape carries a <title>, which browsers show on hover without
JavaScript. Pure: values in, markup out."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from html import escape

Rect = tuple[float, float, float, float]  # x, y, width, height

#: fills of the top-level groups (colour-blind safe, after Okabe and Ito), then cycled
PALETTE = ("#0072b2", "#e69f00", "#009e73", "#cc79a7", "#56b4e9", "#d55e00", "#b8a000", "#7f7f7f")
HEADER = 15  # the label band of a group, in px
MAX_DEPTH = 4


@dataclass
class Cell:
    """A treemap node: a label, its value (the sum of its leaves'), the text of its tooltip,
    and its children (none: a leaf)."""

    label: str
    value: float
    tip: str = ""
    children: list[Cell] = field(default_factory=list)


def _worst(row: list[float], side: float) -> float:
    total = sum(row)
    return max(max(row) * side * side / (total * total), total * total / (side * side * min(row)))


def squarify(values: Sequence[float], rect: Rect) -> list[Rect]:
    """Rectangles for VALUES (biggest first) that tile RECT in proportion, as square as the
    greedy row-by-row layout gets them."""
    x, y, w, h = rect
    total = sum(values)
    if total <= 0 or w <= 0 or h <= 0:
        return [(x, y, 0.0, 0.0) for _ in values]
    areas = [v * w * h / total for v in values]
    out: list[Rect] = []
    i = 0
    while i < len(areas):
        side = min(w, h)
        row = [areas[i]]
        j = i + 1
        while (
            j < len(areas) and areas[j] > 0 and _worst([*row, areas[j]], side) <= _worst(row, side)
        ):
            row.append(areas[j])
            j += 1
        s = sum(row)
        if w >= h:  # a column along the left edge
            cw, cy = (s / h if h else 0.0), y
            for a in row:
                rh = a / cw if cw else 0.0
                out.append((x, cy, cw, rh))
                cy += rh
            x, w = x + cw, w - cw
        else:  # a row along the top edge
            rh, cx = (s / w if w else 0.0), x
            for a in row:
                cw = a / rh if rh else 0.0
                out.append((cx, y, cw, rh))
                cx += cw
            y, h = y + rh, h - rh
        i = j
    return out


def _fits(text: str, width: float, size: float = 11) -> str | None:
    """TEXT if it fits WIDTH px at SIZE (about 0.6 em a character), else cut with "…", or None
    when not even a few characters fit."""
    room = int(width / (size * 0.6))
    if room >= len(text):
        return text
    return text[: room - 1] + "…" if room >= 4 else None


def _shade(color: str, depth: int) -> str:
    """The group's colour, lighter at each level down (mixed with white)."""
    mix = min(0.15 * depth, 0.6)
    rgb = [int(color[i : i + 2], 16) for i in (1, 3, 5)]
    return "#" + "".join(f"{round(c + (255 - c) * mix):02x}" for c in rgb)


def _draw(cell: Cell, rect: Rect, depth: int, color: str, out: list[str]) -> None:
    x, y, w, h = rect
    if w < 1 or h < 1:
        return
    tip = f"<title>{escape(cell.tip)}</title>"
    group = bool(cell.children) and depth < MAX_DEPTH and w > 40 and h > HEADER + 20
    fill = _shade(color, depth + (0 if group else 1))
    out.append(
        f'<g><rect x="{x:.1f}" y="{y:.1f}" width="{w:.1f}" height="{h:.1f}" fill="{fill}" '
        f'stroke="#fff" stroke-width="{1.5 if depth == 0 else 1}">{tip}</rect>'
    )
    label = _fits(cell.label, w - 6)
    if label is not None and h >= 14:
        out.append(f'<text x="{x + 3:.1f}" y="{y + 11:.1f}" class="tl">{escape(label)}</text>')
    out.append("</g>")
    if group:
        kids = sorted(cell.children, key=lambda c: -c.value)
        inner = (x + 2, y + HEADER, w - 4, h - HEADER - 2)
        for child, r in zip(kids, squarify([c.value for c in kids], inner), strict=True):
            _draw(child, r, depth + 1, color, out)


def treemap(roots: Sequence[Cell], width: int = 960, height: int = 520) -> str:
    """An SVG treemap of ROOTS (each a top-level group, its own colour)."""
    roots = sorted((r for r in roots if r.value > 0), key=lambda c: -c.value)
    out = [
        f'<svg class="treemap" viewBox="0 0 {width} {height}" width="100%" role="img" '
        f'aria-label="treemap">'
    ]
    for i, (cell, r) in enumerate(
        zip(roots, squarify([c.value for c in roots], (0, 0, width, height)), strict=True)
    ):
        _draw(cell, r, 0, PALETTE[i % len(PALETTE)], out)
    out.append("</svg>")
    return "".join(out)


def histogram(
    buckets: Sequence[int], label: Callable[[int], str], title: str, width: int = 440
) -> str:
    """Bars of keys per power-of-two bucket (buckets[0]: zeros, [i]: [2^(i-1), 2^i)); LABEL
    names a bucket's lower bound (bytes or a count)."""
    height, base, left = 150, 118, 8
    first = next((i for i, n in enumerate(buckets) if n), 0)
    shown = list(range(first, len(buckets)))
    top = max(buckets, default=0) or 1
    bar = (width - 2 * left) / max(len(shown), 1)
    out = [
        f'<svg class="hist" viewBox="0 0 {width} {height}" width="{width}" role="img" '
        f'aria-label="{escape(title)}"><text x="{left}" y="12" class="ht">{escape(title)}</text>'
    ]
    every = max(1, -(-len(shown) // 6))  # at most 6 axis labels
    for k, i in enumerate(shown):
        n = buckets[i]
        h = (base - 20) * n / top
        x = left + k * bar
        lo = "0" if i == 0 else label(1 << (i - 1))
        what = "0" if i == 0 else f"{lo} to under {label(1 << i)}"
        out.append(
            f'<rect x="{x + 1:.1f}" y="{base - max(h, 2 if n else 0):.1f}" width="{max(bar - 2, 1):.1f}" '
            f'height="{max(h, 2 if n else 0):.1f}" class="bar"><title>{escape(what)}: '
            f"{n:,} {'key' if n == 1 else 'keys'}</title></rect>"
        )
        if k % every == 0:
            out.append(
                f'<text x="{x + bar / 2:.1f}" y="{base + 13}" class="ax">{escape(lo)}</text>'
            )
    out.append(f'<line x1="{left}" x2="{width - left}" y1="{base}" y2="{base}" class="axis"/>')
    out.append("</svg>")
    return "".join(out)
