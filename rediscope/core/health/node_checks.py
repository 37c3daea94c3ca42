"""The checks run once per node, each declared once: its id, default thresholds, unit, what it
measures (the registry in model.py) and its function."""

from __future__ import annotations

import time
from typing import Any

import redis

from rediscope.core.connection import CLIENT_NAME
from rediscope.core.health.model import (
    CRITICAL,
    OK,
    UNKNOWN,
    WARNING,
    Check,
    int_field,
    level,
    node_check,
    worst,
)
from rediscope.core.health.probe import Checker, NodeProbe, denied_reason
from rediscope.core.units import FRAGMENTATION_MIN_USED, MIB, bytes_text


@node_check("latency", 10.0, 50.0, "ms", "max PING round trip")
def latency(c: Checker, p: NodeProbe, policy_on_cache: bool) -> Check:
    return c.graded(
        "latency",
        max(p.rtts) if p.rtts else None,
        lambda mx: f"max PING round trip {mx:.2f} ms over {len(p.rtts)} pings",
        "no PING answered",
        p.label,
        hint="check network and server load (SLOWLOG, LATENCY)",
    )


@node_check("memory", 80.0, 90.0, "%", "used_memory of maxmemory (or of system memory)")
def memory(c: Checker, p: NodeProbe, policy_on_cache: bool) -> Check:
    b, node = p.after, p.label  # INFO at the window's end
    warn, crit = c.opts.thresholds("memory")
    used, limit = int_field(b, "used_memory"), int_field(b, "maxmemory") or 0
    system = int_field(b, "total_system_memory") or 0
    if used is None:
        return c.make("memory", UNKNOWN, None, "used_memory absent from INFO", node=node)
    else:
        base = limit or system
        pct = 100.0 * used / base if base else None
        st = level(pct, warn, crit)
        what = "maxmemory" if limit else "system memory (no maxmemory set)"
        return c.make(
            "memory",
            st,
            pct,
            f"used_memory {bytes_text(used)} is {pct:.1f}% of {what}"
            if pct is not None
            else "no maxmemory and no total_system_memory",
            hint=None if limit else "set maxmemory and a maxmemory-policy",
            node=node,
        )


@node_check(
    "fragmentation", 1.5, 2.0, "ratio", "mem_fragmentation_ratio (ignored under 100 MiB used)"
)
def fragmentation(c: Checker, p: NodeProbe, policy_on_cache: bool) -> Check:
    b, node = p.after, p.label  # INFO at the window's end
    ratio = b.get("mem_fragmentation_ratio")
    used = int_field(b, "used_memory") or 0
    if ratio is None:
        return c.make("fragmentation", UNKNOWN, None, "mem_fragmentation_ratio absent", node=node)
    elif used < FRAGMENTATION_MIN_USED:
        return c.make(
            "fragmentation",
            OK,
            float(ratio),
            f"ratio {float(ratio):.2f} (ignored: {used / MIB:.1f} MiB used, "
            f"under {FRAGMENTATION_MIN_USED // MIB} MiB)",
            node=node,
        )
    elif float(ratio) < 1.0:
        return c.make(
            "fragmentation",
            CRITICAL,
            float(ratio),
            f"ratio {float(ratio):.2f} < 1: the server is swapping",
            hint="add memory or lower maxmemory",
            node=node,
        )
    return c.graded(
        "fragmentation",
        float(ratio),
        lambda r: f"ratio {r:.2f}",
        "",
        node,
        hint="consider activedefrag yes",
    )


@node_check("evictions", 0.0, None, "keys", "keys evicted during the window")
def evictions(c: Checker, p: NodeProbe, policy_on_cache: bool) -> Check:
    a, b, node = p.before, p.after, p.label  # INFO at the window's start and end
    warn, crit = c.opts.thresholds("evictions")
    e0, e1 = int_field(a, "evicted_keys"), int_field(b, "evicted_keys")
    if e0 is None or e1 is None:
        return c.make("evictions", UNKNOWN, None, "evicted_keys absent", node=node)
    else:
        delta = e1 - e0
        st = OK if policy_on_cache else level(delta, warn, crit)
        msg = f"{delta:,} keys evicted in the window, {e1:,} since start" + (
            " (expected: the policy evicts, as a cache does)" if policy_on_cache and delta else ""
        )
        return c.make(
            "evictions",
            st,
            delta,
            msg,
            node=node,
            hint="raise maxmemory or reduce data" if st != OK else None,
        )


