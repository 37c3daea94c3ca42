"""`rediscope capacity record | report`: INFO samples into the local history, and the growth report read back from it (no server needed for recorded targets)."""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar

import redis

from rediscope.core.capacity.fit import NodeCapacity, Segment, node_capacity
from rediscope.core.capacity.history import SAMPLE_FIELDS, History, Sample
from rediscope.core.capacity.patternmodel import ByPattern
from rediscope.core.connection import ConnectionSpec, client
from rediscope.core.failures import describe_error
from rediscope.core.info import info
from rediscope.core.report import Outcome, ReportBase
from rediscope.core.target import Mode, Node, Role, Target, discover, identify, node_spec
from rediscope.core.units import FRAGMENTATION_MIN_USED, bytes_text
from rediscope.errors import ConnectError, RediscopeError
from rediscope.exitcodes import ExitStatus


@dataclass(frozen=True, kw_only=True)
class RecordReport(ReportBase):
    command: ClassVar[str] = "capacity record"
    target: Target
    complete: bool
    history: str
    samples: tuple[dict[str, Any], ...]
    errors: tuple[str, ...]
    notes: tuple[str, ...] = ()
    #: --patterns: the pattern rows stored (the top patterns by bytes and "(other)")
    patterns_recorded: int | None = None

    def outcome(self) -> Outcome:
        """Exit 1 when a node could not be sampled (the others were recorded)."""
        return Outcome(ExitStatus.ERROR if self.errors else ExitStatus.OK, self.errors)


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
    target, _ident = identify(spec)
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


@dataclass(frozen=True)
class CapacityAdvice:
    id: str
    severity: str
    message: str


@dataclass(frozen=True, kw_only=True)
class CapacityReport(ReportBase):
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
    recommendations: tuple[CapacityAdvice, ...]
    projection: bool
    note: str | None  # why there is no projection, when there is none
    #: samples of this target in the whole history (`samples` counts those in the window)
    samples_recorded: int | None = None
    headroom_rule: str = (
        "limit = maxmemory; without maxmemory, total_system_memory minus 1.5 x "
        "the largest copy-on-write size observed, or half of system memory "
        "when no fork was observed"
    )
    notes: tuple[str, ...] = ()
    #: --by-pattern: the growth of each key pattern over the analyzed snapshots (else None)
    by_pattern: ByPattern | None = None

    def gate(self, within_s: float, strict: bool = False) -> tuple[bool, str | None]:
        """`--fail-within`: (fails, what to say). Without a projection it fails only when
        `strict`; with one, when the limit is reached within `within_s`."""
        if not self.projection:
            return strict, "no projection: " + (self.note or "not enough samples")
        days = self.days_until_full
        if days is not None and days * 86400 <= within_s:
            return True, f"projected to reach the limit in {days:.1f} days"
        return False, None


def _recommendations(
    nodes: list[NodeCapacity], latest: dict[str, Sample], horizon_days: float
) -> list[CapacityAdvice]:
    recs = []
    for n in nodes:
        where = f" ({n.node})" if len(nodes) > 1 else ""
        recs += _growth_advice(n, latest[n.node], where, horizon_days)
        recs += _host_advice(latest[n.node], where)
    return recs


def _growth_advice(
    n: NodeCapacity, s: Sample, where: str, horizon_days: float
) -> list[CapacityAdvice]:
    """The limit and what happens at it: projected full, no maxmemory, noeviction growth."""
    recs = []
    growing = (n.growth_bytes_per_day or 0) > 0
    if n.days_until_full is not None and n.days_until_full <= horizon_days:
        text = (
            f"memory{where} is projected to reach its limit in {n.days_until_full:.1f} days "
            f"at {bytes_text(n.growth_bytes_per_day or 0)}/day"
        )
        severity = "critical" if n.days_until_full < 7 else "warning"
        recs.append(CapacityAdvice("projected_full", severity, text))
    if not (s.get("maxmemory") or 0):
        text = (
            f"no maxmemory{where}: the limit is estimated from system memory; set "
            "maxmemory so growth meets a policy instead of the OOM killer"
        )
        recs.append(CapacityAdvice("no_maxmemory", "warning", text))
    policy = str(s.get("maxmemory_policy") or "noeviction")
    if policy == "noeviction" and growing and (s.get("maxmemory") or 0):
        text = (
            f"policy noeviction with growing memory{where}: writes fail with OOM once "
            "maxmemory is reached; use an eviction policy if this is a cache, or plan capacity"
        )
        recs.append(CapacityAdvice("noeviction_growth", "warning", text))
    return recs


def _host_advice(s: Sample, where: str) -> list[CapacityAdvice]:
    """The host around the server: fork headroom, fragmentation."""
    recs = []
    system = s.get("total_system_memory") or 0
    cow = max(s.get("rdb_last_cow_size") or 0, s.get("current_cow_peak") or 0)
    used_rss = s.get("used_memory_rss") or s.get("used_memory") or 0
    if system and cow and system - used_rss < 1.5 * cow:
        text = (
            f"free memory{where} ({bytes_text(system - used_rss)}) is less than 1.5 x the "
            f"last fork's copy-on-write ({bytes_text(cow)}): a BGSAVE may push the host "
            "into swap or the OOM killer"
        )
        recs.append(CapacityAdvice("fork_headroom", "warning", text))
    frag = s.get("mem_fragmentation_ratio")
    if frag is not None and frag > 1.5 and (s.get("used_memory") or 0) >= FRAGMENTATION_MIN_USED:
        text = f"fragmentation ratio{where} is {frag:.2f}; consider activedefrag yes"
        recs.append(CapacityAdvice("high_fragmentation", "warning", text))
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
        with discover(spec) as (target, _ident, conn):
            data = info(conn)
    except ConnectError as exc:
        raise ConnectError(
            f"no samples of {spec.redacted_url} in {history_path}{others}, and {exc.message}",
            exc.hint,
        ) from None
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
    mode: Mode = "cluster" if len(by_node) > 1 else "standalone"
    roles: dict[str, Role] = {"primary": "primary", "replica": "replica"}
    target = Target(
        target_url, mode, tuple(Node(n.node, roles.get(n.role, "replica")) for n in nodes)
    )
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
