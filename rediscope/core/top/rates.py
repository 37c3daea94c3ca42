"""Rates from two INFO samples of one node, and the totals over nodes."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import replace
from typing import Any

from rediscope.core.top.model import CommandRate, NodeSample, NodeView, ReplicaLag, TopTotals

Kind = Callable[[str], str]  # command name -> read | write | other


def _int(data: dict[str, Any], name: str) -> int:
    try:
        return int(data.get(name, 0))
    except (TypeError, ValueError):
        return 0


def _delta(prev: dict[str, Any], cur: dict[str, Any], name: str) -> int:
    """CUR - PREV of a counter; a counter that went down (a restart, CONFIG RESETSTAT) counts
    from zero."""
    d = _int(cur, name) - _int(prev, name)
    return d if d >= 0 else _int(cur, name)


def _commands(
    prev: dict[str, Any], cur: dict[str, Any], seconds: float, kind: Kind
) -> list[CommandRate]:
    out = []
    for name, stats in cur.items():
        if not name.startswith("cmdstat_") or not isinstance(stats, dict):
            continue
        command = name[len("cmdstat_") :]
        before = prev.get(name) if isinstance(prev.get(name), dict) else {}
        calls = _delta(before or {}, stats, "calls")
        if calls <= 0:
            continue
        usec = _delta(before or {}, stats, "usec")
        lat = cur.get(f"latency_percentiles_usec_{command}")
        p50 = p99 = None
        if isinstance(lat, dict):
            p50, p99 = _float(lat.get("p50")), _float(lat.get("p99"))
        out.append(
            CommandRate(
                name=command,
                calls=calls,
                calls_per_s=calls / seconds,
                usec_per_s=usec / seconds,
                usec_per_call=usec / calls,
                p50_usec=p50,
                p99_usec=p99,
                kind=kind(command),
            )
        )
    return sorted(out, key=lambda c: (-c.calls, c.name))


def _float(value: Any) -> float | None:
    try:
        return float(value)
    except (TypeError, ValueError):
        return None


def _replicas(data: dict[str, Any]) -> tuple[ReplicaLag, ...]:
    offset = _int(data, "master_repl_offset")
    out = []
    for name, value in data.items():
        if name.startswith("slave") and name[5:].isdigit() and isinstance(value, dict):
            out.append(
                ReplicaLag(
                    f"{value.get('ip')}:{value.get('port')}",
                    str(value.get("state", "")),
                    max(0, offset - _int(value, "offset")),
                    _int(value, "lag") if "lag" in value else None,
                )
            )
    return tuple(out)


def gauge_view(cur: NodeSample) -> NodeView:
    """What one sample tells of a node on its own (memory, clients, keys): its rates need
    the sample before, so they are None here."""
    assert cur.data is not None
    c = cur.data
    return NodeView(
        address=cur.address,
        role="replica" if c.get("role") == "slave" else "primary",
        up=True,
        version=str(c.get("valkey_version") or c.get("redis_version", "")),
        uptime_s=_int(c, "uptime_in_seconds"),
        used_memory=_int(c, "used_memory"),
        used_memory_peak=_int(c, "used_memory_peak"),
        maxmemory=_int(c, "maxmemory"),
        rss=_int(c, "used_memory_rss"),
        fragmentation=_float(c.get("mem_fragmentation_ratio")),
        clients=_int(c, "connected_clients"),
        blocked_clients=_int(c, "blocked_clients"),
        tracking_clients=_int(c, "tracking_clients"),
        max_output_buffer=_int(c, "client_recent_max_output_buffer"),
        keys=_keyspace(c),
        replicas=_replicas(c),
        link=str(c["master_link_status"]) if "master_link_status" in c else None,
        cluster_state=str(c["cluster_state"]) if "cluster_state" in c else None,
    )


def node_view(prev: NodeSample, cur: NodeSample, kind: Kind) -> NodeView:
    """One node's interval: PREV and CUR are its samples (both answered)."""
    assert prev.data is not None and cur.data is not None
    p, c = prev.data, cur.data
    seconds = max((cur.at_us - prev.at_us) / 1e6, 1e-6)
    commands = _commands(p, c, seconds, kind)
    hits, misses = _delta(p, c, "keyspace_hits"), _delta(p, c, "keyspace_misses")
    ops = _delta(p, c, "total_commands_processed")

    def rate(name: str) -> float:
        return _delta(p, c, name) / seconds

    return replace(
        gauge_view(cur),
        interval_s=round(seconds, 6),
        ops=ops,
        ops_per_s=ops / seconds,
        reads_per_s=sum(x.calls_per_s for x in commands if x.kind == "read"),
        writes_per_s=sum(x.calls_per_s for x in commands if x.kind == "write"),
        net_in_per_s=rate("total_net_input_bytes"),
        net_out_per_s=rate("total_net_output_bytes"),
        hits=hits,
        misses=misses,
        hit_ratio=hits / (hits + misses) if hits + misses else None,
        expired_per_s=rate("expired_keys"),
        evicted_per_s=rate("evicted_keys"),
        rejected_per_s=rate("rejected_connections"),
        commands=tuple(commands),
    )


