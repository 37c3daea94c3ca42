"""One db's pipelined walk on one connection: SCAN steps (typed in lockstep, see `typed`), the
per-key commands of each step's keys in the next request, and (for keys whose type had to be
asked) their length commands in the request after."""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field
from typing import Any, Protocol

from rediscope.core.pipeline.options import ScanOptions
from rediscope.core.pipeline.records import NodeScan, StopFlag
from rediscope.core.resp import RawConnection
from rediscope.core.scan.pace import TIME, Pacer
from rediscope.core.scan.predict import Predictor
from rediscope.core.scan.probe import Capabilities
from rediscope.core.scan.replies import Decoded, length_format, length_request, replies_of
from rediscope.core.scan.requests import Formats, formats
from rediscope.core.scan.typed import Step, Walks, cut, scan_commands, split, walks_for


class Scanner(Protocol):
    """What a walk needs of the node's scanner (live.py's NodeScanner): what to measure, and
    where the decoded replies go."""

    opts: ScanOptions
    needs: set[str]
    caps: Capabilities
    stop: StopFlag
    result: NodeScan
    sent: int  # keys dispatched over all dbs (for --sample)

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
    ) -> Decoded: ...


@dataclass
class LengthBatch:
    """Keys whose type was asked (TYPE in their commands), waiting for their length replies."""

    keys: list[bytes]
    replies: list[Any]  # their first commands' replies, `ncols` per key
    commands: list[bytes | None]  # the length command per key (None: not a known type)
    sent: int  # how many length commands were sent, so how many replies to read


@dataclass
class Request:
    """What one pipelined request carries, so its replies can be read back in order."""

    walks: Walks | None = None  # the SCANs it starts with (None: no SCAN)
    lengths: LengthBatch | None = None  # an older batch's length commands
    typed: list[tuple[bytes, list[bytes]]] = field(default_factory=list)  # type known
    untyped: list[bytes] | None = None  # keys whose TYPE it asks
    keys: int = 0  # keys whose commands it carries (what the pacer measures)
    replies: int = 0  # how many replies it gets


