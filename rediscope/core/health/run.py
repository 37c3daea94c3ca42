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
    UNKNOWN,
    WARNING,
    Check,
    HealthOptions,
    HealthReport,
    NotApplicable,
    worst,
)
from rediscope.core.health.probe import Checker, NodeProbe
from rediscope.core.info import identity
from rediscope.core.sentinel import follow
from rediscope.core.target import Node, Target, cluster_nodes, node_spec
from rediscope.errors import RediscopeError
from rediscope.exitcodes import HealthExit


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
    checker = Checker(opts)
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
    seed = NodeProbe(spec, None)
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
            p = NodeProbe(node_spec(spec, node), node.address)
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
        cache = policy.startswith("allkeys-")
        checks += [
            spec.per_node(checker, p, cache)
            for spec in CHECKS.values()
            if spec.per_node is not None and opts.wants(spec.id)
        ]
    if ident.cluster_enabled and opts.wants("cluster"):
        checks.append(cluster_check(checker, probes, target, opts))
    checks += sentinel_checks
    if opts.backup_dir and opts.wants("backup_age"):
        checks.append(backup_check(checker, opts.backup_dir))
    for p in probes:
        p.close()
    not_applicable = inapplicable(opts, checks, ident.cluster_enabled, bool(spec.sentinels))
    # nothing asked for applies: UNKNOWN (the monitoring convention for "cannot tell")
    status = worst([c.status for c in checks]) if checks or not not_applicable else UNKNOWN
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
        not_applicable=not_applicable,
    )
