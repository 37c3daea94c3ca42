"""`rediscope health`: probe every node, run the checks that apply, roll up one status."""

from __future__ import annotations

import time
from collections.abc import Callable

from rediscope.core.connection import ConnectionSpec
from rediscope.core.health.deployment import backup_check, cluster_check, sentinel_check
from rediscope.core.health.model import (
    CHECKS,
    CRITICAL,
    EXIT,
    OK,
    Check,
    HealthOptions,
    HealthReport,
    NotApplicable,
)
from rediscope.core.health.probe import Checker, NodeProbe
from rediscope.core.info import ServerIdentity, identity
from rediscope.core.sentinel import follow
from rediscope.core.target import Mode, Node, Target, cluster_nodes, node_spec
from rediscope.errors import RediscopeError


def inapplicable(
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
        "commandlog_large_request": "the server has no COMMANDLOG (Valkey 8.1+)",
        "commandlog_large_reply": "the server has no COMMANDLOG (Valkey 8.1+)",
    }
    done = {c.id for c in checks}
    return tuple(
        NotApplicable(name, reasons.get(name, "does not apply to this server"))
        for name in opts.checks
        if name not in done and opts.wants(name)
    )


def _failed(target: Target, opts: HealthOptions, checks: list[Check]) -> HealthReport:
    """The report when the target cannot be reached at all: CRITICAL."""
    return HealthReport(
        target=target,
        complete=False,
        status=CRITICAL,
        exit_code=int(EXIT[CRITICAL]),
        window_s=opts.window,
        checks=tuple(checks),
    )


def _probes(spec: ConnectionSpec, seed: NodeProbe) -> tuple[Target, list[NodeProbe]]:
    """Every node of a cluster (each probed once), else the seed itself."""
    ident = identity(seed.before)
    if not ident.cluster_enabled:
        mode: Mode = "sentinel" if spec.sentinels else "standalone"
        return Target(spec.redacted_url, mode, (Node(spec.address, ident.role_name),)), [seed]
    assert seed.conn is not None
    target = Target(spec.redacted_url, "standalone", (Node(spec.address, "primary"),))
    try:
        nodes = cluster_nodes(seed.conn, spec)
        target = Target(spec.redacted_url, "cluster", nodes)
    except RediscopeError:
        nodes = ()
    probes = []
    for node in nodes:
        p = NodeProbe(node_spec(spec, node), node.address)
        p.first()
        probes.append(p)
    seed.close()
    return target, probes


def _connection_checks(
    checker: Checker, probes: list[NodeProbe], ident: ServerIdentity
) -> list[Check]:
    out = []
    for p in probes:
        if p.error is None:
            role = "replica" if p.after.get("role") == "slave" else "primary"
            message = f"{ident.name} {ident.version} answers ({role})"
            out.append(checker.make("connection", OK, None, message, node=p.label))
        else:
            out.append(
                checker.make(
                    "connection", CRITICAL, None, p.error.message, hint=p.error.hint, node=p.label
                )
            )
    return out


def _node_checks(checker: Checker, probes: list[NodeProbe], opts: HealthOptions) -> list[Check]:
    """Every registered per-node check that is asked for, on every node that answered."""
    out = []
    for p in probes:
        if p.error is not None:
            continue
        cache = str(p.after.get("maxmemory_policy", "noeviction")).startswith("allkeys-")
        for spec in CHECKS.values():
            if spec.per_node is not None and opts.wants(spec.id):
                result = spec.per_node(checker, p, cache)
                if result is not None:  # None: not on this node (a feature it lacks)
                    out.append(result)
    return out


def health(
    spec: ConnectionSpec, opts: HealthOptions, sleep: Callable[[float], None] = time.sleep
) -> HealthReport:
    """Probe (twice, a window apart, for rates), run the checks that apply, roll up."""
    opts.validate()
    checker = Checker(opts)
    sentinel_checks: list[Check] = []
    if spec.sentinels:
        if opts.wants("sentinel"):
            sentinel_checks.append(sentinel_check(checker, spec))
        try:
            spec = follow(spec)
        except RediscopeError as exc:
            failed = checker.make("connection", CRITICAL, None, exc.message, hint=exc.hint)
            target = Target(spec.redacted_url, "sentinel", ())
            return _failed(target, opts, [failed, *sentinel_checks])
    seed = NodeProbe(spec, None)
    seed.first()
    if seed.error is not None:
        err = seed.error
        target = Target(spec.redacted_url, "standalone", (Node(spec.address, "primary"),))
        return _failed(
            target, opts, [checker.make("connection", CRITICAL, None, err.message, hint=err.hint)]
        )
    ident = identity(seed.before)
    target, probes = _probes(spec, seed)
    if opts.window > 0:
        sleep(opts.window)
    for p in probes:
        p.second(opts.pings, opts.window)
    checks = _connection_checks(checker, probes, ident) if opts.wants("connection") else []
    checks += _node_checks(checker, probes, opts)
    if ident.cluster_enabled and opts.wants("cluster"):
        checks.append(cluster_check(checker, probes, target, opts))
    checks += sentinel_checks
    if opts.backup_dir and opts.wants("backup_age"):
        checks.append(backup_check(checker, opts.backup_dir))
    for p in probes:
        p.close()
    not_applicable = inapplicable(opts, checks, ident.cluster_enabled, bool(spec.sentinels))
    status, code = HealthReport.verdict(checks, not_applicable, opts.fail_on)
    used = sorted({c.id for c in checks if c.id.startswith("commandlog_") and c.value is not None})
    notes = [f"{', '.join(used)}: read from the server's COMMANDLOG"] if used else []
    notes += [n for p in probes for n in p.notes]
    return HealthReport(
        target=target,
        complete=all(p.error is None for p in probes),
        status=status,
        exit_code=code,
        window_s=opts.window,
        checks=tuple(checks),
        notes=tuple(notes),
        not_applicable=not_applicable,
    )