@node_check("clients", 80.0, 90.0, "%", "connected_clients of maxclients")
def clients(c: Checker, p: NodeProbe, policy_on_cache: bool) -> Check:
    b, node = p.after, p.label  # INFO at the window's end
    conn_n, mx = int_field(b, "connected_clients"), int_field(b, "maxclients")
    if mx is None and p.conn is not None:
        try:
            mx = int_field(p.conn.config_get("maxclients"), "maxclients") or None
        except (redis.RedisError, ValueError):
            mx = None
    if conn_n is None or not mx:
        return c.make(
            "clients",
            UNKNOWN,
            None,
            "maxclients unknown (not in INFO; CONFIG denied)",
            node=node,
        )
    return c.graded(
        "clients",
        100.0 * conn_n / mx,
        lambda _: f"{conn_n:,} of maxclients {mx:,} connected",
        "",
        node,
    )


@node_check("blocked_clients", 50.0, 100.0, "clients", "blocked_clients")
def blocked_clients(c: Checker, p: NodeProbe, policy_on_cache: bool) -> Check:
    return c.graded(
        "blocked_clients",
        int_field(p.after, "blocked_clients"),  # INFO at the window's end
        lambda n: f"{n:.0f} clients blocked (BLPOP, XREAD, WAIT, ...)",
        "blocked_clients absent",
        p.label,
    )


@node_check("rejected_connections", 0.0, 5.0, "connections", "rejected during the window")
def rejected_connections(c: Checker, p: NodeProbe, policy_on_cache: bool) -> Check:
    # INFO at the window's start and end
    r0, r1 = int_field(p.before, "rejected_connections"), int_field(p.after, "rejected_connections")
    return c.graded(
        "rejected_connections",
        None if r0 is None or r1 is None else r1 - r0,
        lambda n: f"{n:.0f} connections rejected in the window (maxclients)",
        "rejected_connections absent",
        p.label,
        hint="raise maxclients or fix a connection leak",
    )


@node_check("replication", 20.0, 60.0, "s", "replica link / lag in seconds")
def replication(c: Checker, p: NodeProbe, policy_on_cache: bool) -> Check:
    b, node = p.after, p.label
    warn, crit = c.opts.thresholds("replication")
    role = b.get("role")
    if role == "slave":
        link = b.get("master_link_status")
        io = int_field(b, "master_last_io_seconds_ago")
        where = f"{b.get('master_host')}:{b.get('master_port')}"
        if link != "up":
            return c.make(
                "replication",
                CRITICAL,
                None,
                f"replica: link to primary {where} is {link}",
                hint="is the primary reachable? check its log and masterauth",
                node=node,
            )
        st = level(io, warn, crit)
        return c.make(
            "replication", st, io, f"replica of {where}: link up, last I/O {io}s ago", node=node
        )
    slaves = int_field(b, "connected_slaves") or 0
    primary_offset = int_field(b, "master_repl_offset") or 0
    worst_lag, problems = 0, []
    for i in range(slaves):
        entry = b.get(f"slave{i}")
        if not isinstance(entry, dict):
            continue
        lag = int(entry.get("lag", 0))
        worst_lag = max(worst_lag, lag)
        if entry.get("state") != "online":
            problems.append(f"{entry.get('ip')}:{entry.get('port')} is {entry.get('state')}")
        behind = primary_offset - int(entry.get("offset", primary_offset))
        if behind > 0 and lag > (warn or 0):
            problems.append(f"{entry.get('ip')}:{entry.get('port')} is {bytes_text(behind)} behind")
    st = level(worst_lag, warn, crit) if slaves else OK
    expect = c.opts.expect_replicas
    msg = f"primary with {slaves} connected replica{'s' if slaves != 1 else ''}"
    if expect is not None and slaves < expect:
        st = worst([st, CRITICAL if slaves == 0 else WARNING])
        msg += f", {expect} expected"
    if problems:
        st = worst([st, WARNING])
        msg += "; " + "; ".join(problems)
    return c.make(
        "replication",
        st,
        float(worst_lag),
        msg,
        node=node,
        hint="check the replicas' links" if st != OK else None,
    )


