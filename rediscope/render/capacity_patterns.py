"""`capacity report --by-pattern`: the growth per key pattern, with a trend line per pattern."""

from __future__ import annotations

from rich.console import Group, RenderableType
from rich.text import Text

from rediscope.core.capacity.patternmodel import ByPattern
from rediscope.render.base import human_bytes, human_count, pct
from rediscope.render.fit import Col, fit_table

_SPARK = "▁▂▃▄▅▆▇█"
SHOWN = 15


def spark(points: tuple[tuple[float, int], ...], width: int = 24) -> str:
    """A pattern's bytes over its snapshots as one line (the last WIDTH points)."""
    values = [v for _, v in points][-width:]
    if len(values) < 2:
        return "-"
    lo, hi = min(values), max(values)
    if hi == lo:
        return _SPARK[3] * len(values)
    return "".join(_SPARK[int((v - lo) / (hi - lo) * 7)] for v in values)


def _rate(x: float | None) -> str:
    if x is None:
        return "-"
    return ("+" if x > 0 else "-" if x < 0 else "±") + human_bytes(abs(x)) + "/day"


def by_pattern_view(
    bp: ByPattern, days_until_full: float | None, width: int | None
) -> RenderableType:
    if bp.note:
        return Text(f"by pattern: {bp.note}", style="yellow")
    cols = [
        Col("pattern", "key"),
        Col("bytes now", "num"),
        Col("growth", "num"),
        Col("r²", "num", drop=3),
        Col("share", "num"),
        Col("keys/day", "num", drop=2),
        Col("drives", drop=4),
        Col("trend", drop=1),
    ]
    rows: list[list[RenderableType]] = [
        [
            Text(p.pattern),
            human_bytes(p.bytes),
            _rate(p.growth_bytes_per_day),
            "-" if p.r2 is None else f"{p.r2:.3f}",
            pct(p.share_of_growth),
            "-" if p.keys_growth_per_day is None else f"{p.keys_growth_per_day:+,.0f}",
            "yes" if p.drives_full else "",
            spark(p.history),
        ]
        for p in bp.patterns[:SHOWN]
    ]
    title = (
        f"growth by pattern: {bp.samples} analyzed snapshots, "
        f"{_rate(bp.growth_bytes_per_day)} in all (top {min(SHOWN, len(bp.patterns))} by growth)"
    )
    parts: list[RenderableType] = [fit_table(cols, rows, width, title)]
    if bp.drivers:
        what = "the growth" + (
            f" that fills it in {days_until_full:,.1f} days" if days_until_full is not None else ""
        )
        share = sum(p.share_of_growth or 0.0 for p in bp.patterns if p.pattern in bp.drivers)
        verb = "makes" if len(bp.drivers) == 1 else "make"
        line = f"{', '.join(bp.drivers)} {verb} {share:.0%} of {what} (the fewest that reach 80%)"
        parts.append(Text(line))
    parts.append(Text(f"{human_count(len(bp.patterns))} patterns fitted", style="dim"))
    return Group(*parts)
