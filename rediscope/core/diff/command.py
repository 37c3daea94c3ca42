"""`rediscope diff OLD NEW`: read one side, then the other (each to a bounded tally, never a
per-key map), join them per pattern, type and db, and check the gates."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from rediscope.core.connection import ConnectionSpec
from rediscope.core.diff.join import (
    fold_union,
    group,
    group_rows,
    keys_grown,
    movers,
    pattern_rows,
    per_day,
)
from rediscope.core.diff.read import Inference, ReadSide, read_side
from rediscope.core.diff.report import (
    RATES_MIN_SECONDS,
    SORTS,
    DiffReport,
    GrowthGate,
    PatternDelta,
)
from rediscope.core.diff.sides import LIVE, parse_time, resolve
from rediscope.core.pipeline.options import ScanOptions
from rediscope.core.pipeline.records import ProgressFn
from rediscope.core.target import Target
from rediscope.errors import UsageError


@dataclass(frozen=True)
class Gates:
    grown_pct: float | None = None  # --fail-if-grown
    pattern_grown_pct: float | None = None  # --fail-if-pattern-grown


def diff(
    old: str,
    new: str | None,
    opts: ScanOptions,
    live: Callable[[], ConnectionSpec] | None = None,
    how: Inference = Inference(),
    sort: str = "bytes-added",
    gates: Gates = Gates(),
    progress: ProgressFn | None = None,
) -> DiffReport:
    """OLD and NEW (None or "live": the live target, whose spec LIVE gives only when asked);
    the sides are read one after the other, each to a bounded tally."""
    if sort not in SORTS:
        raise UsageError(f"--sort must be one of {', '.join(SORTS)}")
    specs = resolve(old), resolve(new)
    if all(s.kind == "live" for s in specs):
        raise UsageError(f"only one side can be the live target ({LIVE})")
    if all(s.kind == "stdin" for s in specs):
        raise UsageError("only one side can be read from stdin (-)")
    # NEW first: its biggest keys are then looked up while OLD is read (exact growth, and
    # which of them are new), in bounded memory
    b = read_side(specs[1], how, opts, live, progress)
    watch = frozenset((e.db, e.key) for e in b.tally.top) if b.tally.top is not None else None
    a = read_side(specs[0], how, opts, live, progress, watch)
    return _report(a, b, how, sort, gates)


def _report(a: ReadSide, b: ReadSide, how: Inference, sort: str, gates: Gates) -> DiffReport:
    t0, t1 = parse_time(a.side.time), parse_time(b.side.time)
    seconds = round(t1 - t0, 3) if t0 is not None and t1 is not None else None
    days = seconds / 86400 if seconds else None
    # a rate per day from sides seconds or minutes apart would be noise times thousands
    rate_days = days if seconds is not None and abs(seconds) >= RATES_MIN_SECONDS else None
    union = fold_union(a.tally, b.tally, how.separators)
    rows = pattern_rows(union, a.tally, b.tally, rate_days)
    rows.sort(key=_sort_key(sort))
    totals = group("total", a.side.keys, b.side.keys, a.side.bytes, b.side.bytes)
    known = (a.tally.bytes_known, b.tally.bytes_known)
    joined = keys_grown(a.tally, b.tally, a.side.sampled)
    checked = _gates(gates, totals.growth_pct, rows)
    target = b.target or a.target or Target(f"diff:{a.side.given} {b.side.given}", "standalone", ())
    return DiffReport(
        target=target,
        complete=a.side.complete and b.side.complete,
        old=a.side,
        new=b.side,
        seconds_between=seconds,
        days_between=round(days, 6) if days is not None else None,
        separators=how.separators,
        sort=sort,
        totals=totals,
        bytes_per_day=per_day(totals.bytes_delta, rate_days),
        keys_per_day=per_day(totals.keys_delta, rate_days),
        patterns=tuple(rows),
        new_patterns=tuple(sorted(r.pattern for r in rows if r.status == "new")),
        vanished_patterns=tuple(sorted(r.pattern for r in rows if r.status == "vanished")),
        movers=movers(rows),
        by_type=tuple(group_rows(a.tally.by_type, b.tally.by_type, known)),
        by_db=tuple(group_rows(a.tally.by_db, b.tally.by_db, known)),
        keys_grown=joined[0] if joined else None,
        keys_new=joined[1] if joined else None,
        keys_bound=joined[2] if joined else None,
        gates=checked,
        errors=(*a.errors, *b.errors),
        notes=_notes(a, b, seconds),
    )


def _sort_key(sort: str) -> Callable[[PatternDelta], tuple[Any, ...]]:
    keys: dict[str, Callable[[PatternDelta], tuple[Any, ...]]] = {
        "bytes-added": lambda r: (-(r.bytes_delta or 0), -r.keys_delta, r.pattern),
        "keys-added": lambda r: (-r.keys_delta, -(r.bytes_delta or 0), r.pattern),
        "growth": lambda r: (r.growth_pct is None, -(r.growth_pct or 0), r.pattern),
        "bytes": lambda r: (-(r.new.bytes or 0), r.pattern),
        "keys": lambda r: (-r.new.keys, r.pattern),
        "name": lambda r: (r.pattern,),
    }
    return keys[sort]


def _gates(
    gates: Gates, total_pct: float | None, rows: list[PatternDelta]
) -> tuple[GrowthGate, ...]:
    out = []
    if gates.grown_pct is not None:
        limit = gates.grown_pct
        tripped = total_pct is not None and total_pct > limit
        out.append(
            GrowthGate(
                option="fail-if-grown",
                threshold_pct=limit,
                value_pct=total_pct,
                tripped=tripped,
                message=f"total bytes grew {total_pct:.1f}% (--fail-if-grown {limit:g})"
                if tripped
                else None,
            )
        )
    if gates.pattern_grown_pct is not None:
        limit = gates.pattern_grown_pct
        over = [r for r in rows if r.growth_pct is not None and r.growth_pct > limit]
        top = max((r.growth_pct for r in rows if r.growth_pct is not None), default=None)
        names = ", ".join(f"{r.pattern} +{r.growth_pct:.1f}%" for r in over[:5])
        more = f" and {len(over) - 5} more" if len(over) > 5 else ""
        out.append(
            GrowthGate(
                option="fail-if-pattern-grown",
                threshold_pct=limit,
                value_pct=top,
                tripped=bool(over),
                patterns=tuple(r.pattern for r in over),
                message=f"patterns grew more than {limit:g}%: {names}{more}" if over else None,
            )
        )
    return tuple(out)


def _notes(a: ReadSide, b: ReadSide, seconds: float | None) -> tuple[str, ...]:
    notes = [*(f"OLD: {n}" for n in a.side.notes), *(f"NEW: {n}" for n in b.side.notes)]
    models = {a.side.bytes_model, b.side.bytes_model}
    if models == {"rdb-estimate", "memory-usage"}:
        notes.append(
            "bytes are estimated from the RDB encodings on one side and measured by MEMORY "
            "USAGE on the other: byte deltas include the difference of the two models; key "
            "deltas are exact"
        )
    if seconds is None:
        notes.append("the time between the sides is not known: no growth per day")
    elif abs(seconds) < RATES_MIN_SECONDS:
        notes.append(
            f"the sides are {abs(seconds):,.0f} s apart: no growth per day under "
            f"{RATES_MIN_SECONDS / 3600:g} h between them (a change over seconds or minutes, "
            "extrapolated to a day, says little); the deltas are exact"
        )
    elif seconds < 0:
        notes.append("NEW was taken before OLD: deltas are OLD to NEW as given")
    if a.side.sampled or b.side.sampled:
        notes.append("a side was sampled: its keys and bytes are extrapolated")
    return tuple(notes)
