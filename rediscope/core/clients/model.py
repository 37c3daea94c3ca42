"""What `clients` reports: one parsed CLIENT LIST row, the groups, the clients that hurt, each
node's connection counts and churn, the gates. Raw units: bytes, seconds, counts."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import ClassVar, Literal

from rediscope.core.report import Outcome
from rediscope.core.target import Target
from rediscope.core.units import bytes_text
from rediscope.exitcodes import ExitStatus

GroupBy = Literal["name", "addr", "user", "db", "cmd"]
GROUP_BY: tuple[GroupBy, ...] = ("name", "addr", "user", "db", "cmd")
#: client-output-buffer-limit classes (CONFIG GET calls the replica class "slave")
BufferClass = Literal["normal", "replica", "pubsub"]
CulpritKind = Literal["output_buffer", "query_buffer", "monitor", "idle"]


@dataclass(frozen=True, kw_only=True)
class ClientsOptions:
    by: GroupBy = "name"
    window: float = 5.0  # seconds between the two INFO samples (0: one sample, no churn)
    idle: float = 3600.0  # a connection idle this long is a leak suspect
    omem: int = 1 << 20  # an output buffer this big names its client
    qbuf: int = 1 << 20  # a query buffer this big names its client
    top: int = 20  # groups (and culprits of each kind) shown
    gates: tuple[str, ...] = ()  # --fail-if expressions


@dataclass(frozen=True, kw_only=True)
class ClientRow:
    """One line of CLIENT LIST. Names, addresses and users are bytes: data, escaped as keys."""

    node: str
    id: int
    addr: bytes
    host: bytes  # addr without the port
    name: bytes
    user: bytes
    db: int
    cmd: str
    age_s: int
    idle_s: int
    flags: str
    sub: int
    psub: int
    ssub: int
    multi: int  # commands queued in MULTI; -1 outside a transaction
    qbuf: int
    omem: int
    tot_mem: int
    buffer_class: BufferClass
    own: bool  # one of rediscope's own connections (named rediscope)

    @property
    def blocked(self) -> bool:
        return "b" in self.flags

    @property
    def in_multi(self) -> bool:
        return self.multi >= 0 or "x" in self.flags

    @property
    def subscriptions(self) -> int:
        return self.sub + self.psub + self.ssub

    @property
    def tracking(self) -> bool:
        return "t" in self.flags

    @property
    def monitor(self) -> bool:
        return "O" in self.flags


@dataclass(frozen=True, kw_only=True)
class ClientGroup:
    """The connections that share one value of --by, over every node."""

    key: bytes  # the name, host, user, db or last command ("" for nameless clients)
    connections: int
    nodes: dict[str, int]  # node address -> connections there
    idle_median_s: float
    idle_max_s: int
    age_median_s: float
    age_max_s: int
    median_sampled: bool  # the medians come from a reservoir sample (more connections than it)
    blocked: int
    in_multi: int
    subscribers: int  # connections with at least one (p/s)subscription
    subscriptions: int
    tracking: int
    monitors: int
    tot_mem: int
    omem: int
    omem_max: int
    qbuf: int


@dataclass(frozen=True, kw_only=True)
class BufferLimit:
    """One client-output-buffer-limit class: disconnected at `hard` bytes, or after `soft`
    bytes held for `soft_s` seconds (0: no limit)."""

    hard: int
    soft: int
    soft_s: int


@dataclass(frozen=True, kw_only=True)
class Culprit:
    """A client (or, for idle connections, a name and host) that hurts, with its evidence."""

    kind: CulpritKind
    node: str
    id: int | None  # the client id (None for a group of idle connections)
    name: bytes
    addr: bytes  # host:port of the client (idle: the host)
    user: bytes
    cmd: str
    connections: int  # 1, or the idle connections of the group
    value: int  # omem or qbuf bytes, idle seconds (max), 0 for a MONITOR
    threshold: int
    buffer_class: BufferClass | None = None
    limit: BufferLimit | None = None
    limit_share: float | None = None  # omem / hard limit (None: no hard limit)
    evidence: str


@dataclass(frozen=True, kw_only=True)
class NodeClients:
    address: str
    role: str  # primary | replica
    error: str | None = None
    connected_clients: int = 0  # INFO clients (replicas not counted)
    listed: int = 0  # CLIENT LIST rows
    own: int = 0  # rediscope's own connections among them
    maxclients: int | None = None
    maxclients_share: float | None = None  # connected_clients / maxclients
    blocked_clients: int = 0
    tracking_clients: int = 0
    total_connections_received: int = 0
    rejected_connections: int = 0  # since the server started
    window_s: float | None = None  # on the server's clock (server_time_usec)
    connections_received: int | None = None  # in the window
    connections_per_s: float | None = None
    rejected_in_window: int | None = None
    omem_max: int = 0
    qbuf_max: int = 0
    tot_mem: int = 0


@dataclass(frozen=True, kw_only=True)
class ClientTotals:
    connections: int  # CLIENT LIST rows, rediscope's own left out
    own: int
    blocked: int
    in_multi: int
    subscribers: int
    tracking: int
    monitors: int
    tot_mem: int
    omem: int
    qbuf: int
    connections_received: int | None
    connections_per_s: float | None
    rejected_in_window: int | None
    maxclients_share: float | None  # the highest of any node


@dataclass(frozen=True, kw_only=True)
class GateResult:
    expr: str
    metric: str
    unit: str  # "%" (of maxclients), "bytes", "count" or "per_s"
    threshold: float
    value: float  # the worst node's value
    node: str | None
    tripped: bool


@dataclass(frozen=True, kw_only=True)
class ClientsReport:
    command: ClassVar[str] = "clients"
    target: Target
    complete: bool
    by: GroupBy
    window_s: float
    idle_threshold_s: float
    omem_threshold: int
    qbuf_threshold: int
    nodes: tuple[NodeClients, ...]
    totals: ClientTotals
    groups: tuple[ClientGroup, ...]
    groups_total: int
    culprits: tuple[Culprit, ...]
    hosts: tuple[ClientGroup, ...] = ()  # grouped by source host, whatever --by is
    hosts_total: int = 0
    gates: tuple[GateResult, ...] = ()
    interrupted: bool = False
    notes: tuple[str, ...] = field(default_factory=tuple)

    def outcome(self) -> Outcome:
        """130 when interrupted, 1 when a node failed or a --fail-if gate tripped."""
        errors = tuple(f"{n.address}: {n.error}" for n in self.nodes if n.error)
        tripped = tuple(f"--fail-if {g.expr}: {_worst(g)}" for g in self.gates if g.tripped)
        if self.interrupted:
            return Outcome(ExitStatus.INTERRUPTED, errors, True)
        if errors or tripped:
            return Outcome(ExitStatus.ERROR, errors + tripped)
        return Outcome(ExitStatus.OK)


def gate_value(gate: GateResult) -> str:
    """A gate's measured value in its unit: 37.2%, 35.5 MiB, 12 (not 3.72289e+07)."""
    if gate.unit == "%":
        return f"{gate.value:.1%}"
    if gate.unit == "bytes":
        return bytes_text(gate.value)
    return f"{gate.value:,.6g}"


def _worst(gate: GateResult) -> str:
    value = gate_value(gate)
    return f"{value} on {gate.node}" if gate.node else value