def _keyspace(data: dict[str, Any]) -> dict[str, dict[str, int]]:
    return {
        name: {"keys": _int(v, "keys"), "expires": _int(v, "expires")}
        for name, v in data.items()
        if name.startswith("db") and name[2:].isdigit() and isinstance(v, dict)
    }


def merged_commands(nodes: Iterable[NodeView]) -> tuple[CommandRate, ...]:
    """Every node's command rates summed per command (latency: the worst node's)."""
    by: dict[str, list[CommandRate]] = {}
    for n in nodes:
        for c in n.commands:
            by.setdefault(c.name, []).append(c)
    out = []
    for name, rates in by.items():
        calls = sum(r.calls for r in rates)
        usec_s = sum(r.usec_per_s for r in rates)
        per_s = sum(r.calls_per_s for r in rates)
        p50 = [r.p50_usec for r in rates if r.p50_usec is not None]
        p99 = [r.p99_usec for r in rates if r.p99_usec is not None]
        out.append(
            CommandRate(
                name=name,
                calls=calls,
                calls_per_s=per_s,
                usec_per_s=usec_s,
                usec_per_call=usec_s / per_s if per_s else None,
                p50_usec=max(p50) if p50 else None,
                p99_usec=max(p99) if p99 else None,
                kind=rates[0].kind,
            )
        )
    return tuple(sorted(out, key=lambda c: (-c.calls, c.name)))


def node_keys(n: NodeView) -> int | None:
    """The keys a node holds over its dbs (None: not read)."""
    return None if n.keys is None else sum(d["keys"] for d in n.keys.values())


def total(values: Iterable[int | None]) -> int:
    return sum(v for v in values if v is not None)


def totals(nodes: Iterable[NodeView]) -> TopTotals:
    """Each measure summed over the nodes it was read from; a node missing from any sum makes
    the totals partial (a lower bound) and is named, never counted as 0."""
    listed = list(nodes)
    nodes = [n for n in listed if n.up]  # a node that does not answer: nothing was read
    hits, misses = total(n.hits for n in nodes), total(n.misses for n in nodes)

    def rates(name: str) -> float:
        return float(sum(getattr(n, name) or 0.0 for n in nodes))

    missing = tuple(n.address for n in listed if not n.up or n.ops is None or n.used_memory is None)
    return TopTotals(
        ops=total(n.ops for n in nodes),
        ops_per_s=rates("ops_per_s"),
        reads_per_s=rates("reads_per_s"),
        writes_per_s=rates("writes_per_s"),
        net_in_per_s=rates("net_in_per_s"),
        net_out_per_s=rates("net_out_per_s"),
        hits=hits,
        misses=misses,
        hit_ratio=hits / (hits + misses) if hits + misses else None,
        expired_per_s=rates("expired_per_s"),
        evicted_per_s=rates("evicted_per_s"),
        used_memory=total(n.used_memory for n in nodes),
        keys=total(node_keys(n) for n in nodes),
        clients=total(n.clients for n in nodes),
        partial=bool(missing),
        missing=missing,
    )


def at_us(data: dict[str, Any], fallback_us: int) -> int:
    """The server's clock of a sample (server_time_usec, 6.0+), else the client's."""
    value = data.get("server_time_usec")
    return int(value) if value is not None else fallback_us
