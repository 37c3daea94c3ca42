"""Getting the RDB from the server: the replication SYNC stream, or BGSAVE and a copy."""

from __future__ import annotations

import math
import os
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, NoReturn

import redis

from rediscope.core.backup.files import BackupError, ProgressFn
from rediscope.core.connection import ConnectionSpec, client
from rediscope.core.failures import describe_error, is_denied, translate_errors
from rediscope.core.info import info
from rediscope.core.rdbfile.check import CHUNK, VALKEY_FORMAT_RELEASE
from rediscope.core.resp import RawConnection, text
from rediscope.errors import CommandDenied

#: the server's repl-diskless-sync-delay when CONFIG GET is refused (its default)
_DEFAULT_SYNC_DELAY = 5.0


@dataclass
class _Clock:
    """When a SYNC gives up: after --timeout seconds without RDB bytes (the keepalive
    newlines a server sends while it prepares the RDB are not progress; before the first
    byte the server's own repl-diskless-sync-delay is allowed too), and after MAX_TIME
    seconds for the whole transfer."""

    conn: RawConnection
    timeout: float
    grace: float
    max_time: float | None
    received: int = 0
    started: float = field(default_factory=time.monotonic)

    def __post_init__(self) -> None:
        self.last = self.started + self.grace  # the last payload byte (or when one is due)

    def recv(self, size: int) -> bytes:
        now = time.monotonic()
        idle_left = self.last + self.timeout - now
        total_left = math.inf if self.max_time is None else self.started + self.max_time - now
        left = min(idle_left, total_left)
        if left <= 0:
            self._expired(total_left <= idle_left)
        self.conn.sock.settimeout(left)
        try:
            return self.conn.recv_raw(size)
        except TimeoutError:  # socket.timeout is TimeoutError
            self._expired(total_left <= idle_left)

    def payload(self, n: int) -> None:
        self.received += n
        self.last = time.monotonic()

    def _expired(self, whole: bool) -> NoReturn:
        where = f"SYNC from {self.conn.spec.address}"
        if whole:
            raise BackupError(
                f"{where}: gave up after --max-time {self.max_time:g}s, with "
                f"{self.received:,} bytes of the RDB received"
            )
        if not self.received:
            raise BackupError(
                f"{where}: no RDB data for {self.timeout:g}s (--timeout), only keepalive "
                "newlines: the server is still preparing the RDB (a save in progress)",
                "a server that saves to disk before sending (repl-diskless-sync no) needs "
                "--timeout longer than its save; --max-time bounds the whole transfer",
            )
        raise BackupError(
            f"{where}: the transfer stalled: no data for {self.timeout:g}s (--timeout) "
            f"after {self.received:,} bytes"
        )


def _sync_grace(conn: RawConnection) -> float:
    """Seconds a server may send only keepalives before the RDB by its own configuration:
    repl-diskless-sync-delay (and the 1 s tick of its replication cron)."""
    reply = conn.call(b"CONFIG", b"GET", b"repl-diskless-sync*")
    if isinstance(reply, list) and reply:
        conf = {text(reply[i]): text(reply[i + 1]) for i in range(0, len(reply) - 1, 2)}
        if conf.get("repl-diskless-sync") == "no":
            return 1.0
        delay = conf.get("repl-diskless-sync-delay", "")
        if delay.isdigit():
            return float(delay) + 1
    return _DEFAULT_SYNC_DELAY + 1


