"""The live key source: one node's pipelined SCAN walk over RESP, per-key commands in the same round trips, record batches to the collectors."""

from __future__ import annotations

import threading
import time
from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass
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
    ReplyError,
    denied,
    is_error,
    redirect,
    scan_error,
)
from rediscope.core.target import (
    Node,
)
from rediscope.errors import CommandDenied, RediscopeError


@dataclass
class Request:
    """What one pipelined request carries, so its replies can be read back in order."""

    scan: bool = False
    a: list[bytes] | None = None
    b: tuple[list[bytes], list[Any], list[bytes | None], int] | None = None


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
        opts = self.opts
        count = opts.scan_count
        if opts.rate is not None:
            count = max(1, min(count, int(opts.rate / 10) or 1))
        want_len = "length" in self.needs
        started = time.monotonic()
        done_here = 0
        inflight: deque[Request] = deque()
        to_a: deque[list[bytes]] = deque()  # batches from SCAN, phase A not yet sent
        to_b: deque[tuple[list[bytes], list[Any], list[bytes | None], int]] = deque()
        state = {"cursor": b"0", "finished": False}

        def send_next() -> None:
            req = Request()
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
                if is_error(reply):
                    raise scan_error(reply)
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
                    templates = [LENGTH_FORMATS.get(t) for t in a_replies[0::ncols]]
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
            if ReplyError not in map(type, col):  # the common case, checked in C
                continue
            bad = next(r for r in col if is_error(r))
            if bad is not None:
                if denied(bad):
                    raise Denied(name, str(bad))
                redirected.update(i for i, r in enumerate(col) if redirect(r))
                cols[name] = [None if is_error(r) else r for r in col]
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
                if is_error(value):
                    if denied(value):
                        raise Denied(cmd.split(b"\r\n")[2].decode(), str(value))
                    if redirect(value):
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
