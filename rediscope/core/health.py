"""`rediscope health`: checks with thresholds, rolled up to one status for monitoring and CI.

Statuses follow the monitoring-plugin convention: OK 0, WARNING 1, CRITICAL 2, UNKNOWN 3. A
check that cannot run (command denied, field absent) is UNKNOWN with the reason; an unreachable
server is CRITICAL. Every node of a cluster is checked; the report names the node of each
finding and rolls up to the worst status.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar

import redis
import yaml

from rediscope.core.backup.catalog import list_backups
from rediscope.core.connection import CLIENT_NAME, ConnectionSpec, client
from rediscope.core.failures import describe_error, is_denied
from rediscope.core.info import identity
from rediscope.core.sentinel import follow, views
from rediscope.core.target import Node, Target, cluster_nodes, node_spec
from rediscope.core.units import FRAGMENTATION_MIN_USED, MIB, bytes_text, short_duration
from rediscope.errors import ConfigError, RediscopeError, UsageError
from rediscope.exitcodes import HealthExit

OK, WARNING, CRITICAL, UNKNOWN = "OK", "WARNING", "CRITICAL", "UNKNOWN"
#: worst first when rolling up: CRITICAL > WARNING > UNKNOWN > OK
_RANK = {OK: 0, UNKNOWN: 1, WARNING: 2, CRITICAL: 3}
EXIT = {
    OK: HealthExit.OK,
    WARNING: HealthExit.WARNING,
    CRITICAL: HealthExit.CRITICAL,
    UNKNOWN: HealthExit.UNKNOWN,
}

#: id -> (warn, crit, unit, what it measures)
DEFAULTS: dict[str, tuple[float | None, float | None, str, str]] = {
    "connection": (None, None, "", "connect, AUTH and PING"),
    "latency": (10.0, 50.0, "ms", "max PING round trip"),
    "memory": (80.0, 90.0, "%", "used_memory of maxmemory (or of system memory)"),
    "fragmentation": (1.5, 2.0, "ratio", "mem_fragmentation_ratio (ignored under 100 MiB used)"),
    "evictions": (0.0, None, "keys", "keys evicted during the window"),
    "clients": (80.0, 90.0, "%", "connected_clients of maxclients"),
    "blocked_clients": (50.0, 100.0, "clients", "blocked_clients"),
    "rejected_connections": (0.0, 5.0, "connections", "rejected during the window"),
    "replication": (20.0, 60.0, "s", "replica link / lag in seconds"),
    "persistence": (3600.0, 86400.0, "s", "RDB/AOF status; age of unsaved changes"),
    "cluster": (None, None, "", "cluster state, slots, nodes"),
    "sentinel": (None, None, "sentinels", "sentinels reachable, agreeing, with quorum"),
    "slowlog": (
        100.0,
        1000.0,
        "ms",
        "the slowest SLOWLOG entry of the window (rediscope's own left out)",
    ),
    "backup_age": (26 * 3600.0, 50 * 3600.0, "s", "age of the newest verified backup"),
}
ALL_CHECKS = tuple(DEFAULTS)


@dataclass(frozen=True)
class Check:
    id: str
    status: str
    value: float | None
    unit: str
    warn: float | None
    crit: float | None
    message: str
    hint: str | None = None
    node: str | None = None


@dataclass(frozen=True)
class NotApplicable:
    id: str
    reason: str


@dataclass(frozen=True)
class HealthReport:
    command: ClassVar[str] = "health"
    target: Target
    complete: bool
    status: str
    exit_code: int
    window_s: float
    checks: tuple[Check, ...]
    notes: tuple[str, ...] = ()
    #: checks asked for by --checks that do not apply here, each with the reason
    not_applicable: tuple[NotApplicable, ...] = ()


@dataclass(frozen=True)
class HealthOptions:
    checks: tuple[str, ...] = ()  # empty: all that apply
    skip: tuple[str, ...] = ()
    warn: dict[str, float] = field(default_factory=dict)
    crit: dict[str, float] = field(default_factory=dict)
    window: float = 5.0
    pings: int = 5
    expect_replicas: int | None = None
    expect_nodes: int | None = None
    slowlog_window: float = 900.0
    backup_dir: str | None = None
    fail_on: str = "warning"  # warning: plain convention; critical: warnings exit 0

    def validate(self) -> None:
        for name in (*self.checks, *self.skip, *self.warn, *self.crit):
            if name not in DEFAULTS:
                raise UsageError(f"unknown check {name!r}", f"checks are: {', '.join(ALL_CHECKS)}")
        if self.window < 0 or self.window > 3600:
            raise UsageError("--window must be between 0 and 3600 seconds")
        if self.fail_on not in ("warning", "critical"):
            raise UsageError("--fail-on must be warning or critical")

    def thresholds(self, check_id: str) -> tuple[float | None, float | None]:
        warn, crit, _, _ = DEFAULTS[check_id]
        return self.warn.get(check_id, warn), self.crit.get(check_id, crit)

    def wants(self, check_id: str) -> bool:
        if check_id in self.skip:
            return False
        return not self.checks or check_id in self.checks


def parse_thresholds(values: list[str], option: str) -> dict[str, float]:
    """`memory=85` pairs into {check: value}."""
    out = {}
    for item in values:
        name, sep, raw = item.partition("=")
        if not sep:
            raise UsageError(f"{option} {item!r}: expected CHECK=VALUE, e.g. memory=85")
        try:
            out[name.strip()] = float(raw)
        except ValueError:
            raise UsageError(f"{option} {item!r}: {raw!r} is not a number") from None
    return out


def load_thresholds_file(path: str) -> tuple[dict[str, float], dict[str, float]]:
    """A YAML file {warn: {check: value}, crit: {check: value}}."""
    try:
        data = yaml.safe_load(Path(path).read_text(encoding="utf-8")) or {}
    except (OSError, yaml.YAMLError) as exc:
        raise ConfigError(f"cannot read thresholds file {path}: {exc}") from None
    if not isinstance(data, dict) or set(data) - {"warn", "crit"}:
        raise ConfigError(f"{path}: expected a mapping with 'warn' and/or 'crit' sections")
    out: list[dict[str, float]] = []
    for section in ("warn", "crit"):
        body = data.get(section) or {}
        if not isinstance(body, dict):
            raise ConfigError(f"{path}: '{section}' must map check names to numbers")
        try:
            out.append({str(k): float(v) for k, v in body.items()})
        except (TypeError, ValueError):
            raise ConfigError(f"{path}: '{section}' values must be numbers") from None
    return out[0], out[1]


def level(value: float | None, warn: float | None, crit: float | None) -> str:
    """Higher is worse: above crit is CRITICAL, above warn is WARNING."""
    if value is None:
        return UNKNOWN
    if crit is not None and value > crit:
        return CRITICAL
    if warn is not None and value > warn:
        return WARNING
    return OK


def worst(statuses: list[str]) -> str:
    return max(statuses, key=lambda s: _RANK[s], default=OK)


def _int(data: Any, name: str) -> int | None:
    value = data.get(name)
    try:
        return int(value) if value is not None else None
    except (TypeError, ValueError):
        return None


class _NodeProbe:
    """INFO twice (window apart), pings, and the commands the checks need, for one node."""

    def __init__(self, spec: ConnectionSpec, label: str | None) -> None:
        self.spec = spec
        self.label = label
        self.conn: redis.Redis | None = None
        self.before: dict[str, Any] = {}
        self.after: dict[str, Any] = {}
        self.error: RediscopeError | None = None
        self.rtts: list[float] = []

    def first(self) -> None:
        try:
            self.conn = client(self.spec)
            self.conn.ping()
            self.before = self.conn.info()
        except (redis.RedisError, OSError) as exc:
            self.error = describe_error(exc, self.spec)

    def second(self, pings: int, window: float) -> None:
        if self.conn is None or self.error is not None:
            return
        try:
            for _ in range(pings):
                start = time.perf_counter()
                self.conn.ping()
                self.rtts.append((time.perf_counter() - start) * 1000)
            self.after = self.conn.info() if window > 0 else self.before
        except (redis.RedisError, OSError) as exc:
            self.error = describe_error(exc, self.spec)

    def call(self, *args: Any) -> Any:
        assert self.conn is not None
        return self.conn.execute_command(*args)

    def close(self) -> None:
        if self.conn is not None:
            self.conn.close()


def _denied_reason(exc: BaseException, what: str) -> str:
    text = str(exc)
    if is_denied(text) and "unknown command" not in text.lower():
        return f"{what} is denied to this user (ACL)"
    if "unknown command" in text.lower():
        return f"{what} is not available (renamed or disabled)"
    return f"{what} failed: {text}"


class _Checker:
    def __init__(self, opts: HealthOptions) -> None:
        self.opts = opts

    def make(
        self,
        check_id: str,
        status: str,
        value: float | None,
        message: str,
        hint: str | None = None,
        node: str | None = None,
        warn: float | None = None,
        crit: float | None = None,
        use_defaults: bool = True,
    ) -> Check:
        w, c = self.opts.thresholds(check_id) if use_defaults else (warn, crit)
        return Check(
            check_id,
            status,
            None if value is None else round(value, 4),
            DEFAULTS[check_id][2],
            w,
            c,
            message,
            hint,
            node,
        )

    def node_checks(self, p: _NodeProbe, policy_on_cache: bool) -> list[Check]:
        out: list[Check] = []
        a, b, node = p.before, p.after, p.label
        opts = self.opts

        def want(check_id: str) -> bool:
            return opts.wants(check_id)

        if want("latency"):
            warn, crit = opts.thresholds("latency")
            mx = max(p.rtts) if p.rtts else None
            out.append(
                self.make(
                    "latency",
                    level(mx, warn, crit),
                    mx,
                    f"max PING round trip {mx:.2f} ms over {len(p.rtts)} pings"
                    if mx is not None
                    else "no PING answered",
                    node=node,
                    hint="check network and server load (SLOWLOG, LATENCY)"
                    if level(mx, warn, crit) != OK
                    else None,
                )
            )
        if want("memory"):
            warn, crit = opts.thresholds("memory")
            used, limit = _int(b, "used_memory"), _int(b, "maxmemory") or 0
            system = _int(b, "total_system_memory") or 0
            if used is None:
                out.append(
                    self.make("memory", UNKNOWN, None, "used_memory absent from INFO", node=node)
                )
            else:
                base = limit or system
                pct = 100.0 * used / base if base else None
                st = level(pct, warn, crit)
                what = "maxmemory" if limit else "system memory (no maxmemory set)"
                out.append(
                    self.make(
                        "memory",
                        st,
                        pct,
                        f"used_memory {bytes_text(used)} is {pct:.1f}% of {what}"
                        if pct is not None
                        else "no maxmemory and no total_system_memory",
                        hint=None if limit else "set maxmemory and a maxmemory-policy",
                        node=node,
                    )
                )
        if want("fragmentation"):
            warn, crit = opts.thresholds("fragmentation")
            ratio = b.get("mem_fragmentation_ratio")
            used = _int(b, "used_memory") or 0
            if ratio is None:
                out.append(
                    self.make(
                        "fragmentation", UNKNOWN, None, "mem_fragmentation_ratio absent", node=node
                    )
                )
            elif used < FRAGMENTATION_MIN_USED:
                out.append(
                    self.make(
                        "fragmentation",
                        OK,
                        float(ratio),
                        f"ratio {float(ratio):.2f} (ignored: {used / MIB:.1f} MiB used, "
                        f"under {FRAGMENTATION_MIN_USED // MIB} MiB)",
                        node=node,
                    )
                )
            elif float(ratio) < 1.0:
                out.append(
                    self.make(
                        "fragmentation",
                        CRITICAL,
                        float(ratio),
                        f"ratio {float(ratio):.2f} < 1: the server is swapping",
                        hint="add memory or lower maxmemory",
                        node=node,
                    )
                )
            else:
                st = level(float(ratio), warn, crit)
                out.append(
                    self.make(
                        "fragmentation",
                        st,
                        float(ratio),
                        f"ratio {float(ratio):.2f}",
                        hint="consider activedefrag yes" if st != OK else None,
                        node=node,
                    )
                )
        if want("evictions"):
            warn, crit = opts.thresholds("evictions")
            e0, e1 = _int(a, "evicted_keys"), _int(b, "evicted_keys")
            if e0 is None or e1 is None:
                out.append(self.make("evictions", UNKNOWN, None, "evicted_keys absent", node=node))
            else:
                delta = e1 - e0
                st = OK if policy_on_cache else level(delta, warn, crit)
                msg = f"{delta:,} keys evicted in the window, {e1:,} since start" + (
                    " (expected: the policy evicts, as a cache does)"
                    if policy_on_cache and delta
                    else ""
                )
                out.append(
                    self.make(
                        "evictions",
                        st,
                        delta,
                        msg,
                        node=node,
                        hint="raise maxmemory or reduce data" if st != OK else None,
                    )
                )
        if want("clients"):
            warn, crit = opts.thresholds("clients")
            conn_n, mx = _int(b, "connected_clients"), _int(b, "maxclients")
            if mx is None and p.conn is not None:
                try:
                    mx = _int(p.conn.config_get("maxclients"), "maxclients") or None
                except (redis.RedisError, ValueError):
                    mx = None
            if conn_n is None or not mx:
                out.append(
                    self.make(
                        "clients",
                        UNKNOWN,
                        None,
                        "maxclients unknown (not in INFO; CONFIG denied)",
                        node=node,
                    )
                )
            else:
                pct = 100.0 * conn_n / mx
                out.append(
                    self.make(
                        "clients",
                        level(pct, warn, crit),
                        pct,
                        f"{conn_n:,} of maxclients {mx:,} connected",
                        node=node,
                    )
                )
        if want("blocked_clients"):
            warn, crit = opts.thresholds("blocked_clients")
            blocked = _int(b, "blocked_clients")
            out.append(
                self.make(
                    "blocked_clients",
                    level(blocked, warn, crit),
                    blocked,
                    f"{blocked} clients blocked (BLPOP, XREAD, WAIT, ...)"
                    if blocked is not None
                    else "blocked_clients absent",
                    node=node,
                )
            )
        if want("rejected_connections"):
            warn, crit = opts.thresholds("rejected_connections")
            r0, r1 = _int(a, "rejected_connections"), _int(b, "rejected_connections")
            rejected = None if r0 is None or r1 is None else r1 - r0
            out.append(
                self.make(
                    "rejected_connections",
                    level(rejected, warn, crit),
                    rejected,
                    f"{rejected} connections rejected in the window (maxclients)"
                    if rejected is not None
                    else "rejected_connections absent",
                    hint="raise maxclients or fix a connection leak" if rejected else None,
                    node=node,
                )
            )
        if want("replication"):
            out.append(self.replication(p))
        if want("persistence"):
            out.append(self.persistence(p))
        if want("slowlog"):
            out.append(self.slowlog(p))
        return out

    def replication(self, p: _NodeProbe) -> Check:
        b, node = p.after, p.label
        warn, crit = self.opts.thresholds("replication")
        role = b.get("role")
        if role == "slave":
            link = b.get("master_link_status")
            io = _int(b, "master_last_io_seconds_ago")
            where = f"{b.get('master_host')}:{b.get('master_port')}"
            if link != "up":
                return self.make(
                    "replication",
                    CRITICAL,
                    None,
                    f"replica: link to primary {where} is {link}",
                    hint="is the primary reachable? check its log and masterauth",
                    node=node,
                )
            st = level(io, warn, crit)
            return self.make(
                "replication", st, io, f"replica of {where}: link up, last I/O {io}s ago", node=node
            )
        slaves = _int(b, "connected_slaves") or 0
        primary_offset = _int(b, "master_repl_offset") or 0
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
                problems.append(
                    f"{entry.get('ip')}:{entry.get('port')} is {bytes_text(behind)} behind"
                )
        st = level(worst_lag, warn, crit) if slaves else OK
        expect = self.opts.expect_replicas
        msg = f"primary with {slaves} connected replica{'s' if slaves != 1 else ''}"
        if expect is not None and slaves < expect:
            st = worst([st, CRITICAL if slaves == 0 else WARNING])
            msg += f", {expect} expected"
        if problems:
            st = worst([st, WARNING])
            msg += "; " + "; ".join(problems)
        return self.make(
            "replication",
            st,
            float(worst_lag),
            msg,
            node=node,
            hint="check the replicas' links" if st != OK else None,
        )

    def persistence(self, p: _NodeProbe) -> Check:
        b, node = p.after, p.label
        warn, crit = self.opts.thresholds("persistence")
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
            return self.make(
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
        changes = _int(b, "rdb_changes_since_last_save") or 0
        last = _int(b, "rdb_last_save_time")
        aof = str(b.get("aof_enabled", "0")) == "1"
        if saving is None:
            return self.make(
                "persistence",
                OK,
                None,
                "RDB/AOF status ok (save schedule unknown: CONFIG GET denied)",
                node=node,
            )
        if not saving or not changes or last is None:
            what = "RDB snapshots" if saving else "no RDB snapshots configured"
            return self.make(
                "persistence", OK, 0.0, f"status ok; {what}{', AOF on' if aof else ''}", node=node
            )
        age = max(0.0, time.time() - last)
        st = level(age, warn, crit)
        return self.make(
            "persistence",
            st,
            age,
            f"{changes:,} changes unsaved for {age:.0f}s (last save "
            f"{time.strftime('%Y-%m-%d %H:%M:%SZ', time.gmtime(last))})",
            hint="is BGSAVE failing or the save schedule too sparse?" if st != OK else None,
            node=node,
        )

    def slowlog(self, p: _NodeProbe) -> Check:
        node = p.label
        warn, crit = self.opts.thresholds("slowlog")
        try:
            entries = p.call("SLOWLOG", "GET", 128)
        except redis.RedisError as exc:
            return self.make(
                "slowlog",
                UNKNOWN,
                None,
                _denied_reason(exc, "SLOWLOG GET"),
                hint="grant +slowlog|get (docs/security.md)",
                node=node,
            )
        window = max(self.opts.slowlog_window, self.opts.window)
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
            msg += f"; slowest {shown} ms: {_command_line(slowest[3])}"
        return self.make(
            "slowlog",
            level(slowest_ms, warn, crit),
            slowest_ms,
            msg,
            hint="see SLOWLOG GET; avoid O(N) commands on big keys" if theirs else None,
            node=node,
        )


def _command_line(args: list[Any], width: int = 60) -> str:
    """A slowlog entry's command, cut at `width` characters with "…" where it was cut."""
    words = [a.decode(errors="replace") if isinstance(a, bytes) else str(a) for a in args]
    line = " ".join(words)
    return line if len(line) <= width else line[: width - 1] + "…"


