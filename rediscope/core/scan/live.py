"""The live key source: one node's pipelined SCAN walk over RESP, per-key commands in the same round trips, record batches to the collectors."""

from __future__ import annotations

import threading
import time
from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import redis

from rediscope.core.connection import ConnectionSpec, client
from rediscope.core.failures import describe_error
from rediscope.core.info import info, keyspace_dbs
from rediscope.core.resp import RawConnection, bulk, encode
from rediscope.core.scan.options import LENGTH_COMMANDS, Batch, Collector, NodeScan, ScanOptions
from rediscope.core.scan.replies import (
    ASKING,
    KEY,
    LENGTH_FORMATS,
    REDIRECT_CAP,
    Denied,
    decode,
    denied,
    is_error,
    scan_error,
)
from rediscope.core.target import (
    Node,
)
from rediscope.errors import CommandDenied, RediscopeError


@dataclass
class LengthBatch:
    """A batch whose phase-A replies are in, waiting for its length commands' replies."""

    keys: list[bytes]
    replies: list[Any]  # phase A, `ncols` per key
    commands: list[bytes | None]  # the length command per key (None: not a collection)
    sent: int  # how many length commands were sent, so how many replies to read


@dataclass
class Request:
    """What one pipelined request carries, so its replies can be read back in order."""

    scan: bool = False  # it starts with a SCAN
    phase_a: list[bytes] | None = None  # keys whose TYPE, MEMORY USAGE, ... it asks
    lengths: LengthBatch | None = None  # an older batch whose length commands it sends


@dataclass
class WalkState:
    """One db's walk: where SCAN is, and the batches between the pipeline's stages."""

    cursor: bytes | None = b"0"  # None while a SCAN is in flight
    finished: bool = False
    done: int = 0  # keys delivered by SCAN in this walk (for --rate)
    inflight: deque[Request] = field(default_factory=deque)
    to_a: deque[list[bytes]] = field(default_factory=deque)  # phase A not yet sent
    to_b: deque[LengthBatch] = field(default_factory=deque)  # length commands not yet sent


class NodeScanner:
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
            parts = [ASKING + p for p in parts]
        return b"".join(parts).replace(b"%b", KEY), len(parts), columns

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
        except Denied as exc:
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
            if is_error(reply):
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
            if not denied(reply):
                continue
            if need in ("type", "scan"):
                raise CommandDenied(
                    what, str(reply), "the scan needs SCAN and TYPE; see docs/security.md"
                )
            self.needs.discard(need)
            self.result.unmeasured.append(need)
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
                    templates = [LENGTH_FORMATS.get(t) for t in replies[0::ncols]]
                    out = [
                        ASKING + t % (len(k), k) for t, k in zip(templates, chunk, strict=True) if t
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
        count = self.opts.scan_count
        if self.opts.rate is not None:
            count = max(1, min(count, int(self.opts.rate / 10) or 1))
        state = WalkState()
        started = time.monotonic()
        self._send_next(conn, state, fmt, ncols, count)
        while state.inflight:
            req = state.inflight[0]
            if req.scan:
                self._read_scan(conn, state)
            self._send_next(conn, state, fmt, ncols, count)  # the server works on it meanwhile
            state.inflight.popleft()
            b_replies = conn.read(req.lengths.sent) if req.lengths is not None else None
            if req.phase_a is not None:
                a_replies = conn.read(len(req.phase_a) * ncols)
                if "length" in self.needs:
                    commands = [LENGTH_FORMATS.get(t) for t in a_replies[0::ncols]]
                    sent = sum(1 for c in commands if c is not None)
                    state.to_b.append(LengthBatch(req.phase_a, a_replies, commands, sent))
                else:
                    self._deliver(db, req.phase_a, a_replies, columns, None, None)
            if not state.inflight:
                self._send_next(conn, state, fmt, ncols, count)  # the last length commands
            if req.lengths is not None and b_replies is not None:
                b = req.lengths
                self._deliver(db, b.keys, b.replies, columns, b.commands, b_replies)
            if self.opts.rate is not None:
                ahead = state.done / self.opts.rate - (time.monotonic() - started)
                if ahead > 0:
                    time.sleep(ahead)

    def _send_next(
        self, conn: RawConnection, state: WalkState, fmt: bytes, ncols: int, count: int
    ) -> None:
        """One request: the next SCAN (if one is due), an older batch's length commands, the
        newest batch's phase A."""
        req = Request()
        out: list[bytes] = []
        if state.cursor is not None and not state.finished:
            out.append(self._scan_cmd(state.cursor, count))
            req.scan = True
            state.cursor = None
        if state.to_b:
            req.lengths = b = state.to_b.popleft()
            out.extend(c % (len(k), k) for k, c in zip(b.keys, b.commands, strict=True) if c)
        if state.to_a:
            req.phase_a = state.to_a.popleft()
            out.extend([fmt % ((len(k), k) * ncols) for k in req.phase_a])
        if out:
            conn.send(b"".join(out))
            state.inflight.append(req)

    def _read_scan(self, conn: RawConnection, state: WalkState) -> None:
        """A SCAN reply: the next cursor, and its keys queued for phase A (cut at --sample,
        dropped when the scan is being stopped)."""
        reply = conn.read(1)[0]
        if is_error(reply):
            raise scan_error(reply)
        cursor, keys = reply[0], reply[1]
        finished = cursor == b"0"
        if self.stop.is_set() and not self.result.sampled:
            finished, keys = True, []
        if self.opts.sample is not None:
            room = self.opts.sample - self._sent
            if room <= len(keys):
                keys = keys[: max(room, 0)]
                finished = True
                self.result.sampled = True
        state.cursor = None if finished else cursor
        state.finished = finished
        self._sent += len(keys)
        state.done += len(keys)
        if keys:
            state.to_a.append(keys)

    def _deliver(
        self,
        db: int,
        keys: list[bytes],
        replies: list[Any],
        columns: list[str],
        length_cmds: list[bytes | None] | None,
        length_replies: list[Any] | None,
    ) -> None:
        got = decode(keys, replies, columns, length_cmds, length_replies)
        self.result.keys_retyped += got.retyped
        self.result.keys_vanished += got.vanished
        if got.redirected:
            if self._following or len(self._redirected) >= REDIRECT_CAP:
                self.result.keys_moved += len(got.redirected)
            else:
                self._redirected.extend(got.redirected)
        keys, cols, lengths = got.keys, got.columns, got.lengths
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
