"""`rediscope capacity record | report`: measured growth and time-to-full.

Growth is the least-squares slope of used_memory over time (as Prometheus' predict_linear), on
the latest segment of each node's series: a restart (run_id change) or a flush (keys or
dataset memory dropping by more than half) starts a new segment.

The limit is maxmemory; with no maxmemory it is total_system_memory minus fork copy-on-write
headroom: 1.5 x the largest COW size observed (rdb_last_cow_size / current_cow_peak), or half
of system memory when no fork has been observed (a BGSAVE can touch every page).
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar

import redis

from rediscope.core.connection import ConnectionSpec, client
from rediscope.core.failures import describe_error
from rediscope.core.history import SAMPLE_FIELDS, History, Sample
from rediscope.core.info import info
from rediscope.core.target import Node, Target, discover, node_spec
from rediscope.core.units import FRAGMENTATION_MIN_USED, bytes_text
from rediscope.errors import ConnectError, RediscopeError

MIN_SAMPLES = 3
LOW_CONFIDENCE_SPAN = 3600.0
FLUSH_DROP = 0.5


# ---------------------------------------------------------------------------------------------
# record


@dataclass(frozen=True)
class RecordReport:
    command: ClassVar[str] = "capacity record"
    target: Target
    complete: bool
    history: str
    samples: tuple[dict[str, Any], ...]
    errors: tuple[str, ...]


def _sample(data: dict[str, Any], target: str, node: str, ts: float) -> Sample:
    values: dict[str, Any] = {}
    for name in SAMPLE_FIELDS:  # the integer fields; policy and ratio below
        if (
            name not in ("maxmemory_policy", "mem_fragmentation_ratio")
            and data.get(name) is not None
        ):
            values[name] = int(data[name])
    values["maxmemory_policy"] = data.get("maxmemory_policy")
    ratio = data.get("mem_fragmentation_ratio")
    values["mem_fragmentation_ratio"] = float(ratio) if ratio is not None else None
    values["instantaneous_ops"] = int(data.get("instantaneous_ops_per_sec", 0))
    keys = {
        name: {"keys": int(v.get("keys", 0)), "expires": int(v.get("expires", 0))}
        for name, v in data.items()
        if name.startswith("db") and isinstance(v, dict)
    }
    role = "replica" if data.get("role") == "slave" else "primary"
    return Sample(
        ts=ts,
        target=target,
        node=node,
        role=role,
        run_id=str(data.get("run_id")),
        values=values,
        keys=keys,
    )


def record(spec: ConnectionSpec, history_path: Path) -> RecordReport:
    """One sample per node (every node of a cluster), appended in one transaction."""
    target, _ident, conn = discover(spec)
    conn.close()
    ts = time.time()
    samples, errors = [], []
    for node in target.nodes:
        one = node_spec(spec, node)
        c = client(one)
        try:
            samples.append(_sample(info(c), target.url, node.address, ts))
        except (redis.RedisError, OSError) as exc:
            errors.append(f"{node.address}: {describe_error(exc, one).message}")
        finally:
            c.close()
    if not samples:
        raise RediscopeError("no node answered: nothing recorded", "; ".join(errors))
    History(history_path).append(samples)
    return RecordReport(
        target=target,
        complete=not errors,
        history=str(history_path),
        samples=tuple(
            {
                "ts": s.ts,
                "node": s.node,
                "role": s.role,
                "run_id": s.run_id,
                **s.values,
                "keys": s.keys,
            }
            for s in samples
        ),
        errors=tuple(errors),
    )


# ---------------------------------------------------------------------------------------------
# fitting


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


# ---------------------------------------------------------------------------------------------
# report


@dataclass(frozen=True)
class Segment:
    start: float
    end: float
    samples: int
    cause: str  # first | restart | flush


@dataclass(frozen=True)
class Recommendation:
    id: str
    severity: str
    message: str


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


@dataclass(frozen=True)
class CapacityReport:
    command: ClassVar[str] = "capacity report"
    target: Target
    complete: bool
    history_path: str
    samples: int
    span_s: float
    used_memory: int | None  # None: no sample in the window
    limit_bytes: int | None
    limit_source: str
    growth_bytes_per_day: float | None
    r2: float | None
    days_until_full: float | None
    segments: tuple[Segment, ...]
    nodes: tuple[NodeCapacity, ...]
    recommendations: tuple[Recommendation, ...]
    projection: bool
    note: str | None  # why there is no projection, when there is none
    #: samples of this target in the whole history (`samples` counts those in the window)
    samples_recorded: int | None = None
    headroom_rule: str = (
        "limit = maxmemory; without maxmemory, total_system_memory minus 1.5 x "
        "the largest copy-on-write size observed, or half of system memory "
        "when no fork was observed"
    )

    def gate(self, within_s: float, strict: bool = False) -> tuple[bool, str | None]:
        """`--fail-within`: (fails, what to say). Without a projection it fails only when
        `strict`; with one, when the limit is reached within `within_s`."""
        if not self.projection:
            return strict, "no projection: " + (self.note or "not enough samples")
        days = self.days_until_full
        if days is not None and days * 86400 <= within_s:
            return True, f"projected to reach the limit in {days:.1f} days"
        return False, None


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


def node_capacity(series: list[Sample], now: float) -> NodeCapacity:
    segs = segments(series)
    seg = segs[-1]
    latest = seg[-1]
    seg_info = []
    for i, s in enumerate(segs):
        cause = (
            "first" if i == 0 else ("restart" if s[0].run_id != segs[i - 1][-1].run_id else "flush")
        )
        seg_info.append(Segment(s[0].ts, s[-1].ts, len(s), cause))
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
    note = None
    if len(seg) < MIN_SAMPLES:
        note = (
            f"{len(seg)} sample{'s' if len(seg) != 1 else ''} in the current segment: a "
            f"projection needs at least {MIN_SAMPLES}"
        )
    elif len(segs) > 1:
        note = (
            f"the series was cut ({seg_info[-1].cause} at "
            f"{time.strftime('%Y-%m-%d %H:%M:%SZ', time.gmtime(seg[0].ts))}); the fit uses "
            "the latest segment"
        )
    keys_growth = {}
    if span > 0:
        for db in set(seg[0].keys) | set(latest.keys):
            a = seg[0].keys.get(db, {}).get("keys", 0)
            b = latest.keys.get(db, {}).get("keys", 0)
            keys_growth[db] = round((b - a) / span * 86400, 3)
    mid = len(seg) // 2
    evictions = _rate(seg, "evicted_keys")
    expirations = _rate(seg, "expired_keys")
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
        segments=tuple(seg_info),
        keys_growth_per_day=keys_growth,
        hit_rate=(_hit_rate(seg, 0, mid), _hit_rate(seg, mid, len(seg) - 1))
        if mid
        else (None, None),
        evictions_per_day=round(evictions * 86400, 3) if evictions is not None else None,
        expirations_per_day=round(expirations * 86400, 3) if expirations is not None else None,
        peak_memory=latest.get("used_memory_peak"),
        fragmentation=(
            seg[0].get("mem_fragmentation_ratio"),
            latest.get("mem_fragmentation_ratio"),
        ),
        ops_per_s=(
            round(commands, 3) if commands is not None else None,
            round(commands_last, 3) if commands_last is not None else None,
        ),
        history=tuple((s.ts, int(s.get("used_memory") or 0)) for s in seg[-200:]),
        note=note,
    )


def _recommendations(
    nodes: list[NodeCapacity], latest: dict[str, Sample], horizon_days: float
) -> list[Recommendation]:
    recs = []
    for n in nodes:
        s = latest[n.node]
        where = f" ({n.node})" if len(nodes) > 1 else ""
        if n.days_until_full is not None and n.days_until_full <= horizon_days:
            recs.append(
                Recommendation(
                    "projected_full",
                    "critical" if n.days_until_full < 7 else "warning",
                    f"memory{where} is projected to reach its limit in {n.days_until_full:.1f} days "
                    f"at {bytes_text(n.growth_bytes_per_day or 0)}/day",
                )
            )
        if not (s.get("maxmemory") or 0):
            recs.append(
                Recommendation(
                    "no_maxmemory",
                    "warning",
                    f"no maxmemory{where}: the limit is estimated from system memory; set "
                    "maxmemory so growth meets a policy instead of the OOM killer",
                )
            )
        policy = str(s.get("maxmemory_policy") or "noeviction")
        if (
            policy == "noeviction"
            and (n.growth_bytes_per_day or 0) > 0
            and (s.get("maxmemory") or 0)
        ):
            recs.append(
                Recommendation(
                    "noeviction_growth",
                    "warning",
                    f"policy noeviction with growing memory{where}: writes fail with OOM once "
                    "maxmemory is reached; use an eviction policy if this is a cache, or plan "
                    "capacity",
                )
            )
        system = s.get("total_system_memory") or 0
        cow = max(s.get("rdb_last_cow_size") or 0, s.get("current_cow_peak") or 0)
        used_rss = s.get("used_memory_rss") or s.get("used_memory") or 0
        if system and cow and system - used_rss < 1.5 * cow:
            recs.append(
                Recommendation(
                    "fork_headroom",
                    "warning",
                    f"free memory{where} ({bytes_text(system - used_rss)}) is less than 1.5 x the "
                    f"last fork's copy-on-write ({bytes_text(cow)}): a BGSAVE may push the host "
                    "into swap or "
                    "the OOM killer",
                )
            )
        frag = s.get("mem_fragmentation_ratio")
        if (
            frag is not None
            and frag > 1.5
            and (s.get("used_memory") or 0) >= FRAGMENTATION_MIN_USED
        ):
            recs.append(
                Recommendation(
                    "high_fragmentation",
                    "warning",
                    f"fragmentation ratio{where} is {frag:.2f}; consider activedefrag yes",
                )
            )
    return recs


def _point_in_time(
    spec: ConnectionSpec,
    history_path: Path,
    horizon_days: float,
    recorded: dict[str, tuple[int, float]],
) -> CapacityReport:
    """No history for this target: what INFO says now, and how to start recording."""
    others = f"; the history has {', '.join(sorted(recorded))} (--target)" if recorded else ""
    try:
        target, _ident, conn = discover(spec)
    except ConnectError as exc:
        raise ConnectError(
            f"no samples of {spec.redacted_url} in {history_path}{others}, and {exc.message}",
            exc.hint,
        ) from None
    try:
        data = info(conn)
    finally:
        conn.close()
    sample = _sample(data, target.url, target.nodes[0].address, time.time())
    node = node_capacity([sample], time.time())
    return CapacityReport(
        target=target,
        complete=True,
        history_path=str(history_path),
        samples=0,
        span_s=0.0,
        used_memory=node.used_memory,
        limit_bytes=node.limit_bytes,
        limit_source=node.limit_source,
        growth_bytes_per_day=None,
        r2=None,
        days_until_full=None,
        segments=(),
        nodes=(node,),
        recommendations=tuple(_recommendations([node], {node.node: sample}, horizon_days)),
        projection=False,
        samples_recorded=0,
        note=(
            f"no samples of this target in {history_path} yet{others}: shown is INFO now; "
            "record samples from cron for a projection, e.g. "
            "*/5 * * * * rediscope capacity record (same target options)"
        ),
    )


def _outside_window(
    target_url: str, history_path: Path, recorded: tuple[int, float], since_s: float
) -> CapacityReport:
    """Samples exist, none within --since: say so (and when the newest is), project nothing."""
    count, newest = recorded
    age = max(0.0, time.time() - newest)
    return CapacityReport(
        target=Target(target_url, "standalone", ()),
        complete=True,
        history_path=str(history_path),
        samples=0,
        span_s=0.0,
        used_memory=None,
        limit_bytes=None,
        limit_source="unknown",
        growth_bytes_per_day=None,
        r2=None,
        days_until_full=None,
        segments=(),
        nodes=(),
        recommendations=(),
        projection=False,
        note=(
            f"none of the {count:,} samples of this target is within --since {since_s:g}s "
            f"(the newest is {age:,.0f}s old): widen --since"
        ),
        samples_recorded=count,
    )


def report(
    spec: ConnectionSpec,
    history_path: Path,
    since_s: float | None = None,
    horizon_days: float = 30.0,
    target_url: str | None = None,
) -> CapacityReport:
    """Growth from the history of `target_url` (default: the spec's URL as `record` stores
    it). Reading the history needs no server; only a target with no history at all is asked
    for its INFO now (the point-in-time view)."""
    target_url = target_url or spec.redacted_url
    history = History(history_path)
    recorded = history.targets()
    since = time.time() - since_s if since_s else None
    samples = history.load(target_url, since) if target_url in recorded else []
    if not samples and target_url in recorded:
        return _outside_window(target_url, history_path, recorded[target_url], since_s or 0)
    if not samples:
        return _point_in_time(spec, history_path, horizon_days, recorded)
    now = time.time()
    by_node: dict[str, list[Sample]] = {}
    for s in samples:
        by_node.setdefault(s.node, []).append(s)
    nodes = [node_capacity(series, now) for series in by_node.values()]
    latest = {node: series[-1] for node, series in by_node.items()}
    primaries = [n for n in nodes if n.role == "primary"] or nodes
    mode = "cluster" if len(by_node) > 1 else "standalone"
    target = Target(target_url, mode, tuple(Node(n.node, n.role) for n in nodes))
    fitted = [n for n in primaries if n.growth_bytes_per_day is not None]
    growth = sum(n.growth_bytes_per_day or 0 for n in fitted) if fitted else None
    days_list = [n.days_until_full for n in primaries if n.days_until_full is not None]
    limits = [n.limit_bytes for n in primaries]
    limit = sum(x for x in limits if x is not None) if all(x is not None for x in limits) else None
    sources = {n.limit_source for n in primaries}
    r2 = min((n.r2 for n in fitted if n.r2 is not None), default=None)
    all_segments = tuple(seg for n in primaries for seg in n.segments)
    span = max((n.span_s for n in primaries), default=0.0)
    note = next((n.note for n in primaries if n.note), None)
    return CapacityReport(
        target=target,
        complete=True,
        history_path=str(history_path),
        samples=len(samples),
        span_s=span,
        used_memory=sum(n.used_memory for n in primaries),
        limit_bytes=limit,
        limit_source=sources.pop() if len(sources) == 1 else "mixed",
        growth_bytes_per_day=round(growth, 3) if growth is not None else None,
        r2=r2,
        days_until_full=min(days_list) if days_list else None,
        segments=all_segments,
        nodes=tuple(nodes),
        recommendations=tuple(_recommendations(primaries, latest, horizon_days)),
        projection=bool(fitted),
        note=note,
        samples_recorded=recorded[target_url][0],
    )