@node_check("persistence", 3600.0, 86400.0, "s", "RDB/AOF status; age of unsaved changes")
def persistence(c: Checker, p: NodeProbe, policy_on_cache: bool) -> Check:
    b, node = p.after, p.label
    failures = [
        f"{name}:{b.get(name)}"
        for name in (
            "rdb_last_bgsave_status",
            "aof_last_write_status",
            "aof_last_bgrewrite_status",
        )
        if b.get(name) not in (None, "ok")
    ]
    if failures:
        return c.make(
            "persistence",
            CRITICAL,
            None,
            "; ".join(failures),
            node=node,
            hint="check disk space and the server log",
        )
    saving = None
    try:
        assert p.conn is not None
        save = p.conn.config_get("save").get("save", "")
        saving = bool(str(save).strip())
    except (redis.RedisError, AssertionError):
        pass
    changes = int_field(b, "rdb_changes_since_last_save") or 0
    last = int_field(b, "rdb_last_save_time")
    aof = str(b.get("aof_enabled", "0")) == "1"
    if saving is None:
        return c.make(
            "persistence",
            OK,
            None,
            "RDB/AOF status ok (save schedule unknown: CONFIG GET denied)",
            node=node,
        )
    if not saving or not changes or last is None:
        what = "RDB snapshots" if saving else "no RDB snapshots configured"
        return c.make(
            "persistence", OK, 0.0, f"status ok; {what}{', AOF on' if aof else ''}", node=node
        )
    when = time.strftime("%Y-%m-%d %H:%M:%SZ", time.gmtime(last))
    return c.graded(
        "persistence",
        max(0.0, time.time() - last),
        lambda age: f"{changes:,} changes unsaved for {age:.0f}s (last save {when})",
        "",
        node,
        hint="is BGSAVE failing or the save schedule too sparse?",
    )


@node_check(
    "slowlog",
    100.0,
    1000.0,
    "ms",
    "the slowest SLOWLOG entry of the window (rediscope's own left out)",
)
def slowlog(c: Checker, p: NodeProbe, policy_on_cache: bool) -> Check:
    node = p.label
    warn, crit = c.opts.thresholds("slowlog")
    try:
        entries = p.call("SLOWLOG", "GET", 128)
    except redis.RedisError as exc:
        return c.make(
            "slowlog",
            UNKNOWN,
            None,
            denied_reason(exc, "SLOWLOG GET"),
            hint="grant +slowlog|get (docs/security.md)",
            node=node,
        )
    window = max(c.opts.slowlog_window, c.opts.window)
    since = time.time() - window
    recent = [e for e in entries if int(e[1]) >= since]
    ours = [e for e in recent if len(e) > 5 and e[5] == CLIENT_NAME]
    theirs = [e for e in recent if not (len(e) > 5 and e[5] == CLIENT_NAME)]
    slowest = max(theirs, key=lambda e: int(e[2]), default=None)
    slowest_ms = int(slowest[2]) / 1000 if slowest is not None else 0.0
    msg = f"{len(theirs)} slowlog entries in the last {window:.0f}s"
    if ours:
        msg += f" ({len(ours)} more from rediscope, not counted)"
    if slowest is not None:
        shown = f"{slowest_ms:.3f}" if slowest_ms < 1 else f"{slowest_ms:.1f}"
        msg += f"; slowest {shown} ms: {command_line(slowest[3])}"
    return c.make(
        "slowlog",
        level(slowest_ms, warn, crit),
        slowest_ms,
        msg,
        hint="see SLOWLOG GET; avoid O(N) commands on big keys" if theirs else None,
        node=node,
    )


def command_line(args: list[Any], width: int = 60) -> str:
    """A slowlog entry's command, cut at `width` characters with "…" where it was cut."""
    words = [a.decode(errors="replace") if isinstance(a, bytes) else str(a) for a in args]
    line = " ".join(words)
    return line if len(line) <= width else line[: width - 1] + "…"
