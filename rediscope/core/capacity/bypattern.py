"""Growth by key pattern over time: analyzed snapshots (a backup read offline, or a scan)
stored as their top patterns by bytes and an "(other)" row beside the INFO samples, and the
growth per pattern fitted with the same least squares as the totals."""

from __future__ import annotations

import time
from dataclasses import replace
from pathlib import Path

from rediscope.core.capacity.command import CapacityReport, report
from rediscope.core.capacity.fit import LOW_CONFIDENCE_SPAN, least_squares
from rediscope.core.capacity.history import History, PatternRow, PatternSample
from rediscope.core.capacity.patternmodel import ByPattern, PatternGrowth
from rediscope.core.collectors.patterns import OTHER, _Agg
from rediscope.core.connection import ConnectionSpec

#: patterns kept per analyzed snapshot, by bytes; the rest is one "(other)" row
TOP_PATTERNS = 200
#: the patterns that together make this share of the growth are said to drive it
DRIVER_SHARE = 0.8
#: the least time between the first and the last snapshot for a growth per day (the totals'
#: low-confidence span): under it, the rates are null and the note says why
MIN_SPAN_S = LOW_CONFIDENCE_SPAN
#: points of each pattern's series kept for its chart
CHART_POINTS = 200

HOW_TO_RECORD = (
    "record them from cron with `rediscope backup run DIR --analyze` (reads each backup "
    "offline) or `rediscope capacity record --patterns`"
)


def summarize(table: dict[str, _Agg], top: int = TOP_PATTERNS) -> tuple[PatternRow, ...]:
    """The TOP patterns by bytes, then the rest summed into one "(other)" row."""
    rows = sorted(table.items(), key=lambda kv: (-kv[1].bytes, kv[0]))
    kept = [PatternRow(p, a.keys, a.bytes) for p, a in rows[:top] if p != OTHER]
    rest = [a for p, a in rows if p == OTHER] + [a for _, a in rows[top:]]
    if rest:
        kept.append(PatternRow(OTHER, sum(a.keys for a in rest), sum(a.bytes for a in rest)))
    return tuple(kept)


def pattern_growth(samples: list[PatternSample], top: int = TOP_PATTERNS) -> ByPattern:
    """Per pattern, bytes and keys per day (least squares over the snapshots; a pattern
    missing from a snapshot had none there, or too few to be in its top)."""
    if len(samples) < 2:
        return ByPattern(
            samples=len(samples),
            span_s=0.0,
            growth_bytes_per_day=None,
            patterns=(),
            drivers=(),
            note=f"{len(samples)} analyzed snapshot{'s' if len(samples) != 1 else ''} of this "
            f"target: a growth per pattern needs at least 2; {HOW_TO_RECORD}",
        )
    span = samples[-1].ts - samples[0].ts
    if span < MIN_SPAN_S:
        return _too_close(samples, span, top)
    latest = {r.pattern: r for r in samples[-1].rows}
    names = sorted({r.pattern for s in samples for r in s.rows}, key=lambda p: _size(latest, p))
    series = [{r.pattern: r for r in s.rows} for s in samples]
    fits = [_fit(name, samples, series, latest) for name in names[: top * 2]]
    total = sum(f.growth_bytes_per_day or 0.0 for f in fits)
    fits = [_shared(f, total) for f in fits]
    fits.sort(key=lambda f: (-(f.growth_bytes_per_day or 0.0), f.pattern))
    drivers = _drivers(fits, total)
    fits = [replace(f, drives_full=f.pattern in drivers) for f in fits]
    return ByPattern(
        samples=len(samples),
        span_s=round(span, 3),
        growth_bytes_per_day=round(total, 3),
        patterns=tuple(fits),
        drivers=drivers,
        note=None,
    )


def _too_close(samples: list[PatternSample], span: float, top: int) -> ByPattern:
    """Snapshots less than MIN_SPAN_S apart: each pattern's size now, no rate per day (a
    change over seconds or minutes, extrapolated to a day, would be taken for a trend)."""
    rows = sorted(samples[-1].rows, key=lambda r: (-r.bytes, r.pattern))[: top * 2]
    return ByPattern(
        samples=len(samples),
        span_s=round(span, 3),
        growth_bytes_per_day=None,
        patterns=tuple(
            PatternGrowth(
                pattern=r.pattern,
                samples=sum(1 for s in samples if any(x.pattern == r.pattern for x in s.rows)),
                keys=r.keys,
                bytes=r.bytes,
                growth_bytes_per_day=None,
                keys_growth_per_day=None,
                r2=None,
                share_of_growth=None,
                drives_full=False,
                history=(),
            )
            for r in rows
        ),
        drivers=(),
        note=f"the {len(samples)} analyzed snapshots span {span:,.0f} s: a growth per pattern "
        f"needs at least {MIN_SPAN_S / 3600:g} h between the first and the last (it is not "
        f"extrapolated to a day from less); {HOW_TO_RECORD}",
    )


def _size(latest: dict[str, PatternRow], pattern: str) -> tuple[int, str]:
    row = latest.get(pattern)
    return (-(row.bytes if row else 0), pattern)


def _fit(
    name: str,
    samples: list[PatternSample],
    series: list[dict[str, PatternRow]],
    latest: dict[str, PatternRow],
) -> PatternGrowth:
    rows = [s.get(name) for s in series]
    points = [(s.ts, float(r.bytes if r else 0)) for s, r in zip(samples, rows, strict=True)]
    key_points = [(s.ts, float(r.keys if r else 0)) for s, r in zip(samples, rows, strict=True)]
    fit, keys_fit = least_squares(points), least_squares(key_points)
    now = latest.get(name)
    return PatternGrowth(
        pattern=name,
        samples=sum(1 for r in rows if r is not None),
        keys=now.keys if now else 0,
        bytes=now.bytes if now else 0,
        growth_bytes_per_day=round(fit.slope_per_s * 86400, 3) if fit else None,
        keys_growth_per_day=round(keys_fit.slope_per_s * 86400, 3) if keys_fit else None,
        r2=round(fit.r2, 6) if fit else None,
        share_of_growth=None,
        drives_full=False,
        history=tuple((ts, int(v)) for ts, v in points[-CHART_POINTS:]),
    )


def _shared(f: PatternGrowth, total: float) -> PatternGrowth:
    if total <= 0 or f.growth_bytes_per_day is None:
        return f
    return replace(f, share_of_growth=round(f.growth_bytes_per_day / total, 6))


def _drivers(fits: list[PatternGrowth], total: float) -> tuple[str, ...]:
    """The fastest-growing patterns that together make DRIVER_SHARE of the total growth."""
    if total <= 0:
        return ()
    out, acc = [], 0.0
    for f in fits:
        if (f.growth_bytes_per_day or 0) <= 0 or acc >= DRIVER_SHARE * total:
            break
        out.append(f.pattern)
        acc += f.growth_bytes_per_day or 0
    return tuple(out)


def report_by_pattern(
    spec: ConnectionSpec,
    history_path: Path,
    since_s: float | None = None,
    horizon_days: float = 30.0,
    target_url: str | None = None,
) -> CapacityReport:
    """`capacity report --by-pattern`: the report, with the growth per pattern."""
    result = report(spec, history_path, since_s, horizon_days, target_url)
    since = time.time() - since_s if since_s else None
    snapshots = History(history_path).load_patterns(target_url or spec.redacted_url, since)
    return replace(result, by_pattern=pattern_growth(snapshots))