def _cluster_check(
    checker: _Checker, probes: list[_NodeProbe], target: Target, opts: HealthOptions
) -> Check:
    live = next((p for p in probes if p.conn is not None and p.error is None), None)
    if live is None:
        return checker.make("cluster", CRITICAL, None, "no cluster node answered")
    try:
        raw = live.call("CLUSTER", "INFO")
    except redis.RedisError as exc:
        return checker.make("cluster", UNKNOWN, None, _denied_reason(exc, "CLUSTER INFO"))
    text = raw.decode() if isinstance(raw, bytes) else raw
    data = (
        text
        if isinstance(text, dict)
        else dict(line.split(":", 1) for line in str(text).splitlines() if ":" in line)
    )
    state = str(data.get("cluster_state", "?")).strip()
    ok = int(data.get("cluster_slots_ok", 0))
    pfail = int(data.get("cluster_slots_pfail", 0))
    fail = int(data.get("cluster_slots_fail", 0))
    assigned = int(data.get("cluster_slots_assigned", 0))
    known = int(data.get("cluster_known_nodes", 0))
    down = [p.label or "?" for p in probes if p.error is not None]
    problems = []
    st = OK
    if state != "ok":
        st, problems = CRITICAL, [f"cluster_state:{state}"]
    if fail:
        st = CRITICAL
        problems.append(f"{fail} slots failed")
    if assigned < 16384:
        st = CRITICAL
        problems.append(f"only {assigned} of 16384 slots assigned")
    if pfail:
        st = worst([st, WARNING])
        problems.append(f"{pfail} slots PFAIL")
    if down:
        st = CRITICAL
        problems.append(f"unreachable: {', '.join(down)}")
    if opts.expect_nodes is not None and known != opts.expect_nodes:
        st = worst([st, WARNING])
        problems.append(f"{known} nodes known, {opts.expect_nodes} expected")
    msg = f"state {state}, {ok}/16384 slots ok, {known} nodes" + (
        ": " + "; ".join(problems) if problems else ""
    )
    return checker.make(
        "cluster",
        st,
        float(ok),
        msg,
        hint="see CLUSTER NODES; a failed primary needs a replica to promote" if st != OK else None,
    )


