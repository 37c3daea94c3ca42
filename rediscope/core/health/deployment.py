"""Checks of the deployment as a whole: cluster state, sentinels, backup age."""

from __future__ import annotations

import time
from datetime import datetime, timezone
from pathlib import Path

import redis

from rediscope.core.backup.catalog import list_backups
from rediscope.core.connection import ConnectionSpec
from rediscope.core.health.model import (
    CRITICAL,
    OK,
    UNKNOWN,
    WARNING,
    Check,
    HealthOptions,
    declare,
    level,
    worst,
)
from rediscope.core.health.probe import Checker, NodeProbe, denied_reason
from rediscope.core.sentinel import views
from rediscope.core.target import Target
from rediscope.core.units import short_duration

declare("cluster", None, None, "", "cluster state, slots, nodes")
declare("sentinel", None, None, "sentinels", "sentinels reachable, agreeing, with quorum")
declare("backup_age", 26 * 3600.0, 50 * 3600.0, "s", "age of the newest intact backup")


def cluster_check(
    checker: Checker, probes: list[NodeProbe], target: Target, opts: HealthOptions
) -> Check:
    live = next((p for p in probes if p.conn is not None and p.error is None), None)
    if live is None:
        return checker.make("cluster", CRITICAL, None, "no cluster node answered")
    try:
        raw = live.call("CLUSTER", "INFO")
    except redis.RedisError as exc:
        return checker.make("cluster", UNKNOWN, None, denied_reason(exc, "CLUSTER INFO"))
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


def backup_check(checker: Checker, backup_dir: str) -> Check:
    """The newest backup in DIR that was verified when written and is intact now (its files
    there, of the manifest's sizes), from the backup catalogue."""
    warn, crit = checker.opts.thresholds("backup_age")
    d = Path(backup_dir)
    if not d.is_dir():
        return checker.make("backup_age", CRITICAL, None, f"{d} is not a directory")
    backups = list_backups(d)
    now = datetime.now(timezone.utc)
    future = [b for b in backups if b.future_s(now)]
    newest = next((b for b in backups if b.intact and not b.future_s(now)), None)
    broken = [b for b in backups if b.verified and b.problems]
    newer_broken = [b for b in broken if newest is None or b.time > newest.time]
    damage = f"; newer but damaged: {newer_broken[0].problems[0]}" if newer_broken else ""
    if future:
        damage += (
            f"; {len(future)} dated in the future (up to "
            f"{short_duration(max(b.future_s(now) for b in future))} ahead: a clock ahead?), "
            "not counted"
        )
    if newest is None:
        return checker.make(
            "backup_age",
            CRITICAL,
            None,
            f"no intact verified backup in {d}{damage}",
            hint="run `rediscope backup run` (cron); `backup verify` checks what is there",
        )
    age = max(0.0, time.time() - newest.finished_epoch)
    status = worst([level(age, warn, crit), WARNING if future else OK])
    return checker.make(
        "backup_age",
        status,
        age,
        f"newest intact backup {newest.base} is {short_duration(age)} old{damage}",
        hint="is the backup cron job running?" if status != OK else None,
    )


def sentinel_check(checker: Checker, spec: ConnectionSpec) -> Check:
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
