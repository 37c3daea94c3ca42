"""Pipelined RESTORE to one primary: batches sent while the previous batch's replies are read,
each reply counted (restored, already there, module missing, failed), redirects handed back."""

from __future__ import annotations

import socket
from collections import deque
from dataclasses import dataclass, field
from typing import Any, NoReturn

import hiredis
import redis

from rediscope.core.keynames import display_key
from rediscope.core.resp import RawConnection, encode
from rediscope.core.restore.records import RawKey
from rediscope.errors import RediscopeError

#: keys per pipelined request, and the payload bytes after which a request goes out earlier
BATCH_KEYS = 500
BATCH_BYTES = 4 << 20
#: failures kept with their key and error (the counts are always whole)
MAX_FAILURES = 10_000


@dataclass
class Tally:
    """Keys by what became of them (bytes: the payload bytes restored)."""

    restored: int = 0
    bytes: int = 0
    exists: int = 0
    expired: int = 0
    filtered: int = 0
    module_missing: int = 0
    empty: int = 0
    failed: int = 0
    unconfirmed: int = 0  # sent, no reply: the target stopped answering (it may hold them)


class TargetLost(RediscopeError):
    """A primary stopped answering, or closed the connection, in the middle of the restore."""


@dataclass(frozen=True)
class Failure:
    key: str
    db: int
    node: str
    error: str


@dataclass
class Counts:
    """Tallies per source db and per target node, the failures, the modules missing."""

    per_db: dict[int, Tally] = field(default_factory=dict)
    per_node: dict[str, Tally] = field(default_factory=dict)
    failures: list[Failure] = field(default_factory=list)
    modules_missing: dict[str, int] = field(default_factory=dict)
    to_db: dict[int, int] = field(default_factory=dict)  # source db -> target db
    lost: list[str] = field(default_factory=list)  # primaries that stopped answering, and how

    def add(self, db: int, node: str | None, what: str, n: int = 1, size: int = 0) -> None:
        tallies = [self.per_db.setdefault(db, Tally())]
        if node is not None:
            tallies.append(self.per_node.setdefault(node, Tally()))
        for t in tallies:
            setattr(t, what, getattr(t, what) + n)
            t.bytes += size

    def total(self) -> Tally:
        out = Tally()
        for t in self.per_db.values():
            for name in vars(out):
                setattr(out, name, getattr(out, name) + getattr(t, name))
        return out


#: one RESTORE in flight: the record, the target db, the command (bytes, or the pieces of a
#: command carrying a big value), the payload's size
Entry = tuple[RawKey, int, bytes | list[bytes], int]


@dataclass
class Sent:
    entries: list[Entry | None]  # None: a SELECT's reply
    size: int = -1  # payload bytes when every entry is a RESTORE into one source db (else -1)


