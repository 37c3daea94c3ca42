"""The one keyspace scanner behind memory, bigkeys and patterns.

It walks SCAN on every node that holds data (the server, or every primary of a cluster in
parallel; replicas with --replica), in every logical database that holds keys, and for each SCAN
batch pipelines only the per-key commands its collectors need. The hot path speaks RESP over the
socket that redis-py opened (so AUTH, TLS and unix sockets are the connection layer's), packs
commands with bytes formatting and parses replies with hiredis. Each round trip carries the next
SCAN, the first-phase commands of the newest batch (TYPE, MEMORY USAGE, PTTL, OBJECT ...) and the
length commands of the batch before it (they depend on its TYPE replies); the collectors process a
batch while the server works on the next request.

Collectors keep bounded state (top-N heaps, per-type totals, histograms) and are fed whole
batches: client memory does not grow with the number of keys.
"""

from __future__ import annotations

import threading
import time
from collections import deque
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from concurrent.futures import wait as futures_wait
from dataclasses import dataclass, field
from typing import Any, Protocol

import hiredis
import redis

from rediscope.core.connection import ConnectionSpec, client
from rediscope.core.failures import describe_error, is_denied
from rediscope.core.info import info, keyspace_dbs
from rediscope.core.resp import RawConnection, bulk, encode
from rediscope.core.target import (
    Node,
    SlotLayout,
    Target,
    discover,
    node_spec,
    node_timeout_ms,
    slot_layout,
)
from rediscope.errors import CommandDenied, RediscopeError, UsageError

TYPES = ("string", "list", "set", "zset", "hash", "stream")
LENGTH_COMMANDS = {
    b"string": b"STRLEN",
    b"list": b"LLEN",
    b"set": b"SCARD",
    b"zset": b"ZCARD",
    b"hash": b"HLEN",
    b"stream": b"XLEN",
}
#: what a collector may ask for, per key
NEEDS = ("memory", "length", "ttl", "encoding", "idle", "freq")


@dataclass(frozen=True)
class ScanOptions:
    match: str | None = None
    type: str | None = None
    scan_count: int = 1000
    rate: float | None = None  # keys per second, per node
    sample: int | None = None  # stop after N keys per node
    replica: bool = False
    samples: int = 5  # MEMORY USAGE SAMPLES
    lengths: bool = True
    db: int | None = None

    def validate(self) -> None:
        if not 1 <= self.scan_count <= 1_000_000:
            raise UsageError("--scan-count must be between 1 and 1000000")
        if self.rate is not None and self.rate <= 0:
            raise UsageError("--rate must be a positive number of keys per second")
        if self.sample is not None and self.sample < 1:
            raise UsageError("--sample must be at least 1")
        if self.samples < 0:
            raise UsageError("--samples must be 0 (exact) or more")
        if self.type is not None and self.type not in TYPES:
            raise UsageError(f"--type must be one of {', '.join(TYPES)}")


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


class Collector(Protocol):
    """Aggregates batches with bounded state; one instance per node, merged at the end."""

    needs: frozenset[str]

    def add(self, batch: Batch) -> None: ...

    def merge(self, other: Any) -> None: ...


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


@dataclass(frozen=True)
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


class ProgressFn(Protocol):
    """Keys done so far over all nodes, the total expected, and what the scan is doing when it
    is not walking keys (waiting for a failover, rescanning); None: back to scanning."""

    def __call__(
        self, done: int, total: int, status: str | None = None, unit: str = "keys"
    ) -> None: ...


class _Denied(Exception):
    def __init__(self, command: str, reply: str) -> None:
        super().__init__(command)
        self.command = command
        self.reply = reply


_KEY = b"$%d\r\n%b\r\n"  # a key as a bulk string, formatted with (len(key), key)
#: per type, the length command as a %-format taking (len(key), key)
_LENGTH_FORMATS = {
    t: b"*2\r\n$%d\r\n%b\r\n" % (len(c), c) + _KEY for t, c in LENGTH_COMMANDS.items()
}


@dataclass
class _Request:
    """What one pipelined request carries, so its replies can be read back in order."""

    scan: bool = False
    a: list[bytes] | None = None
    b: tuple[list[bytes], list[Any], list[bytes | None], int] | None = None


