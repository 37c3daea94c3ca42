"""The growth model: series cut at restarts and flushes, least squares over the latest segment, the limit, days until full, per node."""

from __future__ import annotations

import time
from dataclasses import dataclass

from rediscope.core.capacity.history import Sample

MIN_SAMPLES = 3


LOW_CONFIDENCE_SPAN = 3600.0


FLUSH_DROP = 0.5


@dataclass(frozen=True)
class Fit:
    slope_per_s: float
    intercept: float  # at t = 0 (epoch seconds)
    r2: float

    def at(self, ts: float) -> float:
        return self.intercept + self.slope_per_s * ts


def least_squares(points: list[tuple[float, float]]) -> Fit | None:
    n = len(points)
    if n < 2:
        return None
    t0 = points[0][0]  # centre on the first point for numerical stability
    xs = [t - t0 for t, _ in points]
    ys = [v for _, v in points]
    mx, my = sum(xs) / n, sum(ys) / n
    sxx = sum((x - mx) ** 2 for x in xs)
    if sxx == 0:
        return None
    sxy = sum((x - mx) * (y - my) for x, y in zip(xs, ys, strict=True))
    slope = sxy / sxx
    intercept = my - slope * mx
    ss_tot = sum((y - my) ** 2 for y in ys)
    ss_res = sum((y - (intercept + slope * x)) ** 2 for x, y in zip(xs, ys, strict=True))
    r2 = 1.0 - ss_res / ss_tot if ss_tot else 1.0
    return Fit(slope_per_s=slope, intercept=intercept - slope * t0, r2=max(0.0, r2))


def segments(series: list[Sample]) -> list[list[Sample]]:
    """Cut at restarts (run_id changes) and flushes (keys or dataset memory more than halved)."""
    out: list[list[Sample]] = []
    for s in series:
        if out:
            prev = out[-1][-1]
            restart = s.run_id != prev.run_id
            dataset_prev = prev.get("used_memory_dataset") or 0
            dataset_now = s.get("used_memory_dataset") or 0
            flush = (prev.total_keys > 100 and s.total_keys < FLUSH_DROP * prev.total_keys) or (
                dataset_prev > 10 * 1024 * 1024 and dataset_now < FLUSH_DROP * dataset_prev
            )
            if not restart and not flush:
                out[-1].append(s)
                continue
        out.append([s])
    return out


@dataclass(frozen=True)
class Segment:
    start: float
    end: float
    samples: int
    cause: str  # first | restart | flush


@dataclass(frozen=True)
class NodeCapacity:
    node: str
    role: str
    samples: int
    span_s: float
    used_memory: int  # latest sample
    fitted_now: float | None
    growth_bytes_per_day: float | None
    r2: float | None
    limit_bytes: int | None
    limit_source: str  # maxmemory | system-memory-minus-cow-headroom | unknown
    days_until_full: float | None
    low_confidence: bool
    segments: tuple[Segment, ...]
    keys_growth_per_day: dict[str, float]
    hit_rate: tuple[float | None, float | None]  # first and last window of the segment
    evictions_per_day: float | None
    expirations_per_day: float | None
    peak_memory: int | None
    fragmentation: tuple[float | None, float | None]  # first, last
    ops_per_s: tuple[float | None, float | None]  # first, last (from the commands counter)
    history: tuple[tuple[float, int], ...]  # (ts, used_memory) of the latest segment
    note: str | None


def _limit(latest: Sample, seg: list[Sample]) -> tuple[int | None, str]:
    maxmemory = latest.get("maxmemory") or 0
    if maxmemory:
        return int(maxmemory), "maxmemory"
    system = latest.get("total_system_memory") or 0
    if not system:
        return None, "unknown"
    cow = max(
        [s.get("rdb_last_cow_size") or 0 for s in seg]
        + [s.get("current_cow_peak") or 0 for s in seg]
    )
    headroom = 1.5 * cow if cow else system / 2
    return int(system - headroom), "system-memory-minus-cow-headroom"


def _rate(seg: list[Sample], name: str) -> float | None:
    a, b = seg[0].get(name), seg[-1].get(name)
    span = seg[-1].ts - seg[0].ts
    if a is None or b is None or span <= 0:
        return None
    return float(b - a) / span