class DbWalk:
    """Keep the server busy: each request starts with the next SCAN step, then the length
    commands of an older untyped batch, then the commands of the newest step's keys. Unpaced,
    the client reads a request's SCAN replies as soon as they arrive and sends the next request
    before reading the rest, so the server always has queued work while the client parses and
    aggregates; paced, one small request is in flight at a time."""

    def __init__(self, scanner: Scanner, conn: RawConnection, db: int) -> None:
        self.s = scanner
        self.conn = conn
        self.db = db
        opts = scanner.opts
        self.fm: Formats = formats(scanner.needs, opts.samples)
        caps = scanner.caps
        self.walks, self.fallback = walks_for(
            opts.type, opts.type_lookup == "scan" and caps.scan_type, caps.modules
        )
        #: predict each key's type (the length command confirms it): with no type filter and
        #: the length measured; else the type comes from SCAN TYPE or from TYPE per key
        self.predictor = (
            Predictor()
            if opts.type_lookup == "predict" and opts.type is None and "length" in scanner.needs
            else None
        )
        self.pacer = Pacer(opts.rate, opts.gentle, opts.scan_count)
        self.cursor: bytes | None = b"0"  # None while a SCAN is in flight
        self.step_from = b"0"  # the cursor of the SCAN in flight (to walk a step again)
        self.redo = False  # the next step walks untyped: the typed cursors diverged
        self.finished = False
        self.done = 0  # keys delivered by SCAN in this walk (for the pacer)
        self.inflight: deque[Request] = deque()
        self.to_t: deque[list[tuple[bytes, list[bytes]]]] = deque()
        self.to_a: deque[list[bytes]] = deque()
        self.to_b: deque[LengthBatch] = deque()
        self._fetched: list[Any] = []  # paced: the whole request's replies, read at once

    def read(self, n: int) -> list[Any]:
        if not self._fetched:
            return self.conn.read(n)
        out, self._fetched = self._fetched[:n], self._fetched[n:]
        return out

    def run(self) -> None:
        paced = self.pacer.active
        self.pacer.start(self.conn)
        # the next request goes out before this one's keys are worked on; paced, only once all
        # of this one's replies are read (so the server never holds two of ours at once), and
        # only when TIME times the requests: a round trip that includes our work means nothing
        early = not paced or self.pacer.timed
        self._next()
        while self.inflight:
            req = self.inflight[0]
            if paced:  # every reply first: the request's cost, and nothing of ours queued
                self._fetched = self.pacer.answered(req.keys, self.conn.read(req.replies))
            if req.walks is not None:
                self._read_step(req.walks)
            if early:
                self._next()  # the server works on it meanwhile
            self.inflight.popleft()
            b_replies = self.read(req.lengths.sent) if req.lengths is not None else None
            if req.typed:
                self._read_typed(req.typed)
            if req.untyped is not None:
                self._read_untyped(req.untyped)
            if not self.inflight:
                self._next()  # the last length commands (not early: the next request)
            if req.lengths is not None and b_replies is not None:
                b = req.lengths
                cols = self.fm.untyped.columns
                got = self.s.deliver(self.db, b.keys, b.replies, cols, b.commands, b_replies)
                if self.predictor is not None:
                    self.predictor.learn(got.keys, got.columns["type"])

    def _next(self) -> None:
        """Paced: wait until the next request is due. Then send it."""
        self.pacer.wait(self.done, self.conn)
        self._send_next()

    def _read_typed(self, groups: list[tuple[bytes, list[bytes]]]) -> None:
        """Keys whose type is known (SCAN TYPE) or predicted, delivered as one batch; a wrong
        prediction (WRONGTYPE on the length command) is measured again with TYPE asked."""
        keys: list[bytes] = []
        types: list[bytes] = []
        replies: list[Any] = []
        for typ, group in groups:
            keys += group
            types += [typ] * len(group)
            replies += self.read(len(group) * self.fm.typed[typ].ncols)
        guessed = self.predictor is not None
        columns = self.fm.typed[groups[0][0]].columns  # the same for every type
        got = self.s.deliver(self.db, keys, replies, columns, None, None, types, guessed)
        if guessed and got.retyped_keys:
            self.to_a.append(got.retyped_keys)

    def _read_untyped(self, keys: list[bytes]) -> None:
        f = self.fm.untyped
        replies = self.read(len(keys) * f.ncols)
        if "length" not in self.s.needs:
            self.s.deliver(self.db, keys, replies, f.columns, None, None)
            return
        commands = [length_format(t) for t in replies[0 :: f.ncols]]
        sent = sum(replies_of(c) for c in commands if c is not None)
        self.to_b.append(LengthBatch(keys, replies, commands, sent))

    def _send_next(self) -> None:
        """One request: the next SCAN step (if one is due), an older untyped batch's length
        commands, the commands of the newest step's keys."""
        req = Request()
        out: list[bytes] = []
        if self.cursor is not None and not self.finished:
            walks = self.fallback if self.redo else self.walks
            out.append(scan_commands(self.cursor, self.pacer.count(), self.s.opts.match, walks))
            req.walks, self.step_from, self.cursor = walks, self.cursor, None
            req.replies += walks.scans
        if self.to_b:
            req.lengths = b = self.to_b.popleft()
            out.extend(length_request(c, k) for k, c in zip(b.keys, b.commands, strict=True) if c)
            req.replies += b.sent
        if self.to_t:
            req.typed = self.to_t.popleft()
            for typ, keys in req.typed:
                out.append(self.fm.typed[typ].render(keys))
                req.keys += len(keys)
                req.replies += len(keys) * self.fm.typed[typ].ncols
        if self.to_a:
            req.untyped = [k for keys in self.to_a for k in keys]
            self.to_a.clear()
            out.append(self.fm.untyped.render(req.untyped))
            req.keys += len(req.untyped)
            req.replies += len(req.untyped) * self.fm.untyped.ncols
        if out:
            if self.pacer.timed:  # the server's clock around the request: what it cost
                out = [TIME, *out, TIME]
                req.replies += 2
            data = b"".join(out)
            self.pacer.sent()  # before the send: a PING's round trip includes its send too
            self.conn.send(data)
            self.inflight.append(req)

    def _read_step(self, walks: Walks) -> None:
        """A step's SCAN replies: the next cursor, and its keys queued for their commands (cut
        at --sample, dropped when the scan is being stopped). Diverged cursors: the same step
        once more, untyped."""
        step = split(self.read(walks.scans), walks)
        self.redo = step.diverged
        if step.diverged:
            self.cursor = self.step_from
            return
        s = self.s
        finished = step.cursor == b"0"
        if s.stop.is_set() and not s.result.sampled:
            finished, step = True, Step(b"0")
        if s.opts.sample is not None:
            room = s.opts.sample - s.sent
            if room <= step.keys:
                step = cut(step, max(room, 0))
                finished = True
                s.result.sampled = True
        self.cursor = None if finished else step.cursor
        self.finished = finished
        s.sent += step.keys
        self.done += step.keys
        if self.predictor is not None and step.untyped:
            guessed, step.untyped = self.predictor.assign(step.untyped)
            step.typed += guessed
        if step.typed:
            self.to_t.append(step.typed)
        if step.untyped:
            self.to_a.append(step.untyped)
