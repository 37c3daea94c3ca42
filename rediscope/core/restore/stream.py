"""The write side of `backup restore`: records filtered, routed to the primary that owns
them, turned into RESTOREs (a dry run: EXISTS), written through a NodeWriter each, paced."""

from __future__ import annotations

import contextlib
import fnmatch
import re
import time
from dataclasses import dataclass, field

import redis

from rediscope.core.resp import RawConnection, encode
from rediscope.core.restore.plan import RestoreOptions
from rediscope.core.restore.records import RawKey, payload_size
from rediscope.core.restore.target import RestoreTarget
from rediscope.core.restore.writer import (
    BATCH_KEYS,
    Counts,
    Entry,
    NodeWriter,
    Sent,
    TargetLost,
)
from rediscope.core.target import node_spec
from rediscope.errors import RediscopeError

MAX_HOPS = 5
#: RESTORE key 0 payload: a key with no TTL, no LRU/LFU data, no REPLACE (most keys)
_RESTORE = b"*4\r\n$7\r\nRESTORE\r\n$%d\r\n%b\r\n$1\r\n0\r\n$%d\r\n%b\r\n"
#: RESTORE key at-ms payload ABSTTL: a key with a TTL
_RESTORE_AT = b"*5\r\n$7\r\nRESTORE\r\n$%d\r\n%b\r\n$%d\r\n%b\r\n$%d\r\n%b\r\n$6\r\nABSTTL\r\n"


