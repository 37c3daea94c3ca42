"""Running a scan: every node that holds data in parallel, progress, Ctrl-C, and the merged collectors."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from concurrent.futures import wait as futures_wait

from rediscope.core.connection import ConnectionSpec
from rediscope.core.pipeline.options import ScanOptions
from rediscope.core.pipeline.records import (
    Collector,
    NodeScan,
    ProgressFn,
    ScanSummary,
    StopFlag,
    runs_here,
)
from rediscope.core.pipeline.source import ScanResult
from rediscope.core.scan.cluster import ClusterScan
from rediscope.core.scan.live import NodeScanner
from rediscope.core.scan.workers import run_in_processes, stop_event, use_processes
from rediscope.core.target import (
    Node,
    Target,
    identify,
    node_spec,
)
from rediscope.errors import RediscopeError


def scan_nodes(target: Target, opts: ScanOptions) -> tuple[Node, ...]:
    """The nodes a scan covers: every primary, or one replica per shard with --replica."""
    if not opts.replica:
        if target.mode == "cluster":  # a master without slots (e.g. a replica gossip has not
            return tuple(n for n in target.primaries if n.slots)  # caught up with) holds none
        return target.primaries
    replicas = [n for n in target.nodes if n.role == "replica"]
    if target.mode == "cluster":
        chosen: dict[str | None, Node] = {}
        for node in replicas:
            chosen.setdefault(node.primary_id, node)
        missing = [p.address for p in target.primaries if p.node_id not in chosen]
        if missing:
            raise RediscopeError(
                f"--replica: no replica for primary {', '.join(missing)}",
                "drop --replica to scan the primaries",
            )
        return tuple(chosen.values())
    if not replicas:
        raise RediscopeError("--replica: the target has no replica to read from")
    return (replicas[0],)


class Pool:
    """What every round of a scan shares: collectors' needs, notes, the stop flag, progress."""

    def __init__(
        self,
        spec: ConnectionSpec,
        opts: ScanOptions,
        make_collectors: Callable[[], list[Collector]],
        needs: set[str],
        progress: ProgressFn | None,
    ) -> None:
        self.spec = spec
        self.opts = opts
        self.make_collectors = make_collectors
        self.needs = needs
        self.progress = progress
        self.notes: list[str] = []
        self.stop: StopFlag = stop_event()
        self.lock = threading.Lock()
        self.done = 0
        self.total = 0
        self.interrupted = False
        self.status: str | None = None  # what the scan does between walks

    def tick(self, n: int) -> None:
        with self.lock:
            self.done += n
            if self.progress is not None:
                self.progress(self.done, self.total, self.status)

    def say(self, status: str | None) -> None:
        """What the scan is doing between walks, for the progress bar."""
        self.status = status
        self.tick(0)

    def _interrupt(self) -> None:
        """Ctrl-C: every node stops at its next batch; what they measured is kept."""
        self.interrupted = True
        self.stop.set()

    def round(self, nodes: Sequence[Node], rescan: int = 0) -> list[NodeScanner]:
        """Scan `nodes` in parallel; Ctrl-C stops every node at its next batch."""
        scanners = [
            NodeScanner(
                node_spec(self.spec, node),
                node,
                self.opts,
                self.make_collectors(),
                set(self.needs),
                self.stop,
                self.tick,
                self.notes,
            )
            for node in nodes
        ]
        for s in scanners:
            s.result.rescan = rescan
        self.total += sum(s.plan() for s in scanners)  # before the work starts
        if use_processes(len(scanners)) and not runs_here(scanners[0].collectors):
            # every core (scan/workers.py)
            run_in_processes(scanners, self.tick, self._interrupt)
            return scanners
        with ThreadPoolExecutor(max_workers=len(scanners), thread_name_prefix="scan") as pool:
            futures = [pool.submit(s.run) for s in scanners]
            try:
                while futures_wait(futures, timeout=0.25).not_done:
                    pass
            except KeyboardInterrupt:
                self._interrupt()
        for f in futures:
            f.result()
        return scanners


def summarize(
    results: list[NodeScan],
    seconds: float,
    interrupted: bool,
    notes: tuple[str, ...],
    settled: bool = True,
    rescans: int = 0,
    changes: tuple[str, ...] = (),
    db: int | None = None,
) -> ScanSummary:
    """One summary over the nodes' (or files') results: totals, and the factor from keys
    scanned to keys held when any of them was sampled."""
    scanned = sum(r.keys_scanned for r in results)
    held = sum(r.dbsize for r in results)
    sampled = any(r.sampled for r in results)
    return ScanSummary(
        nodes=tuple(results),
        keys_scanned=scanned,
        keys_vanished=sum(r.keys_vanished for r in results),
        keys_retyped=sum(r.keys_retyped for r in results),
        seconds=round(seconds, 3),
        sampled=sampled,
        complete=all(r.complete and r.error is None for r in results)
        and not interrupted
        and settled,
        interrupted=interrupted,
        extrapolation=(held / scanned) if sampled and scanned else 1.0,
        notes=notes,
        keys_moved=sum(r.keys_moved for r in results),
        keys_asking=sum(r.keys_asking for r in results),
        rescans=rescans,
        topology_changes=changes,
        db=db,
    )


def run_scan(
    spec: ConnectionSpec,
    opts: ScanOptions,
    make_collectors: Callable[[], list[Collector]],
    progress: ProgressFn | None = None,
) -> ScanResult:
    """Scan every node of the target in parallel; merge the per-node collectors.

    On a cluster, the slot layout is read before and after the walk; the shards whose slots
    moved meanwhile are scanned again (see `ClusterScan`). Ctrl-C (KeyboardInterrupt in the
    calling thread) stops every node at its next batch and returns what was gathered, marked
    interrupted.
    """
    opts.validate()
    target, _ident = identify(spec)
    nodes = scan_nodes(target, opts)
    if not nodes:
        raise RediscopeError("the target has no node to scan")
    merged = make_collectors()
    needs = set().union(*(c.needs for c in merged))
    if not opts.lengths:
        needs.discard("length")
    pool = Pool(spec, opts, make_collectors, needs, progress)
    started = time.monotonic()
    changes: tuple[str, ...] = ()
    rescans = 0
    settled = True
    if target.mode == "cluster":
        cluster = ClusterScan(pool, target)
        scanners = cluster.run(nodes)
        target, changes, rescans, settled = (
            cluster.target,
            tuple(cluster.changes),
            cluster.rescans,
            cluster.settled,
        )
    else:
        scanners = pool.round(nodes)
    for s in scanners:
        for collector, node_collector in zip(merged, s.collectors, strict=True):
            collector.merge(node_collector)
    summary = summarize(
        [s.result for s in scanners],
        seconds=time.monotonic() - started,
        interrupted=pool.interrupted,
        notes=(*pool.notes, *changes),
        settled=settled,
        rescans=rescans,
        changes=changes,
        db=opts.db,
    )
    return ScanResult(target, summary, tuple(merged))