def stream_sync(
    spec: ConnectionSpec,
    sink: Callable[[bytes], None],
    progress: ProgressFn | None = None,
    max_time: float | None = None,
    denied_hint: str = "grant +sync +replconf, or use --method bgsave",
) -> int:
    """The RDB over the replication protocol, as `redis-cli --rdb` gets it. Handles the
    `$<len>` (disk) and `$EOF:<40-byte mark>` (diskless) transfers; constant memory. Gives up
    after spec.timeout seconds without RDB bytes, or MAX_TIME seconds in all (_Clock)."""
    conn = RawConnection(spec, db=0)
    try:
        _announce(conn, denied_hint)
        clock = _Clock(conn, spec.timeout, _sync_grace(conn), max_time)
        conn.send(b"SYNC\r\n")
        header = _read_line(clock)
        if header.startswith(b"-"):
            refusal = header[1:].decode(errors="replace")
            if is_denied(refusal):
                raise CommandDenied("SYNC", refusal, denied_hint.replace(" +replconf", ""))
            raise BackupError(f"the server refused SYNC: {refusal}")
        if not header.startswith(b"$"):
            raise BackupError(f"unexpected reply to SYNC: {header[:40]!r}")
        if header.startswith(b"$EOF:"):
            mark = header[5:]
            if len(mark) != 40:
                raise BackupError("malformed diskless transfer header")
            return _stream_until_mark(clock, mark, sink, progress)
        total = int(header[1:])
        while clock.received < total:
            chunk = clock.recv(min(CHUNK, total - clock.received))
            if not chunk:
                raise BackupError(
                    f"the server closed the connection after {clock.received:,} of {total:,} bytes"
                )
            sink(chunk)
            clock.payload(len(chunk))
            if progress:
                progress(clock.received, total)
        return clock.received
    except (redis.RedisError, OSError) as exc:
        raise describe_error(exc, spec, "SYNC") from None
    finally:
        conn.close()


def _announce(conn: RawConnection, denied_hint: str) -> None:
    """What this replica understands: the EOF-marked (diskless) transfer, the RDB alone, and
    (Valkey 8.0+) the newest Valkey release whose RDB format the reader knows, so that a
    Valkey 9 primary sends its own format (VALKEY080) rather than RDB 11, in which a hash with
    field expiry cannot be written. A server without `REPLCONF version` (Redis) refuses that
    one option and always sends its own format: the refusal is not an error."""
    for args in (
        (b"REPLCONF", b"capa", b"eof"),
        (b"REPLCONF", b"rdb-only", b"1"),
        (b"REPLCONF", b"version", VALKEY_FORMAT_RELEASE.encode()),
    ):
        reply = conn.call(*args)
        if is_denied(reply) and args[1] == b"capa":
            raise CommandDenied("REPLCONF/SYNC", str(reply), denied_hint)


def _read_line(clock: _Clock) -> bytes:
    """The SYNC reply header; the server sends bare newlines as keepalives while it prepares
    (they are not progress: the clock runs on)."""
    buf = b""
    while True:
        ch = clock.recv(1)
        if not ch:
            raise BackupError("the server closed the connection before the RDB transfer")
        if ch == b"\n":
            line = buf.rstrip(b"\r")
            if line:
                return line
            buf = b""
            continue
        buf += ch
        if len(buf) > 200:
            raise BackupError("unexpected reply to SYNC")


def _stream_until_mark(
    clock: _Clock, mark: bytes, sink: Callable[[bytes], None], progress: ProgressFn | None
) -> int:
    tail = b""
    while True:
        chunk = clock.recv(CHUNK)
        if not chunk:
            raise BackupError(
                f"the server closed the connection after {clock.received:,} bytes of a "
                "diskless transfer"
            )
        clock.payload(0)
        buf = tail + chunk
        if buf.endswith(mark):
            body = buf[: -len(mark)]
            sink(body)
            clock.payload(len(body))
            return clock.received
        keep = len(mark)
        if len(buf) > keep:
            sink(buf[:-keep])
            clock.payload(len(buf) - keep)
            tail = buf[-keep:]
        else:
            tail = buf
        if progress:
            progress(clock.received, None)