def backup_check(checker: _Checker, backup_dir: str) -> Check:
    """The newest backup in DIR that was verified when written and is intact now (its files
    there, of the manifest's sizes), from the backup catalogue."""
    warn, crit = checker.opts.thresholds("backup_age")
    d = Path(backup_dir)
    if not d.is_dir():
        return checker.make("backup_age", CRITICAL, None, f"{d} is not a directory")
    backups = list_backups(d)
    newest = next((b for b in backups if b.intact), None)
    broken = [b for b in backups if b.verified and b.problems]
    newer_broken = [b for b in broken if newest is None or b.time > newest.time]
    damage = f"; newer but damaged: {newer_broken[0].problems[0]}" if newer_broken else ""
    if newest is None:
        return checker.make(
            "backup_age",
            CRITICAL,
            None,
            f"no intact verified backup in {d}{damage}",
            hint="run `rediscope backup run` (cron); `backup verify` checks what is there",
        )
    age = max(0.0, time.time() - newest.finished_epoch)
    status = level(age, warn, crit)
    return checker.make(
        "backup_age",
        status,
        age,
        f"newest intact backup {newest.base} is {short_duration(age)} old{damage}",
        hint="is the backup cron job running?" if status != OK else None,
    )


def sentinel_check(checker: _Checker, spec: ConnectionSpec) -> Check:
    """Each sentinel's view: reachable, the primary it names, failover state, CKQUORUM.
    A sentinel down or disagreeing is a warning; quorum lost is critical."""
    seen = views(spec)
    up = [v for v in seen if v.reachable]
    down = [v.address for v in seen if not v.reachable]
    named = {v.primary for v in up if v.primary}
    problems, status = [], OK
    if not up:
        return checker.make(
            "sentinel",
            CRITICAL,
            0.0,
            "no sentinel answers: " + "; ".join(v.error or v.address for v in seen),
            hint="check --sentinel and the sentinel password",
        )
    if down:
        status = WARNING
        problems.append(f"down: {', '.join(down)}")
    if len(named) > 1:
        status = worst([status, WARNING])
        problems.append(f"sentinels disagree on the primary: {', '.join(sorted(named))}")
    if any(v.failover_in_progress for v in up):
        status = worst([status, WARNING])
        problems.append("a failover is in progress")
    no_quorum = [v for v in up if v.quorum_ok is False]
    quorum = max((v.quorum or 0 for v in up), default=0)
    needed = max(quorum, len(seen) // 2 + 1)  # the quorum, and a majority to authorize
    if no_quorum:
        status = CRITICAL
        problems.append(f"quorum lost: {no_quorum[0].quorum_message}")
    elif len(up) < needed:
        status = CRITICAL
        problems.append(
            f"quorum lost: {len(up)} of {len(seen)} sentinels reachable, a "
            f"failover needs {needed} (quorum {quorum})"
        )
    primary = next(iter(named), "?")
    msg = f"{len(up)}/{len(seen)} sentinels up, primary {primary}" + (
        ": " + "; ".join(problems) if problems else ", quorum ok"
    )
    return checker.make(
        "sentinel",
        status,
        float(len(up)),
        msg,
        hint="restore the failed sentinels: with fewer than the quorum no failover can happen"
        if status != OK
        else None,
    )


def _inapplicable(
    opts: HealthOptions, checks: list[Check], cluster: bool, sentinel: bool
) -> tuple[NotApplicable, ...]:
    """The checks named in --checks that gave no result, and why they do not apply."""
    reasons = {
        "cluster": "not a cluster (cluster_enabled:0)" if not cluster else "cluster state unread",
        "sentinel": "not reached through Sentinel (use --sentinel and --master)"
        if not sentinel
        else "no sentinel answered",
        "backup_age": "needs --backup-dir",
        "replication": "no replication to check",
    }
    done = {c.id for c in checks}
    return tuple(
        NotApplicable(name, reasons.get(name, "does not apply to this server"))
        for name in opts.checks
        if name not in done and opts.wants(name)
    )


def health(
    spec: ConnectionSpec, opts: HealthOptions, sleep: Callable[[float], None] = time.sleep
) -> HealthReport:
    opts.validate()
    checker = _Checker(opts)
    sentinel_checks: list[Check] = []
    if spec.sentinels:
        if opts.wants("sentinel"):
            sentinel_checks.append(sentinel_check(checker, spec))
        try:
            spec = follow(spec)
        except RediscopeError as exc:
            failed = [
                checker.make("connection", CRITICAL, None, exc.message, hint=exc.hint),
                *sentinel_checks,
            ]
            target = Target(spec.redacted_url, "sentinel", ())
            return HealthReport(
                target=target,
                complete=False,
                status=CRITICAL,
                exit_code=int(HealthExit.CRITICAL),
                window_s=opts.window,
                checks=tuple(failed),
            )
    target = Target(spec.redacted_url, "standalone", (Node(spec.address, "primary"),))
    seed = _NodeProbe(spec, None)
    seed.first()
    checks: list[Check] = []
    if seed.error is not None:
        err = seed.error
        checks.append(checker.make("connection", CRITICAL, None, err.message, hint=err.hint))
        status = CRITICAL
        return HealthReport(
            target=target,
            complete=False,
            status=status,
            exit_code=int(EXIT[status]),
            window_s=opts.window,
            checks=tuple(checks),
        )
    ident = identity(seed.before)
    probes = [seed]
    if ident.cluster_enabled:
        assert seed.conn is not None
        try:
            nodes = cluster_nodes(seed.conn, spec)
            target = Target(spec.redacted_url, "cluster", nodes)
        except RediscopeError:
            nodes = ()
        probes = []
        for node in nodes:
            p = _NodeProbe(node_spec(spec, node), node.address)
            p.first()
            probes.append(p)
        seed.close()
    else:
        target = Target(
            spec.redacted_url,
            "sentinel" if spec.sentinels else "standalone",
            (Node(spec.address, ident.role_name),),
        )
    if opts.window > 0:
        sleep(opts.window)
    for p in probes:
        p.second(opts.pings, opts.window)
    if opts.wants("connection"):
        for p in probes:
            if p.error is None:
                checks.append(
                    checker.make(
                        "connection",
                        OK,
                        None,
                        f"{ident.name} {ident.version} answers"
                        f" ({'replica' if p.after.get('role') == 'slave' else 'primary'})",
                        node=p.label,
                    )
                )
            else:
                checks.append(
                    checker.make(
                        "connection",
                        CRITICAL,
                        None,
                        p.error.message,
                        hint=p.error.hint,
                        node=p.label,
                    )
                )
    for p in probes:
        if p.error is not None:
            continue
        policy = str(p.after.get("maxmemory_policy", "noeviction"))
        checks += checker.node_checks(p, policy.startswith("allkeys-"))
    if ident.cluster_enabled and opts.wants("cluster"):
        checks.append(_cluster_check(checker, probes, target, opts))
    checks += sentinel_checks
    if opts.backup_dir and opts.wants("backup_age"):
        checks.append(backup_check(checker, opts.backup_dir))
    for p in probes:
        p.close()
    inapplicable = _inapplicable(opts, checks, ident.cluster_enabled, bool(spec.sentinels))
    # nothing asked for applies: UNKNOWN (the monitoring convention for "cannot tell")
    status = worst([c.status for c in checks]) if checks or not inapplicable else UNKNOWN
    code = EXIT[status]
    if status == WARNING and opts.fail_on == "critical":
        code = HealthExit.OK
    return HealthReport(
        target=target,
        complete=all(p.error is None for p in probes),
        status=status,
        exit_code=int(code),
        window_s=opts.window,
        checks=tuple(checks),
        not_applicable=inapplicable,
    )