def _hit_rate(seg: list[Sample], lo: int, hi: int) -> float | None:
    a, b = seg[lo], seg[hi]
    hits = (b.get("keyspace_hits") or 0) - (a.get("keyspace_hits") or 0)
    misses = (b.get("keyspace_misses") or 0) - (a.get("keyspace_misses") or 0)
    return hits / (hits + misses) if hits + misses > 0 else None


def _segment_info(segs: list[list[Sample]]) -> list[Segment]:
    """Each segment with what began it: the first sample, a restart (new run_id), a flush."""
    out = []
    for i, s in enumerate(segs):
        cause = (
            "first" if i == 0 else ("restart" if s[0].run_id != segs[i - 1][-1].run_id else "flush")
        )
        out.append(Segment(s[0].ts, s[-1].ts, len(s), cause))
    return out


def _fit_note(seg: list[Sample], info: list[Segment]) -> str | None:
    if len(seg) < MIN_SAMPLES:
        return (
            f"{len(seg)} sample{'s' if len(seg) != 1 else ''} in the current segment: a "
            f"projection needs at least {MIN_SAMPLES}"
        )
    if len(info) > 1:
        return (
            f"the series was cut ({info[-1].cause} at "
            f"{time.strftime('%Y-%m-%d %H:%M:%SZ', time.gmtime(seg[0].ts))}); the fit uses "
            "the latest segment"
        )
    return None


def _keys_growth(seg: list[Sample], span: float) -> dict[str, float]:
    if span <= 0:
        return {}
    first, latest = seg[0], seg[-1]
    return {
        db: round(
            (latest.keys.get(db, {}).get("keys", 0) - first.keys.get(db, {}).get("keys", 0))
            / span
            * 86400,
            3,
        )
        for db in set(first.keys) | set(latest.keys)
    }


def _per_day(rate: float | None) -> float | None:
    return round(rate * 86400, 3) if rate is not None else None


def _rounded(value: float | None) -> float | None:
    return round(value, 3) if value is not None else None


def node_capacity(series: list[Sample], now: float) -> NodeCapacity:
    """One node's growth: the fit over its latest segment, the limit and the days until it."""
    segs = segments(series)
    seg = segs[-1]
    latest = seg[-1]
    info = _segment_info(segs)
    span = seg[-1].ts - seg[0].ts
    fit = (
        least_squares([(s.ts, float(s.get("used_memory") or 0)) for s in seg])
        if len(seg) >= MIN_SAMPLES
        else None
    )
    limit, source = _limit(latest, seg)
    days = None
    fitted = fit.at(now) if fit else None
    if fit and limit is not None and fit.slope_per_s > 0 and fitted is not None:
        days = max(0.0, (limit - fitted) / (fit.slope_per_s * 86400))
    mid = len(seg) // 2
    commands = _rate(seg[: mid + 1], "total_commands_processed") if mid else None
    commands_last = _rate(seg[mid:], "total_commands_processed") if mid else None
    return NodeCapacity(
        node=latest.node,
        role=latest.role,
        samples=len(seg),
        span_s=round(span, 3),
        used_memory=int(latest.get("used_memory") or 0),
        fitted_now=round(fitted, 1) if fitted is not None else None,
        growth_bytes_per_day=round(fit.slope_per_s * 86400, 3) if fit else None,
        r2=round(fit.r2, 6) if fit else None,
        limit_bytes=limit,
        limit_source=source,
        days_until_full=days,
        low_confidence=bool(fit) and span < LOW_CONFIDENCE_SPAN,
        segments=tuple(info),
        keys_growth_per_day=_keys_growth(seg, span),
        hit_rate=(_hit_rate(seg, 0, mid), _hit_rate(seg, mid, len(seg) - 1))
        if mid
        else (None, None),
        evictions_per_day=_per_day(_rate(seg, "evicted_keys")),
        expirations_per_day=_per_day(_rate(seg, "expired_keys")),
        peak_memory=latest.get("used_memory_peak"),
        fragmentation=(
            seg[0].get("mem_fragmentation_ratio"),
            latest.get("mem_fragmentation_ratio"),
        ),
        ops_per_s=(_rounded(commands), _rounded(commands_last)),
        history=tuple((s.ts, int(s.get("used_memory") or 0)) for s in seg[-200:]),
        note=_fit_note(seg, info),
    )
