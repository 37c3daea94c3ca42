"""`rediscope clients`: who holds the connections (every node of a cluster, primaries and
replicas), which of them hurt, and how fast new ones arrive, in one pass over CLIENT LIST."""

from __future__ import annotations

import time
from collections.abc import Callable

from rediscope.core.clients.culprits import Culprits
from rediscope.core.clients.gates import WINDOWED, parse_gate
from rediscope.core.clients.groups import MAX_GROUPS, RESERVOIR, Groups
from rediscope.core.clients.model import (
    ClientsOptions,
    ClientsReport,
    ClientTotals,
    NodeClients,
)
from rediscope.core.clients.probe import ClientsProbe, RowSink
from rediscope.core.connection import ConnectionSpec
from rediscope.core.target import identify
from rediscope.errors import UsageError


def _sum(values: list[int | None]) -> int | None:
    known = [v for v in values if v is not None]
    return sum(known) if known else None


def _totals(groups: Groups, nodes: tuple[NodeClients, ...]) -> ClientTotals:
    t = groups.total
    rates = [n.connections_per_s for n in nodes if n.connections_per_s is not None]
    shares = [n.maxclients_share for n in nodes if n.maxclients_share is not None]
    return ClientTotals(
        connections=t.connections,
        own=sum(n.own for n in nodes),
        blocked=t.blocked,
        in_multi=t.in_multi,
        subscribers=t.subscribers,
        tracking=t.tracking,
        monitors=t.monitors,
        tot_mem=t.tot_mem,
        omem=t.omem,
        qbuf=t.qbuf,
        connections_received=_sum([n.connections_received for n in nodes]),
        connections_per_s=round(sum(rates), 3) if rates else None,
        rejected_in_window=_sum([n.rejected_in_window for n in nodes]),
        maxclients_share=max(shares) if shares else None,
    )


def _notes(groups: Groups, probes: list[ClientsProbe]) -> tuple[str, ...]:
    notes = [n for p in probes for n in p.notes]
    if groups.overflowed:
        notes.append(
            f"more than {MAX_GROUPS:,} distinct values of --by {groups.by}: the rest are "
            "counted together as (other)"
        )
    if any(t.connections > RESERVOIR for t in groups.tallies.values()):
        notes.append(
            f"idle and age medians of groups over {RESERVOIR} connections are estimated "
            f"from a random sample of {RESERVOIR} of them (counts, sums and maxima are exact)"
        )
    return tuple(notes)


def clients(
    spec: ConnectionSpec,
    opts: ClientsOptions,
    sleep: Callable[[float], None] = time.sleep,
    sink: RowSink | None = None,
) -> ClientsReport:
    """Sample INFO on every node, wait --window, sample again and read CLIENT LIST."""
    gates = [parse_gate(g) for g in opts.gates]  # a bad gate is a usage error before any work
    for gate in gates:
        if gate.metric in WINDOWED and opts.window <= 0:
            raise UsageError(
                f"--fail-if {gate.expr} is measured over --window: give one (e.g. 10s)"
            )
    target, _ident = identify(spec)
    nodes = target.nodes if target.mode == "cluster" else target.nodes[:1]
    groups, culprits = Groups(opts.by), Culprits(opts)
    hosts = Groups("addr", seed=1)  # by source host as well, whatever --by is
    interrupted = False
    probes: list[ClientsProbe] = []
    try:
        probes += (ClientsProbe.open(spec, node) for node in nodes)  # all before a sample
        for probe in probes:
            probe.start()
        try:
            if opts.window > 0:
                sleep(opts.window)
        except KeyboardInterrupt:
            interrupted = True  # the window ends early: the churn covers the time it ran
        try:
            for probe in probes:
                probe.end(opts.window > 0)
            for probe in probes:
                probe.read((groups, hosts), culprits, sink)
        except KeyboardInterrupt:
            interrupted = True
        results = tuple(p.result() for p in probes)
    finally:
        for probe in probes:
            probe.close()
    return ClientsReport(
        target=target,
        complete=not interrupted and not any(n.error for n in results),
        by=opts.by,
        window_s=opts.window,
        idle_threshold_s=opts.idle,
        omem_threshold=opts.omem,
        qbuf_threshold=opts.qbuf,
        nodes=results,
        totals=_totals(groups, results),
        groups=groups.top(opts.top),
        groups_total=len(groups.tallies),
        hosts=hosts.top(opts.top),
        hosts_total=len(hosts.tallies),
        culprits=culprits.result(),
        gates=tuple(g.check(results) for g in gates),
        interrupted=interrupted,
        notes=_notes(groups, probes),
    )
