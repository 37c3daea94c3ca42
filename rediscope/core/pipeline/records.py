"""What a scan yields: the typed record batch every source delivers to the collectors, the
Collector protocol, and the per-node and whole-scan summaries."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol


@dataclass
class Batch:
    """One SCAN batch with the replies the collectors asked for (None where not asked)."""

    node: str
    db: int
    keys: list[bytes]
    types: list[bytes]
    memory: list[int | None] | None = None
    lengths: list[int | None] | None = None
    ttl_ms: list[int | None] | None = None
    encoding: list[bytes | None] | None = None
    idle: list[int | None] | None = None
    freq: list[int | None] | None = None
    #: the bytes of each key's record in an RDB (None from a live server)
    serialized: list[int] | None = None


class Collector(Protocol):
    """Aggregates batches with bounded state; one instance per node, merged at the end."""

    needs: frozenset[str]

    def add(self, batch: Batch) -> None: ...

    def merge(self, other: Any) -> None: ...


def runs_here(collectors: Sequence[Any]) -> bool:
    """Whether a collector must get its batches in this process: one that writes each batch
    out as it comes (collectors/rows.py: `in_process = True`) cannot run in a worker process,
    so no node or file is then read in one (scan/workers.py, rdbfile/parallel.py)."""
    return any(getattr(c, "in_process", False) for c in collectors)


@dataclass
class NodeScan:
    """What happened on one node."""

    address: str
    role: str
    dbs: list[int] = field(default_factory=list)
    dbsize: int = 0  # keys the node held at the start (INFO keyspace), over the scanned dbs
    keys_scanned: int = 0  # keys measured (passed to collectors)
    keys_vanished: int = 0  # gone between SCAN and the per-key commands
    keys_retyped: int = 0  # changed type between TYPE and the length command
    seconds: float = 0.0
    sampled: bool = False
    complete: bool = False
    error: str | None = None
    node_id: str | None = None  # cluster node id
    #: cluster: keys that answered MOVED/ASK (their slot moved away) and were not measured here
    keys_moved: int = 0
    #: cluster: keys of a slot this node is importing, measured with ASKING
    keys_asking: int = 0
    rescan: int = 0  # 0: the first pass; n: the n-th rescan after the slot layout changed
    #: with -n/--db: the keys this node holds in the dbs that were not scanned
    other_dbs: dict[int, int] = field(default_factory=dict)
    #: what could not be measured because the server denied its command (memory, ttl, freq...)
    unmeasured: list[str] = field(default_factory=list)


@dataclass(frozen=True, kw_only=True)
class ScanSummary:
    nodes: tuple[NodeScan, ...]
    keys_scanned: int
    keys_vanished: int
    keys_retyped: int
    seconds: float
    sampled: bool
    complete: bool
    interrupted: bool
    #: factor from keys scanned to keys held (1.0 when the scan was full)
    extrapolation: float
    notes: tuple[str, ...] = ()
    keys_moved: int = 0
    keys_asking: int = 0
    rescans: int = 0  # rescan rounds run because slots moved during the scan
    #: what changed in the cluster's slot layout during the scan, and what the scan did about it
    topology_changes: tuple[str, ...] = ()
    db: int | None = None  # -n/--db: the one db scanned (None: every db that holds keys)

    def measured(self, what: str) -> bool:
        """Whether every node measured WHAT (a collector need: memory, ttl, freq, ...)."""
        return all(what not in n.unmeasured for n in self.nodes)


@dataclass(frozen=True)
class SourceFile:
    """One RDB file a report was read from, as the file describes itself."""

    path: str
    magic: str  # REDIS or VALKEY
    rdb_version: int
    redis_ver: str | None  # aux redis-ver (valkey-ver): the server that wrote it
    ctime: int | None  # aux ctime: when it was written (Unix seconds)
    bytes: int
    keys: int  # keys not yet expired when it was written
    keys_expired: int  # keys already expired then: left out, as a server drops them on load
    keys_empty: int  # empty collections: left out, as a server drops them on load
    functions: int
    modules: dict[str, int]  # module type -> keys of it
    module_aux: tuple[str, ...]
    slot_info: int
    checksum: str | None  # the CRC-64 trailer (None: checksums off, or RDB before 5)
    keys_with_idle: int
    keys_with_freq: int
    aux: dict[str, str]
    complete: bool


@dataclass(frozen=True)
class SourceInfo:
    """Where the keys came from: a live server, or RDB files (no server contacted)."""

    kind: str = "live"  # live | rdb
    files: tuple[SourceFile, ...] = ()


LIVE = SourceInfo()


class ProgressFn(Protocol):
    """Keys done so far over all nodes, the total expected, and what the scan is doing when it
    is not walking keys (waiting for a failover, rescanning); None: back to scanning."""

    def __call__(
        self, done: int, total: int, status: str | None = None, unit: str = "keys"
    ) -> None: ...


#: one key a report names: (node address, db, key)
KeyRef = tuple[str, int, bytes]


class StopFlag(Protocol):
    """A scan's stop flag: a threading.Event, or a multiprocessing Event that worker processes
    see too (scan/workers.py)."""

    def is_set(self) -> bool: ...

    def set(self) -> None: ...