_ReplyError = hiredis.ReplyError


def _is_error(reply: Any) -> bool:
    return isinstance(reply, hiredis.ReplyError)


def _denied(reply: Any) -> bool:
    return _is_error(reply) and is_denied(reply)


def _redirect(reply: Any) -> bool:
    """MOVED/ASK: the key's slot is served elsewhere (resharding)."""
    return _is_error(reply) and str(reply).startswith(("MOVED ", "ASK "))


_ASKING = b"*1\r\n$6\r\nASKING\r\n"
#: redirected keys remembered per db for the ASKING pass; beyond this they only count as moved
REDIRECT_CAP = 100_000


class _NodeScanner:
    """Scans one node, one db after another, feeding its own collectors."""

    def __init__(
        self,
        spec: ConnectionSpec,
        node: Node,
        opts: ScanOptions,
        collectors: Sequence[Collector],
        needs: set[str],
        stop: threading.Event,
        progress: Callable[[int], None],
        notes: list[str],
    ) -> None:
        self.spec = spec
        self.node = node
        self.opts = opts
        self.collectors = collectors
        self.needs = needs
        self.stop = stop
        self.progress = progress
        self.notes = notes
        self.result = NodeScan(address=node.address, role=node.role, node_id=node.node_id)
        self._sent = 0  # keys dispatched over all dbs (for --sample)
        self._redirected: list[bytes] = []  # keys of this db that answered MOVED/ASK
        self._following = False  # in the ASKING pass: a redirect now means "moved"

    # -- request building ---------------------------------------------------------------
    def _phase_a_format(self, asking: bool = False) -> tuple[bytes, int, list[str]]:
        """A bytes %-format per key (each `$%d\\r\\n%b\\r\\n` is the key as a bulk string)
        and its columns. With `asking`, each command is preceded by ASKING (one reply more
        per command)."""
        parts = [b"*2\r\n$4\r\nTYPE\r\n%b"]
        columns = ["type"]
        if "memory" in self.needs:
            parts.append(
                b"*5\r\n$6\r\nMEMORY\r\n$5\r\nUSAGE\r\n%b"
                + bulk(b"SAMPLES")
                + bulk(str(self.opts.samples).encode())
            )
            columns.append("memory")
        if "ttl" in self.needs:
            parts.append(b"*2\r\n$4\r\nPTTL\r\n%b")
            columns.append("ttl_ms")
        for need, sub in (("encoding", b"ENCODING"), ("idle", b"IDLETIME"), ("freq", b"FREQ")):
            if need in self.needs:
                parts.append(b"*3\r\n$6\r\nOBJECT\r\n" + bulk(sub) + b"%b")
                columns.append(need)
        if asking:
            parts = [_ASKING + p for p in parts]
        return b"".join(parts).replace(b"%b", _KEY), len(parts), columns

    def _scan_cmd(self, cursor: bytes, count: int) -> bytes:
        args = [b"SCAN", cursor]
        if self.opts.match:
            args += [b"MATCH", self.opts.match.encode()]
        args += [b"COUNT", str(count).encode()]
        if self.opts.type:
            args += [b"TYPE", self.opts.type.encode()]
        return encode(*args)

    # -- the scan -----------------------------------------------------------------------
    def run(self) -> NodeScan:
        start = time.monotonic()
        try:
            self._run()
            self.result.complete = not self.stop.is_set() or self.result.sampled
        except (redis.RedisError, OSError) as exc:
            err = describe_error(exc, self.spec, "the scan")
            self.result.error = f"{self.node.address}: {err.message}"
        except _Denied as exc:
            self.result.error = (
                f"{self.node.address}: the server denied {exc.command} mid-scan: {exc.reply}"
            )
        except CommandDenied:
            raise
        except RediscopeError as exc:
            self.result.error = f"{self.node.address}: {exc}"
        finally:
            self.result.seconds = round(time.monotonic() - start, 3)
        return self.result

    def plan(self) -> int:
        """INFO keyspace, once: which dbs to scan and the keys they hold. Returns the keys
        this node is expected to deliver (the progress bar's share)."""
        try:
            probe = client(self.spec, timeout=self.spec.timeout)
            try:
                dbs = keyspace_dbs(info(probe, "keyspace"))
            finally:
                probe.close()
        except (redis.RedisError, OSError) as exc:
            err = describe_error(exc, self.spec, "INFO keyspace")
            self.result.error = f"{self.node.address}: {err.message}"
            return 0
        if self.opts.db is not None:
            self.result.other_dbs = {d: n for d, n in dbs.items() if d != self.opts.db and n}
            dbs = {self.opts.db: dbs.get(self.opts.db, 0)}
        self.result.dbs = sorted(d for d, n in dbs.items() if n > 0)
        self.result.dbsize = sum(dbs[d] for d in self.result.dbs)
        sample = self.opts.sample
        return min(self.result.dbsize, sample) if sample else self.result.dbsize

    def _run(self) -> None:
        if self.result.error is not None:  # plan() could not reach the node
            return
        for db in self.result.dbs:
            if self.stop.is_set() or self.result.sampled:
                break
            self._scan_db(db)

    def _open(self, db: int) -> RawConnection:
        conn = RawConnection(self.spec, db, self.spec.timeout)
        if self.node.node_id:  # cluster: a primary demoted mid-scan keeps answering reads
            conn.call(b"READONLY")
        self._probe(conn)
        if "length" in self.needs:
            reply = conn.call(b"CLIENT", b"NO-TOUCH", b"ON")
            if _is_error(reply):
                self._note_once(
                    "length commands (STRLEN, LLEN, …) update each key's LRU/LFU "
                    "data on this server (CLIENT NO-TOUCH needs Redis 7.2+); use "
                    "--no-lengths to leave idle times and LFU counters untouched"
                )
        return conn

    def _probe(self, conn: RawConnection) -> None:
        """Drop what the server denies (ACL, renamed command) with a note; fail if SCAN or
        TYPE is denied, since nothing can be measured without them."""
        key = b"rediscope:probe:absent-key"
        probes: list[tuple[str, tuple[bytes, ...], str]] = [
            ("type", (b"TYPE", key), "TYPE"),
            ("scan", (b"SCAN", b"0", b"COUNT", b"1"), "SCAN"),
            ("memory", (b"MEMORY", b"USAGE", key), "MEMORY USAGE: bytes are not measured"),
            ("ttl", (b"PTTL", key), "PTTL: TTLs are not measured"),
            ("encoding", (b"OBJECT", b"ENCODING", key), "OBJECT ENCODING: encodings unknown"),
            ("idle", (b"OBJECT", b"IDLETIME", key), "OBJECT IDLETIME: idle times unknown"),
            ("freq", (b"OBJECT", b"FREQ", key), "OBJECT FREQ: access frequencies unknown"),
        ]
        if "length" in self.needs:
            probes += [
                ("length", (cmd, key), f"{cmd.decode()}: element counts not measured")
                for cmd in LENGTH_COMMANDS.values()
            ]
        for need, args, what in probes:
            if need not in ("type", "scan") and need not in self.needs:
                continue
            reply = conn.call(*args)
            if not _denied(reply):
                continue
            if need in ("type", "scan"):
                raise CommandDenied(
                    what, str(reply), "the scan needs SCAN and TYPE; see docs/security.md"
                )
            self.needs.discard(need)
            self._note_once(f"the server denied {what} ({str(reply).split(':')[0].strip()})")

    def _note_once(self, text: str) -> None:
        if text not in self.notes:
            self.notes.append(text)

    def _scan_db(self, db: int) -> None:
        conn = self._open(db)
        try:
            self._walk(conn, db)
            self._follow(conn, db)
        finally:
            conn.close()

    def _follow(self, conn: RawConnection, db: int) -> None:
        """The keys that answered MOVED/ASK, once more with ASKING before each command: a node
        importing their slot (a reshard in progress, or one that stopped half-way) serves
        them that way. Those still redirected moved to another shard and count as moved;
        the scan's layout check after the walk decides what to rescan."""
        keys, self._redirected = self._redirected, []
        fmt, ncols, columns = self._phase_a_format(asking=True)
        self._following = True
        try:
            for i in range(0, len(keys), 500):
                chunk = keys[i : i + 500]
                conn.send(b"".join(fmt % ((len(k), k) * ncols) for k in chunk))
                replies = conn.read(2 * ncols * len(chunk))[1::2]
                templates: list[bytes | None] | None = None
                lengths = None
                if "length" in self.needs:
                    templates = [_LENGTH_FORMATS.get(t) for t in replies[0::ncols]]
                    out = [
                        _ASKING + t % (len(k), k)
                        for t, k in zip(templates, chunk, strict=True)
                        if t
                    ]
                    if out:
                        conn.send(b"".join(out))
                    lengths = conn.read(2 * len(out))[1::2] if out else []
                before = self.result.keys_scanned
                self._deliver(db, chunk, replies, columns, templates, lengths)
                self.result.keys_asking += self.result.keys_scanned - before
        finally:
            self._following = False

    def _walk(self, conn: RawConnection, db: int) -> None:
        """Keep the server busy: every request starts with the next SCAN, then the length
        commands of an older batch, then phase A (TYPE, MEMORY USAGE, ...) of the newest batch.
        The client reads a request's SCAN reply as soon as it arrives and sends the next request
        before reading the rest, so the server always has queued work while the client parses
        and aggregates."""
        fmt, ncols, columns = self._phase_a_format()
        opts = self.opts
        count = opts.scan_count
        if opts.rate is not None:
            count = max(1, min(count, int(opts.rate / 10) or 1))
        want_len = "length" in self.needs
        started = time.monotonic()
        done_here = 0
        inflight: deque[_Request] = deque()
        to_a: deque[list[bytes]] = deque()  # batches from SCAN, phase A not yet sent
        to_b: deque[tuple[list[bytes], list[Any], list[bytes | None], int]] = deque()
        state = {"cursor": b"0", "finished": False}

        def send_next() -> None:
            req = _Request()
            out: list[bytes] = []
            cursor = state["cursor"]
            if cursor is not None and not state["finished"]:
                out.append(self._scan_cmd(cursor, count))  # type: ignore[arg-type]
                req.scan = True
                state["cursor"] = None
            if to_b:
                req.b = b = to_b.popleft()
                out.extend(
                    b[2][i] % (len(k), k)  # type: ignore[operator]
                    for i, k in enumerate(b[0])
                    if b[2][i] is not None
                )
            if to_a:
                req.a = to_a.popleft()
                out.extend([fmt % ((len(k), k) * ncols) for k in req.a])
            if out:
                conn.send(b"".join(out))
                inflight.append(req)

        send_next()
        while inflight:
            req = inflight[0]
            if req.scan:
                reply = conn.read(1)[0]
                if _is_error(reply):
                    raise _scan_error(reply)
                cursor, keys = reply[0], reply[1]
                finished = cursor == b"0"
                if self.stop.is_set() and not self.result.sampled:
                    finished, keys = True, []
                if opts.sample is not None:
                    room = opts.sample - self._sent
                    if room <= len(keys):
                        keys = keys[: max(room, 0)]
                        finished = True
                        self.result.sampled = True
                state["cursor"] = None if finished else cursor
                state["finished"] = finished
                self._sent += len(keys)
                done_here += len(keys)
                if keys:
                    to_a.append(keys)
            send_next()  # the server works on it while we read and aggregate `req`
            inflight.popleft()
            b_replies = conn.read(req.b[3]) if req.b is not None else None
            a_replies = conn.read(len(req.a) * ncols) if req.a is not None else None
            if req.a is not None and a_replies is not None:
                if want_len:
                    templates = [_LENGTH_FORMATS.get(t) for t in a_replies[0::ncols]]
                    sent = sum(1 for t in templates if t is not None)
                    to_b.append((req.a, a_replies, templates, sent))
                else:
                    self._deliver(db, req.a, a_replies, columns, None, None)
            if not inflight:
                send_next()  # the last batches' length commands
            if req.b is not None and b_replies is not None:
                keys_b, a_b, templates_b, _ = req.b
                self._deliver(db, keys_b, a_b, columns, templates_b, b_replies)
            if opts.rate is not None:
                ahead = done_here / opts.rate - (time.monotonic() - started)
                if ahead > 0:
                    time.sleep(ahead)

    def _deliver(
        self,
        db: int,
        keys: list[bytes],
        replies: list[Any],
        columns: list[str],
        length_cmds: list[bytes | None] | None,
        length_replies: list[Any] | None,
    ) -> None:
        ncols = len(columns)
        cols = {name: replies[i::ncols] for i, name in enumerate(columns)}
        redirected: set[int] = set()
        for name in columns:
            col = cols[name]
            if _ReplyError not in map(type, col):  # the common case, checked in C
                continue
            bad = next(r for r in col if _is_error(r))
            if bad is not None:
                if _denied(bad):
                    raise _Denied(name, str(bad))
                redirected.update(i for i, r in enumerate(col) if _redirect(r))
                cols[name] = [None if _is_error(r) else r for r in col]
        types = cols["type"]
        lengths: list[int | None] | None = None
        retyped: set[int] = set()
        if length_cmds is not None and length_replies is not None:
            lengths = [None] * len(keys)
            it = iter(length_replies)
            for i, cmd in enumerate(length_cmds):
                if cmd is None:
                    continue
                value = next(it)
                if _is_error(value):
                    if _denied(value):
                        raise _Denied(cmd.split(b"\r\n")[2].decode(), str(value))
                    if _redirect(value):
                        redirected.add(i)
                    else:
                        retyped.add(i)  # WRONGTYPE: the key changed type under us
                else:
                    lengths[i] = value
        retyped -= redirected
        skip = retyped | redirected
        memory = cols.get("memory")
        keep = [
            i
            for i, t in enumerate(types)
            if t is not None
            and t != b"none"
            and i not in skip
            and (memory is None or memory[i] is not None)
        ]
        if len(keep) != len(keys):
            self.result.keys_retyped += len(retyped)
            self.result.keys_vanished += len(keys) - len(keep) - len(retyped) - len(redirected)
            if redirected:
                if self._following or len(self._redirected) >= REDIRECT_CAP:
                    self.result.keys_moved += len(redirected)
                else:
                    self._redirected.extend(keys[i] for i in sorted(redirected))
            keys = [keys[i] for i in keep]
            cols = {n: [c[i] for i in keep] for n, c in cols.items()}
            if lengths is not None:
                lengths = [lengths[i] for i in keep]
        if not keys:
            return
        batch = Batch(
            node=self.node.address,
            db=db,
            keys=keys,
            types=cols["type"],
            memory=cols.get("memory"),
            lengths=lengths,
            ttl_ms=cols.get("ttl_ms"),
            encoding=cols.get("encoding"),
            idle=cols.get("idle"),
            freq=cols.get("freq"),
        )
        for collector in self.collectors:
            collector.add(batch)
        self.result.keys_scanned += len(keys)
        self.progress(len(keys))