def _save_state(conn: redis.Redis) -> dict[str, Any]:
    """INFO persistence plus `saves`, a counter that grows with every save: rdb_saves (7.0+),
    else total_forks from INFO stats (rdb_last_save_time alone has whole seconds: a save that
    ends in the second the last one did would go unseen)."""
    data = info(conn, "persistence")
    if "rdb_saves" in data:
        data["saves"] = int(data["rdb_saves"])
    else:
        data["saves"] = int(info(conn, "stats").get("total_forks", 0))
    return data


def bgsave_copy(
    spec: ConnectionSpec,
    rdb_path: str | None,
    sink: Callable[[bytes], None],
    progress: ProgressFn | None = None,
    poll: float = 0.2,
    timeout: float = 3600.0,
) -> int:
    """BGSAVE (waiting out one already in progress), then copy the file it wrote."""
    conn = client(spec)
    deadline = time.monotonic() + timeout
    try:
        path = rdb_path or _rdb_file(conn, spec)
        before = _start_bgsave(conn, spec, poll, deadline)
        _wait_bgsave(conn, spec, before, poll, deadline)
    finally:
        conn.close()
    return _copy_file(path, sink, progress)


def _start_bgsave(
    conn: redis.Redis, spec: ConnectionSpec, poll: float, deadline: float
) -> dict[str, Any]:
    """BGSAVE; the save state from just before the one that was accepted."""
    while True:
        with translate_errors(spec, "INFO persistence"):
            before = _save_state(conn)
        try:
            conn.bgsave()
            return before
        except redis.ResponseError as exc:
            text = str(exc)
            if is_denied(text):
                raise CommandDenied("BGSAVE", text, "grant +bgsave") from None
            if "in progress" not in text.lower() or time.monotonic() > deadline:
                raise BackupError(f"BGSAVE failed: {text}") from None
            time.sleep(poll)  # a save or AOF rewrite is running: wait for it


def _wait_bgsave(
    conn: redis.Redis, spec: ConnectionSpec, before: dict[str, Any], poll: float, deadline: float
) -> None:
    """Until the save started after BEFORE has finished (a newer save time or one more fork)."""
    while True:
        time.sleep(poll)
        with translate_errors(spec, "INFO persistence"):
            now = _save_state(conn)
        finished = int(now.get("rdb_bgsave_in_progress", 0)) == 0 and (
            int(now.get("rdb_last_save_time", 0)) > int(before.get("rdb_last_save_time", 0))
            or int(now["saves"]) > int(before["saves"])
        )
        if finished:
            if now.get("rdb_last_bgsave_status") != "ok":
                raise BackupError(
                    "BGSAVE failed on the server (rdb_last_bgsave_status:err)",
                    "check the server log and its disk",
                )
            return
        if time.monotonic() > deadline:
            raise BackupError("BGSAVE did not finish in time")


def _copy_file(path: str, sink: Callable[[bytes], None], progress: ProgressFn | None) -> int:
    try:
        total = os.path.getsize(path)
        done = 0
        with open(path, "rb") as fh:
            while chunk := fh.read(CHUNK):
                sink(chunk)
                done += len(chunk)
                if progress:
                    progress(done, total)
        return done
    except PermissionError:
        raise BackupError(
            f"cannot read {path}: permission denied",
            "run as a user that can read the server's data dir, or --rdb-path",
        ) from None
    except FileNotFoundError:
        raise BackupError(
            f"{path} does not exist on this host",
            "--method bgsave needs the server's data dir locally (or --rdb-path)",
        ) from None


def _rdb_file(conn: redis.Redis, spec: ConnectionSpec) -> str:
    try:
        d = conn.config_get("dir").get("dir")
        f = conn.config_get("dbfilename").get("dbfilename")
    except redis.ResponseError as exc:
        raise BackupError(
            f"CONFIG GET dir/dbfilename was refused ({exc})",
            "pass --rdb-path with the RDB file's path",
        ) from None
    if not d or not f:
        raise BackupError("the server did not report its RDB path", "pass --rdb-path")
    return os.path.join(str(d), str(f))
