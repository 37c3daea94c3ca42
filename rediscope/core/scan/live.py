"""The live key source: one node's pipelined SCAN walk over RESP, per-key commands in the same round trips, record batches to the collectors."""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from typing import Any

import redis

from rediscope.core.connection import ConnectionSpec, client
from rediscope.core.failures import describe_error
from rediscope.core.info import info, keyspace_dbs
from rediscope.core.pipeline.options import ScanOptions
from rediscope.core.pipeline.records import Batch, Collector, NodeScan, StopFlag
from rediscope.core.resp import RawConnection
from rediscope.core.scan.probe import Capabilities, probe
from rediscope.core.scan.replies import (
    ASKING,
    REDIRECT_CAP,
    Decoded,
    Denied,
    decode,
    is_error,
    length_format,
    length_requests,
)
from rediscope.core.scan.requests import formats
from rediscope.core.scan.walk import DbWalk
from rediscope.core.target import Node, _self_view
from rediscope.errors import CommandDenied, RediscopeError


class NodeScanner:
    """Scans one node, one db after another, feeding its own collectors."""

    def __init__(
        self,
        spec: ConnectionSpec,
        node: Node,
        opts: ScanOptions,
        collectors: Sequence[Collector],
        needs: set[str],
        stop: StopFlag,
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
        self.sent = 0  # keys dispatched over all dbs (for --sample)
        self.caps = Capabilities(scan_type=False, modules=True)  # until a connection probes
        self._redirected: list[bytes] = []  # keys of this db that answered MOVED/ASK
        self._following = False  # in the ASKING pass: a redirect now means "moved"

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
        walks = self.opts.type_lookup == "scan"
        self.caps = probe(conn, self.needs, self.result, self._note_once, walks)
        if "length" in self.needs and self.node.node_id and _migrating(conn):
            self._note_once(
                f"{self.node.address} has an open slot migration: CLIENT NO-TOUCH is left off "
                "there (Redis 8.2 crashes reading a migrating slot's key under it), so its "
                "length commands count as accesses; use --no-lengths to avoid them"
            )
        elif "length" in self.needs:
            reply = conn.call(b"CLIENT", b"NO-TOUCH", b"ON")
            if is_error(reply):
                self._note_once(
                    "length commands (STRLEN, LLEN, …) update each key's LRU/LFU "
                    "data on this server (CLIENT NO-TOUCH needs Redis 7.2+); use "
                    "--no-lengths to leave idle times and LFU counters untouched"
                )
        return conn

    def _note_once(self, text: str) -> None:
        if text not in self.notes:
            self.notes.append(text)

    def _scan_db(self, db: int) -> None:
        conn = self._open(db)
        try:
            walk = DbWalk(self, conn, db)
            walk.run()
            self._follow(conn, db)
        finally:
            conn.close()
        short = walk.pacer.shortfall()
        if short is not None and not self.stop.is_set():
            self._note_once(
                f"{self.node.address} db {db}: paced at {short[1]:,.0f} keys/s of the "
                f"{short[0]:,.0f} asked: each request is kept small so that the application "
                "does not wait behind it, and this client or server was too busy for more"
            )

    def _follow(self, conn: RawConnection, db: int) -> None:
        """The keys that answered MOVED/ASK, once more with ASKING before each command: a node
        importing their slot (a reshard in progress, or one that stopped half-way) serves
        them that way. Those still redirected moved to another shard and count as moved;
        the scan's layout check after the walk decides what to rescan."""
        keys, self._redirected = self._redirected, []
        f = formats(self.needs, self.opts.samples, asking=True).untyped
        fmt, ncols, columns = f.fmt, f.ncols, f.columns
        self._following = True
        try:
            for i in range(0, len(keys), 500):
                chunk = keys[i : i + 500]
                conn.send(b"".join(fmt % ((len(k), k) * ncols) for k in chunk))
                replies = conn.read(2 * ncols * len(chunk))[1::2]
                templates: list[bytes | None] | None = None
                lengths = None
                if "length" in self.needs:
                    templates = [length_format(t) for t in replies[0::ncols]]
                    pairs = [(t, k) for t, k in zip(templates, chunk, strict=True) if t]
                    out = [ASKING + c for t, k in pairs for c in length_requests(t, k)]
                    if out:
                        conn.send(b"".join(out))
                    lengths = conn.read(2 * len(out))[1::2] if out else []
                before = self.result.keys_scanned
                self.deliver(db, chunk, replies, columns, templates, lengths)
                self.result.keys_asking += self.result.keys_scanned - before
        finally:
            self._following = False

    def deliver(
        self,
        db: int,
        keys: list[bytes],
        replies: list[Any],
        columns: list[str],
        length_cmds: list[bytes | None] | None,
        length_replies: list[Any] | None,
        types: list[bytes] | None = None,
        guessed: bool = False,
    ) -> Decoded:
        """Decode a batch's replies and feed the measured keys to the collectors. GUESSED: the
        TYPES were predicted, so a WRONGTYPE is a wrong guess (the caller measures those keys again),
        not a key that changed type."""
        got = decode(keys, replies, columns, length_cmds, length_replies, types)
        if not guessed:
            self.result.keys_retyped += got.retyped
        self.result.keys_vanished += got.vanished
        if got.redirected:
            if self._following or len(self._redirected) >= REDIRECT_CAP:
                self.result.keys_moved += len(got.redirected)
            else:
                self._redirected.extend(got.redirected)
        keys, cols, lengths = got.keys, got.columns, got.lengths
        if not keys:
            return got
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
        return got


def _migrating(conn: RawConnection) -> bool:
    """Whether this cluster node has a slot MIGRATING or IMPORTING, by its own CLUSTER NODES
    line (False where it cannot say)."""
    reply = conn.call(b"CLUSTER", b"NODES")
    if not isinstance(reply, bytes):
        return False
    view = _self_view(reply.decode("utf-8", "replace"))
    return view is not None and bool(view.marks)
