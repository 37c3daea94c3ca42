"""What `capacity report --by-pattern` adds to the report: the growth of each key pattern."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, kw_only=True)
class PatternGrowth:
    pattern: str
    samples: int  # analyzed snapshots it appears in
    keys: int  # in the latest snapshot
    bytes: int
    growth_bytes_per_day: float | None
    keys_growth_per_day: float | None
    r2: float | None
    share_of_growth: float | None  # of the total bytes growth (None: the total does not grow)
    drives_full: bool  # among the patterns that make DRIVER_SHARE of the growth
    history: tuple[tuple[float, int], ...]  # (ts, bytes), for its chart


@dataclass(frozen=True, kw_only=True)
class ByPattern:
    samples: int  # analyzed snapshots in the window
    span_s: float
    growth_bytes_per_day: float | None  # of the patterns' total
    patterns: tuple[PatternGrowth, ...]  # by growth, biggest first
    drivers: tuple[str, ...]  # the patterns that drive the growth (and the time to full)
    note: str | None
