"""What `top` shows for one interval: per node, rates from the deltas of two INFO samples
(the server's own clock, server_time_usec, times the interval), and the totals."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar

from rediscope.core.report import ReportBase
from rediscope.core.target import Target

#: INFO sections one sample asks for (one call per node per interval)
SECTIONS = (
    "server",
    "clients",
    "memory",
    "stats",
    "replication",
    "keyspace",
    "commandstats",
    "latencystats",
    "cluster",
)


@dataclass(frozen=True)
class NodeSample:
    """One node's INFO at one moment (None data: the node did not answer)."""

    address: str
    at_us: int  # the server's clock (server_time_usec), else the client's
    data: dict[str, Any] | None
    error: str | None = None


@dataclass(frozen=True, kw_only=True)
class CommandRate:
    name: str
    calls: int  # in the interval
    calls_per_s: float
    usec_per_s: float  # CPU time the command took per second of wall time
    usec_per_call: float | None
    p50_usec: float | None  # INFO latencystats (7.0+): since the stats were reset
    p99_usec: float | None
    kind: str  # read | write | other (the command's own flags)


@dataclass(frozen=True)
class ReplicaLag:
    address: str
    state: str
    lag_bytes: int  # the primary's offset minus the replica's
    lag_s: int | None  # seconds since its last ack


@dataclass(frozen=True)
class NodeView:
    """One node's interval. None: not read from that node. A node that does not answer has
    every measure None (never 0: a paused node has not stopped using memory); a node that
    answers again after it did not has its gauges (memory, clients, keys) but no rates until
    the next interval."""

    address: str
    role: str  # primary | replica
    up: bool
    error: str | None = None
    version: str = ""
    uptime_s: int | None = None
    interval_s: float | None = None
    ops: int | None = None  # commands processed in the interval
    ops_per_s: float | None = None
    reads_per_s: float | None = None
    writes_per_s: float | None = None
    net_in_per_s: float | None = None
    net_out_per_s: float | None = None
    hits: int | None = None
    misses: int | None = None
    hit_ratio: float | None = None  # None: no lookups in the interval
    expired_per_s: float | None = None
    evicted_per_s: float | None = None
    rejected_per_s: float | None = None
    used_memory: int | None = None
    used_memory_peak: int | None = None
    maxmemory: int | None = None  # 0: no limit
    rss: int | None = None
    fragmentation: float | None = None
    clients: int | None = None
    blocked_clients: int | None = None
    tracking_clients: int | None = None
    max_output_buffer: int | None = None  # client_recent_max_output_buffer
    keys: dict[str, dict[str, int]] | None = None  # dbN -> keys, expires
    replicas: tuple[ReplicaLag, ...] = ()
    link: str | None = None  # a replica's master_link_status
    commands: tuple[CommandRate, ...] = ()
    cluster_state: str | None = None


@dataclass(frozen=True)
class TopTotals:
    """Sums over the nodes each measure was read from. `partial`: some node's value is missing
    from a sum (`missing` names those nodes): the total is a lower bound, not the deployment's."""

    ops: int
    ops_per_s: float
    reads_per_s: float
    writes_per_s: float
    net_in_per_s: float
    net_out_per_s: float
    hits: int
    misses: int
    hit_ratio: float | None
    expired_per_s: float
    evicted_per_s: float
    used_memory: int
    keys: int
    clients: int
    partial: bool = False
    missing: tuple[str, ...] = ()


@dataclass(frozen=True)
class ClientBuffer:
    node: str
    client: str  # addr and name
    omem: int
    cmd: str


@dataclass(frozen=True)
class HotSlot:
    """A cluster slot that takes the work (CLUSTER SLOT-STATS): its counters since the stats
    were reset (None: the server does not count them: cluster-slot-stats-enabled no) and, when
    the slot was also among the hottest the interval before, their rates."""

    slot: int
    node: str
    keys: int
    cpu_usec: int | None
    network_bytes_in: int | None
    network_bytes_out: int | None
    cpu_usec_per_s: float | None
    network_bytes_per_s: float | None  # in and out


@dataclass(frozen=True)
class TopReport(ReportBase):
    command: ClassVar[str] = "top"
    target: Target
    complete: bool
    seq: int  # 1 for the first interval
    interval_s: float
    nodes: tuple[NodeView, ...]
    totals: TopTotals
    commands: tuple[CommandRate, ...]  # every node's, merged, by calls/s
    cluster_state: str | None
    buffers: tuple[ClientBuffer, ...] = ()  # the biggest output buffers, when they grow
    notes: tuple[str, ...] = ()
    #: a cluster's hottest slots (CLUSTER SLOT-STATS, Valkey 8.0+ / Redis 8.2+), hottest first
    hot_slots: tuple[HotSlot, ...] = ()
    #: what they are ordered by: cpu-usec, key-count; None where no node has SLOT-STATS
    hot_slots_by: str | None = None