class NodeWriter:
    """Writes RESTOREs to one primary; `redirects` collects the keys it says live elsewhere."""

    def __init__(self, conn: RawConnection, address: str, counts: Counts, dry_run: bool) -> None:
        self.conn = conn
        self.address = address
        self.counts = counts
        self.dry_run = dry_run  # commands are EXISTS: a 1 is a conflict, nothing is written
        self.db = conn.spec.db
        self.pending: list[Entry] = []
        self.pending_bytes = 0
        self.inflight: deque[Sent] = deque()
        self.redirects: list[tuple[Entry, str]] = []
        self.dead = False  # the primary stopped answering: nothing more is sent to it

    def add(self, entry: Entry, batch_keys: int = BATCH_KEYS) -> None:
        if type(entry[2]) is list:
            self._send_big(entry)
            return
        pending = self.pending
        pending.append(entry)
        self.pending_bytes += entry[3]
        if len(pending) >= batch_keys or self.pending_bytes >= BATCH_BYTES:
            self.send()

    def send(self) -> None:
        """The pending batch out; then the replies of the one before it, if any."""
        pending = self.pending
        if not pending:
            return
        first, src = pending[0], pending[0][0].db
        same = first[1] == self.db and all(e[0].db == src for e in pending)
        order: list[Entry | None]
        if same:  # most batches: one db, the one selected
            order = pending  # type: ignore[assignment]
            parts = [e[2] for e in pending]
        else:
            parts, order = [], []
            for e in pending:
                if e[1] != self.db:
                    parts.append(encode(b"SELECT", str(e[1]).encode()))
                    order.append(None)
                    self.db = e[1]
                parts.append(e[2])
                order.append(e)
        self.inflight.append(Sent(order, self.pending_bytes if same else -1))
        self.pending, self.pending_bytes = [], 0
        try:
            self.conn.send(b"".join(parts))  # type: ignore[arg-type]  # bytes commands only
        except (redis.RedisError, OSError) as exc:
            self.lost(exc)
        except KeyboardInterrupt:  # part of a request sent: nothing more can go on this socket
            self._abandon()
            raise
        while len(self.inflight) > 1:
            self.collect()

    def _send_big(self, entry: Entry) -> None:
        """A command carrying a big value: sent piece by piece as its own request, after what
        is pending (so the value is never copied whole)."""
        self.send()
        order: list[Entry | None] = []
        pieces = list(entry[2])
        if entry[1] != self.db:
            pieces.insert(0, encode(b"SELECT", str(entry[1]).encode()))
            order.append(None)
            self.db = entry[1]
        self.inflight.append(Sent([*order, entry]))
        try:
            for piece in pieces:
                self.conn.send(piece)  # type: ignore[arg-type]
        except (redis.RedisError, OSError) as exc:
            self.lost(exc)
        except KeyboardInterrupt:
            self._abandon()
            raise
        while len(self.inflight) > 1:
            self.collect()

    def collect(self) -> None:
        """The replies of the oldest request: when all are OK (most requests) counted in one
        go, else one by one."""
        sent = self.inflight[0]
        entries = sent.entries
        try:
            replies = self.conn.read(len(entries))
        except (redis.RedisError, OSError) as exc:
            self.lost(exc)
        except KeyboardInterrupt:  # some replies read and dropped: the rest cannot be matched
            self._abandon()
            raise
        self.inflight.popleft()
        dry = self.dry_run
        if sent.size >= 0 and not dry and replies.count(b"OK") == len(replies):
            db = entries[0][0].db  # type: ignore[index]
            self.counts.add(db, self.address, "restored", len(replies), sent.size)
            return
        ok: dict[int, list[int]] = {}
        for entry, reply in zip(entries, replies, strict=True):
            if entry is None:
                if isinstance(reply, hiredis.ReplyError):  # checked before the first write
                    self.lost(RediscopeError(f"SELECT refused: {reply}"))
            elif reply == b"OK" and not dry:
                n = ok.get(entry[0].db)
                if n is None:
                    n = ok[entry[0].db] = [0, 0]
                n[0] += 1
                n[1] += entry[3]
            else:
                self._count(entry, reply)
        for db, (keys, size) in ok.items():
            self.counts.add(db, self.address, "restored", keys, size)

    def _count(self, entry: Entry, reply: Any) -> None:
        rec, counts = entry[0], self.counts
        if self.dry_run:
            conflict = reply == 1
            counts.add(
                rec.db,
                self.address,
                "exists" if conflict else "restored",
                1,
                0 if conflict else entry[3],
            )
            return
        if not isinstance(reply, hiredis.ReplyError):
            counts.add(rec.db, self.address, "restored", 1, entry[3])
            return
        text = str(reply)
        if text.startswith("BUSYKEY"):
            counts.add(rec.db, self.address, "exists")
        elif text.startswith(("MOVED ", "ASK ")):
            self.redirects.append((entry, text))
        elif rec.module and "Bad data format" in text:
            counts.add(rec.db, self.address, "module_missing")
            name = rec.type.decode("ascii", "replace")
            counts.modules_missing[name] = counts.modules_missing.get(name, 0) + 1
        else:
            self.fail(entry, text)

    def fail(self, entry: Entry, text: str) -> None:
        rec, counts = entry[0], self.counts
        counts.add(rec.db, self.address, "failed")
        if len(counts.failures) < MAX_FAILURES:
            counts.failures.append(Failure(display_key(rec.key), rec.db, self.address, text))

    def lost(self, exc: BaseException) -> NoReturn:
        """The primary stopped answering: what was sent without a reply is counted
        unconfirmed (the target may hold it), what was not sent is dropped; TargetLost."""
        self._abandon()
        if isinstance(exc, socket.timeout | redis.TimeoutError):
            why = f"timed out after {self.conn.spec.timeout:g}s (--timeout): no reply"
        elif isinstance(exc, RediscopeError):
            why = exc.message
        else:
            why = f"closed the connection ({exc or type(exc).__name__})"
        self.counts.lost.append(f"the target {self.address} {why}")
        raise TargetLost(self.counts.lost[-1])

    def _abandon(self) -> None:
        """No more on this connection: what was sent without its reply read is counted
        unconfirmed, what was not sent is dropped."""
        self.dead = True
        for sent in self.inflight:
            for e in sent.entries:
                if e is not None:
                    self.counts.add(e[0].db, self.address, "unconfirmed")
        self.inflight.clear()
        self.pending, self.pending_bytes = [], 0

    def drain(self) -> None:
        """Everything sent and every reply read (nothing, once the primary is lost)."""
        if self.dead:
            return
        self.send()
        while self.inflight:
            self.collect()

    def close(self) -> None:
        self.conn.close()