def _scan_error(reply: Any) -> Exception:
    if _denied(reply):
        return _Denied("SCAN", str(reply))
    return redis.ResponseError(str(reply))


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


class _Pool:
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
        self.stop = threading.Event()
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

    def round(self, nodes: Sequence[Node], rescan: int = 0) -> list[_NodeScanner]:
        """Scan `nodes` in parallel; Ctrl-C stops every node at its next batch."""
        scanners = [
            _NodeScanner(
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
        with ThreadPoolExecutor(max_workers=len(scanners), thread_name_prefix="scan") as pool:
            futures = [pool.submit(s.run) for s in scanners]
            try:
                while futures_wait(futures, timeout=0.25).not_done:
                    pass
            except KeyboardInterrupt:
                self.interrupted = True
                self.stop.set()
        for f in futures:
            f.result()
        return scanners


def run_scan(
    spec: ConnectionSpec,
    opts: ScanOptions,
    make_collectors: Callable[[], list[Collector]],
    progress: ProgressFn | None = None,
) -> tuple[Target, ScanSummary, list[Collector]]:
    """Scan every node of the target in parallel; merge the per-node collectors.

    On a cluster, the slot layout is read before and after the walk; the shards whose slots
    moved meanwhile are scanned again (see `_ClusterScan`). Ctrl-C (KeyboardInterrupt in the
    calling thread) stops every node at its next batch and returns what was gathered, marked
    interrupted.
    """
    opts.validate()
    target, _ident, conn = discover(spec)
    conn.close()
    nodes = scan_nodes(target, opts)
    if not nodes:
        raise RediscopeError("the target has no node to scan")
    merged = make_collectors()
    needs = set().union(*(c.needs for c in merged))
    if not opts.lengths:
        needs.discard("length")
    pool = _Pool(spec, opts, make_collectors, needs, progress)
    started = time.monotonic()
    changes: tuple[str, ...] = ()
    rescans = 0
    settled = True
    if target.mode == "cluster":
        cluster = _ClusterScan(pool, target)
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
    results = [s.result for s in scanners]
    scanned = sum(r.keys_scanned for r in results)
    held = sum(r.dbsize for r in results)
    sampled = any(r.sampled for r in results)
    extrapolation = (held / scanned) if sampled and scanned else 1.0
    summary = ScanSummary(
        nodes=tuple(results),
        keys_scanned=scanned,
        keys_vanished=sum(r.keys_vanished for r in results),
        keys_retyped=sum(r.keys_retyped for r in results),
        seconds=round(time.monotonic() - started, 3),
        sampled=sampled,
        complete=all(r.complete and r.error is None for r in results)
        and not pool.interrupted
        and settled,
        interrupted=pool.interrupted,
        extrapolation=extrapolation,
        notes=(*pool.notes, *changes),
        keys_moved=sum(r.keys_moved for r in results),
        keys_asking=sum(r.keys_asking for r in results),
        rescans=rescans,
        topology_changes=changes,
        db=opts.db,
    )
    return target, summary, merged


#: rescan rounds after the first pass before giving up on a layout that keeps changing
MAX_RESCANS = 3
#: how long to wait for a migration that is still moving keys when the walk ends
SETTLE_SECONDS = 5.0
#: a migration whose key counts have not changed for this long has stopped (or died)
STILL_SECONDS = 1.0


class _ClusterScan:
    """A cluster scan that stays exact while slots move.

    A reshard moves keys one by one from a source primary to a destination, so walking both
    with SCAN can count a key twice (measured on the source, moved, measured again on the
    destination) or not at all (moved before the source's cursor reached it, into buckets the
    destination's cursor had passed). Each node's result is therefore kept only if its shard
    served the same slots, with the same open migrations and the same keys on each side, when
    its walk started and after every walk ended, and every key it met was measured there
    (keys of a slot it is importing are read with ASKING). Shards left without a kept result
    are scanned again on the new layout, up to MAX_RESCANS times. A migration that is still
    moving keys when a walk ends is given SETTLE_SECONDS to finish; if it does not, the
    results are kept as they are, marked incomplete, and the slot is named.
    """

    def __init__(self, pool: _Pool, target: Target) -> None:
        self.pool = pool
        self.target = target
        self.changes: list[str] = []
        self.rescans = 0
        self.settled = True

    def _layout(self) -> tuple[Target, SlotLayout] | None:
        """The target re-discovered (the seed first, then any node it listed) and its layout."""
        spec = self.pool.spec
        for candidate in [spec, *(node_spec(spec, n) for n in self.target.nodes)]:
            try:
                target, _ident, conn = discover(candidate)
            except (RediscopeError, redis.RedisError, OSError):
                continue
            conn.close()
            if target.mode != "cluster":
                continue
            return Target(self.target.url, "cluster", target.nodes), slot_layout(spec, target)
        return None

    def _settle(self, start: SlotLayout) -> tuple[Target, SlotLayout] | None:
        """The layout after the walk; while a migration is still moving keys, wait for it to
        finish or to stand still."""
        got = self._layout()
        if got is None or not got[1].migrations or got[1].migrations == start.migrations:
            return got
        deadline = time.monotonic() + SETTLE_SECONDS
        still_since = time.monotonic()
        self.pool.say(f"waiting up to {SETTLE_SECONDS:g} s for a slot migration to finish")
        while time.monotonic() < deadline and not self.pool.stop.is_set():
            time.sleep(0.25)
            again = self._layout()
            if again is None:
                return got
            if not again[1].migrations:
                return again
            if again[1].migrations != got[1].migrations:
                still_since = time.monotonic()
            elif time.monotonic() - still_since >= STILL_SECONDS:
                return again
            got = again
        self.settled = False
        for m in got[1].migrations:
            self.changes.append(
                f"slot {m.slot} was still migrating from {got[1].name(m.source)} to "
                f"{got[1].name(m.destination)} {SETTLE_SECONDS:g} s after the scan: its keys "
                "may be missing or counted twice; scan again when the reshard is done"
            )
        return got

    @staticmethod
    def _invalid(s: _NodeScanner, start: SlotLayout, end: SlotLayout) -> bool:
        nid = s.node.node_id or ""
        slots = end.shard_slots(nid)
        if s.result.error is not None:  # failed: rescanned only where another node took over
            return slots != start.shard_slots(nid)
        return (
            slots is None
            or slots != start.shard_slots(nid)
            or start.migrations_of(nid) != end.migrations_of(nid)
            or s.result.keys_moved > 0
        )

    def run(self, nodes: Sequence[Node]) -> list[_NodeScanner]:
        layout = slot_layout(self.pool.spec, self.target)
        kept: dict[str, tuple[_NodeScanner, SlotLayout]] = {}
        pending = list(nodes)
        while True:
            fresh = self.pool.round(pending, self.rescans)
            candidates = {**kept, **{s.node.node_id or s.node.address: (s, layout) for s in fresh}}
            if self.pool.interrupted:
                return [s for s, _ in candidates.values()]
            end = self._settle(layout)
            if end is not None:
                end = self._await_failover(fresh, layout, end)
            if end is None:
                self.changes.append(
                    "could not read the cluster's slot layout after the scan: "
                    "slots that moved meanwhile may be counted twice or missed"
                )
                self.settled = False
                return [s for s, _ in candidates.values()]
            self.target, end_layout = end
            kept = {
                k: v for k, v in candidates.items() if not self._invalid(v[0], v[1], end_layout)
            }
            dropped = [v[0] for k, v in candidates.items() if k not in kept]
            covered = {end_layout.shard_of.get(k) for k in kept}
            needed = [
                p for p, slots in sorted(end_layout.slots.items()) if slots and p not in covered
            ]
            if not needed:
                self._open_migrations(layout, end_layout)
                return [s for s, _ in kept.values()]
            why = self._moves(layout, end_layout, dropped)
            if not self.settled or self.rescans >= MAX_RESCANS:
                stopped = (
                    "not rescanned while keys are still moving"
                    if not self.settled
                    else f"gave up after {self.rescans} rescans"
                )
                self.settled = False
                self.changes.append(
                    f"{why}; {stopped}: the results of "
                    f"{', '.join(s.node.address for s in dropped)} may count keys twice or "
                    "miss some"
                )
                return [s for s, _ in candidates.values()]
            try:
                pending = [self._node_for(p, end_layout) for p in needed]
            except RediscopeError as exc:  # --replica and a shard without one now
                self.settled = False
                self.changes.append(f"{why}; not rescanned: {exc}")
                return [s for s, _ in candidates.values()]
            self.rescans += 1
            self.pool.say(f"rescanning {len(pending)} shard(s): slots moved")
            self.changes.append(
                f"{why}; rescanned {', '.join(n.address for n in pending)} (rescan {self.rescans})"
            )
            layout = end_layout

    def _await_failover(
        self, fresh: Sequence[_NodeScanner], start: SlotLayout, end: tuple[Target, SlotLayout]
    ) -> tuple[Target, SlotLayout]:
        """A primary that failed mid-scan and has a replica that answers: the cluster will
        promote the replica within about twice cluster-node-timeout. Wait for that (bounded),
        so its shard can be rescanned on the new primary instead of being left partial."""
        waiting = [
            s
            for s in fresh
            if s.result.error is not None
            and s.node.role == "primary"
            and s.node.node_id not in end[1].reached
            and end[1].shard_slots(s.node.node_id or "") == start.shard_slots(s.node.node_id or "")
            and any(
                m in end[1].reached for m in end[1].members(s.node.node_id or "") - {s.node.node_id}
            )
        ]
        if not waiting:
            return end
        wait = min(60.0, 2 * node_timeout_ms(self.pool.spec, end[0]) / 1000 + 5)
        deadline = time.monotonic() + wait
        names = ", ".join(s.node.address for s in waiting)
        self.pool.say(f"{names} failed: waiting up to {wait:.0f} s for a replica to take over")
        while time.monotonic() < deadline and not self.pool.stop.is_set():
            time.sleep(0.5)
            again = self._layout()
            if again is None:
                continue
            end = again
            if all(
                end[1].shard_slots(s.node.node_id or "") != start.shard_slots(s.node.node_id or "")
                for s in waiting
            ):
                break
        return end

    def _node_for(self, primary: str, layout: SlotLayout) -> Node:
        """The node to scan for a shard: its primary, or with --replica one of its replicas."""
        if self.pool.opts.replica:
            for nid, p in sorted(layout.shard_of.items()):
                if p == primary and nid != primary:
                    return Node(layout.name(nid), "replica", nid, (), primary)
            raise RediscopeError(
                f"--replica: the shard of {layout.name(primary)} has no replica any more"
            )
        return Node(layout.name(primary), "primary", primary, layout.slots[primary])

    def _open_migrations(self, start: SlotLayout, end: SlotLayout) -> None:
        """Migrations open and standing still through the last walk (a reshard that stopped
        half-way): both sides were counted."""
        for m in end.migrations:
            if m not in start.migrations:
                continue
            self.changes.append(
                f"slot {m.slot} has an open migration from {end.name(m.source)} "
                f"({m.keys_source} keys) to {end.name(m.destination)} "
                f"({m.keys_destination} keys): both sides are counted, the importing side's "
                "keys with ASKING; if no reshard is running, `redis-cli --cluster fix` closes it"
            )

    @staticmethod
    def _moves(start: SlotLayout, end: SlotLayout, dropped: Sequence[_NodeScanner]) -> str:
        """What changed, in words: slot ranges that changed shard, migrations, redirects."""
        owner_start = _slot_owners(start)
        owner_end = _slot_owners(end)
        moves: dict[tuple[str, str], list[int]] = {}
        for slot in range(16384):
            a, b = owner_start.get(slot), owner_end.get(slot)
            if a != b and (a is None or b is None or start.members(a).isdisjoint(end.members(b))):
                moves.setdefault((a or "?", b or "?"), []).append(slot)
        parts = [
            f"slot{'s' if len(slots) > 1 else ''} {_ranges(slots)} moved from "
            f"{start.name(a)} to {end.name(b)} during the scan"
            for (a, b), slots in moves.items()
        ]
        opened = set(end.migrations) - set(start.migrations)
        parts += [
            f"slot {m.slot} started migrating or moved keys"
            for m in sorted(opened, key=lambda m: m.slot)
        ]
        for s in dropped:
            if s.result.error is not None:
                nid = s.node.node_id or ""
                heirs = [
                    p for p, slots in end.slots.items() if slots and slots == start.shard_slots(nid)
                ]
                parts.append(
                    f"{s.node.address} failed mid-scan and "
                    f"{end.name(heirs[0]) if heirs else 'other nodes'} took over its slots"
                )
        moved = sum(s.result.keys_moved for s in dropped)
        if moved:
            parts.append(f"{moved} key(s) answered MOVED/ASK")
        return "; ".join(parts) or "the slot layout changed during the scan"


def _slot_owners(layout: SlotLayout) -> dict[int, str]:
    owners: dict[int, str] = {}
    for primary, ranges in layout.slots.items():
        for lo, hi in ranges:
            for slot in range(lo, hi + 1):
                owners[slot] = primary
    return owners


def _ranges(slots: Sequence[int]) -> str:
    """[1, 2, 3, 7] -> '1-3, 7'"""
    out: list[str] = []
    start = prev = slots[0]
    for slot in [*slots[1:], -2]:
        if slot != prev + 1:
            out.append(f"{start}-{prev}" if prev != start else str(start))
            start = slot
        prev = slot
    return ", ".join(out)