@dataclass
class Stream:
    """The write side of one restore: a writer per primary, the counts, the pacing."""

    target: RestoreTarget
    opts: RestoreOptions
    version: int
    counts: Counts = field(default_factory=Counts)
    writers: dict[str, NodeWriter] = field(default_factory=dict)
    sent: int = 0
    started: float = field(default_factory=time.monotonic)
    file_clock_ms: int = 0  # the file's ctime (for --keep-expired)

    def __post_init__(self) -> None:
        o = self.opts
        self.glob = re.compile(fnmatch.translate(o.match).encode()) if o.match else None
        self.want_type = o.type.encode() if o.type else None
        self.batch = BATCH_KEYS if o.rate is None else max(1, min(BATCH_KEYS, int(o.rate / 10)))
        self.plain = not (o.replace or o.dry_run)
        self._by_index: dict[int, NodeWriter] = {}

    def writer(self, address: str) -> NodeWriter:
        w = self.writers.get(address)
        if w is None:
            try:
                conn = RawConnection(node_spec(self.target.spec, address))
            except RediscopeError as exc:
                self.counts.lost.append(f"cannot reach {address}: {exc.message}")
                raise TargetLost(self.counts.lost[-1]) from None
            w = self.writers[address] = NodeWriter(conn, address, self.counts, self.opts.dry_run)
        return w

    def _wanted(self, rec: RawKey) -> bool:
        o = self.opts
        if o.db is not None and rec.db != o.db:
            return False
        if self.want_type is not None and rec.type != self.want_type:
            return False
        return self.glob is None or self.glob.match(rec.key) is not None

    def _command(self, rec: RawKey, now_ms: int) -> bytes | list[bytes] | None:
        """The RESTORE (a dry run: EXISTS) for REC; None when it is skipped as expired (a
        dry run skips what the real run would, against the same clock)."""
        args: list[bytes | list[bytes]] = [b"RESTORE", rec.key, b"0", rec.payload]
        if rec.expire_ms is not None:
            if rec.expire_ms > now_ms:
                args[2:3] = [str(rec.expire_ms).encode()]
                args.append(b"ABSTTL")
            elif self.opts.keep_expired:  # its TTL as it was when the backup was taken
                args[2] = str(max(1, rec.expire_ms - self.file_clock_ms)).encode()
            else:
                return None
        if self.opts.dry_run:
            return encode(b"EXISTS", rec.key)
        if rec.idle is not None:
            args += [b"IDLETIME", str(rec.idle).encode()]
        elif rec.freq is not None:
            args += [b"FREQ", str(rec.freq).encode()]
        if self.opts.replace:
            args.append(b"REPLACE")
        return _resp(args)

    def take(self, batch: list[RawKey]) -> None:
        """One batch of records from the reader: filtered, routed, written, paced."""
        now = int(time.time() * 1000)
        counts, target, command_of = self.counts, self.target, self._command
        filtered = self.glob is not None or self.want_type is not None or self.opts.db is not None
        by_index, size = self._by_index, self.batch
        plain, db_map, standalone, sent = (
            self.plain,
            self.opts.db_map,
            not target.cluster,
            self.sent,
        )
        command: bytes | list[bytes]
        for rec in batch:
            if filtered and not self._wanted(rec):
                counts.add(rec.db, None, "filtered")
                continue
            if rec.empty:
                counts.add(rec.db, None, "empty")
                continue
            at, payload = rec.expire_ms, rec.payload
            if (
                plain
                and rec.idle is None
                and rec.freq is None
                and (at is None or at > now)
                and type(payload) is bytes
            ):
                key = rec.key  # most keys: the command built in one step
                if at is None:
                    command = _RESTORE % (len(key), key, len(payload), payload)
                else:
                    ms = b"%d" % at
                    command = _RESTORE_AT % (len(key), key, len(ms), ms, len(payload), payload)
            else:
                built = command_of(rec, now)
                if built is None:
                    counts.add(rec.db, None, "expired")
                    continue
                command = built
            to_db = db_map.get(rec.db, rec.db) if db_map else rec.db
            index = 0 if standalone else target.node_of(rec.key)
            w = by_index.get(index)
            if w is None:
                w = by_index[index] = self.writer(target.primaries[index].address)
            w.add((rec, to_db, command, payload_size(payload)), size)
            sent += 1
        self.sent = sent
        for rec in batch[:1]:
            counts.to_db[rec.db] = db_map.get(rec.db, rec.db)
        self._redirected()
        self._pace()

    def _pace(self) -> None:
        if self.opts.rate:
            ahead = self.sent / self.opts.rate - (time.monotonic() - self.started)
            if ahead > 0:
                time.sleep(ahead)

    def _redirected(self) -> None:
        """Keys a primary said live elsewhere (a reshard under way): sent where it says, one
        by one (ASKING first for an ASK), up to MAX_HOPS times."""
        for w in list(self.writers.values()):
            moved, w.redirects = w.redirects, []
            for entry, text in moved:
                self._follow(w, entry, text)

    def _follow(self, origin: NodeWriter, entry: Entry, text: str) -> None:
        for _ in range(MAX_HOPS):
            kind, _slot, address = text.split(" ", 2)
            w = self.writer(address)
            w.drain()
            ask = [encode(b"ASKING")] if kind == "ASK" else []
            command = entry[2]
            pieces = command if isinstance(command, list) else [command]
            try:
                w.conn.send(b"".join([*ask, *pieces]))
                reply = w.conn.read(len(ask) + 1)[-1]
            except (redis.RedisError, OSError) as exc:
                w.inflight.append(Sent([entry]))  # counted unconfirmed
                w.lost(exc)
            if not (isinstance(reply, Exception) and str(reply).startswith(("MOVED", "ASK"))):
                w._count(entry, reply)
                return
            text = str(reply)
        origin.fail(entry, f"still redirected after {MAX_HOPS} hops: {text}")

    def finish(self) -> None:
        """Every reply read from every primary still answering (one that stops is noted in
        counts.lost, not raised: the first loss already stopped the reading)."""
        for w in self.writers.values():
            with contextlib.suppress(TargetLost):
                w.drain()
        with contextlib.suppress(TargetLost):
            self._redirected()

    def close(self) -> None:
        for w in self.writers.values():
            w.close()


def _resp(args: list[bytes | list[bytes]]) -> bytes | list[bytes]:
    """ARGS as one RESP command; with a payload in pieces, as pieces (never joined)."""
    if all(isinstance(a, bytes) for a in args):
        return encode(*args)  # type: ignore[arg-type]
    out = [b"*%d\r\n" % len(args)]
    for a in args:
        if isinstance(a, bytes):
            out.append(b"$%d\r\n%b\r\n" % (len(a), a))
        else:
            out += [b"$%d\r\n" % payload_size(a), *a, b"\r\n"]
    return out
