"""`rediscope backup`: verified, rotated RDB backups; nothing is ever half-written.

A backup is a set of files sharing a base name `<name>-<UTC YYYYmmddTHHMMSSZ>`:
`<base>.rdb.gz` (one per shard on a cluster: `<base>.<node8>.<slots>.rdb.gz`), a `.sha256`
beside each (sha256sum -c format), and `<base>.manifest.json`, written last: a backup without
its manifest does not exist for list, verify, prune or health.

Every file is written to a temp file created exclusively in the destination, checked (RDB magic,
version, EOF opcode, CRC-64), fsynced, renamed into place, and the directory fsynced. An
exclusive flock on the directory keeps two runs apart (the second exits 75, naming the holder);
temp files of a killed run are removed by the next run.
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import gzip
import hashlib
import json
import os
import re
import signal
import socket
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import IO, Any, ClassVar

import redis

from rediscope import __version__
from rediscope.core.connection import ConnectionSpec, client
from rediscope.core.failures import describe_error, is_denied, translate_errors
from rediscope.core.info import identity, info, keyspace_dbs
from rediscope.core.rdb import CHUNK, RdbCheck, RdbError, RdbStreamChecker, check_file
from rediscope.core.resp import RawConnection
from rediscope.core.target import Node, Target, discover, node_spec
from rediscope.errors import BusyError, CommandDenied, RediscopeError, UsageError

TEMP_PREFIX = ".rediscope-tmp-"
LOCK_NAME = ".rediscope.lock"
TS_FORMAT = "%Y%m%dT%H%M%SZ"
_BASE = re.compile(r"^(?P<name>.+)-(?P<ts>\d{8}T\d{6}Z)$")
ProgressFn = Callable[[int, int | None], None]  # (bytes so far, total or None)


class BackupError(RediscopeError):
    """The backup failed; nothing new was kept and nothing was pruned."""


# ---------------------------------------------------------------------------------------------
# the lock


@contextlib.contextmanager
def dir_lock(dest: Path) -> Iterator[None]:
    """An exclusive flock on DEST; a second holder gets BusyError (exit 75) naming the first."""
    path = dest / LOCK_NAME
    try:
        fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
    except OSError as exc:
        raise BackupError(
            f"cannot create the lock file in {dest}: {exc.strerror}", "is the directory writable?"
        ) from None
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = os.pread(fd, 200, 0).decode(errors="replace").strip() or "another process"
            raise BusyError(
                f"another backup holds the lock on {dest} ({holder})",
                "wait for it to finish; cron runs that overlap are skipped",
            ) from None
        os.ftruncate(fd, 0)
        os.pwrite(
            fd,
            f"pid {os.getpid()} on {socket.gethostname()} since "
            f"{datetime.now(timezone.utc):%Y-%m-%dT%H:%M:%SZ}\n".encode(),
            0,
        )
        yield
    finally:
        os.close(fd)


def clean_temp_files(dest: Path) -> int:
    """Remove temp files a killed run left (call with the lock held)."""
    removed = 0
    for leftover in dest.glob(TEMP_PREFIX + "*"):
        with contextlib.suppress(OSError):
            leftover.unlink()
            removed += 1
    return removed


def fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


# ---------------------------------------------------------------------------------------------
# writing one file


class _HashingFile:
    """Counts and hashes what the compressor writes to the temp file."""

    def __init__(self, fh: IO[bytes]) -> None:
        self.fh = fh
        self.sha = hashlib.sha256()
        self.size = 0

    def write(self, data: bytes) -> int:
        self.fh.write(data)
        self.sha.update(data)
        self.size += len(data)
        return len(data)

    def flush(self) -> None:
        self.fh.flush()


@dataclass
class _Written:
    temp: Path
    final_name: str
    check: RdbCheck
    sha256: str
    bytes: int
    bytes_raw: int
    node: str | None = None
    node_id: str | None = None
    slots: list[list[int]] = field(default_factory=list)
    keys: dict[str, int] = field(default_factory=dict)
    server: str = ""


class _FileWriter:
    """raw RDB bytes -> checker + compressor -> exclusive temp file in DEST."""

    def __init__(self, dest: Path, compression: str) -> None:
        self.dest = dest
        fd, name = _mkstemp(dest)
        self.temp = Path(name)
        self.raw = os.fdopen(fd, "wb")
        self.out = _HashingFile(self.raw)
        self.checker = RdbStreamChecker()
        self.compressor: Any
        if compression == "gzip":
            self.compressor = gzip.GzipFile(
                fileobj=self.out,
                mode="wb",
                compresslevel=3,
                mtime=0,
            )
        elif compression == "zstd":
            import zstandard

            self.compressor = zstandard.ZstdCompressor(level=3).stream_writer(
                self.out, closefd=False
            )
        else:
            self.compressor = self.out

    def write(self, data: bytes) -> None:
        self.checker.feed(data)
        try:
            self.compressor.write(data)
        except OSError as exc:  # a disk error, not a connection error
            raise _disk_error(exc, self.dest) from None

    def finish(self) -> tuple[RdbCheck, str, int]:
        try:
            if self.compressor is not self.out:
                self.compressor.close()
            self.raw.flush()
            os.fsync(self.raw.fileno())
            self.raw.close()
        except OSError as exc:
            raise _disk_error(exc, self.dest) from None
        return self.checker.finish(), self.out.sha.hexdigest(), self.out.size

    def abort(self) -> None:
        with contextlib.suppress(Exception):
            self.raw.close()
        with contextlib.suppress(OSError):
            self.temp.unlink()


def _mkstemp(dest: Path) -> tuple[int, str]:
    import tempfile

    try:
        return tempfile.mkstemp(prefix=TEMP_PREFIX, dir=dest)  # O_CREAT | O_EXCL
    except OSError as exc:
        raise _disk_error(exc, dest) from None


def _disk_error(exc: OSError, dest: Path) -> BackupError:
    if exc.errno in (errno.ENOSPC, errno.EDQUOT, errno.EFBIG):
        return BackupError(
            f"disk full writing to {dest}: {exc.strerror}",
            "free space or prune old backups; nothing was kept",
        )
    if exc.errno in (errno.EACCES, errno.EPERM, errno.EROFS):
        return BackupError(
            f"cannot write to {dest}: {exc.strerror}", "check the directory's permissions"
        )
    return BackupError(f"writing to {dest} failed: {exc.strerror or exc}")


# ---------------------------------------------------------------------------------------------
# getting the RDB: SYNC stream or BGSAVE + copy


def stream_sync(
    spec: ConnectionSpec, sink: Callable[[bytes], None], progress: ProgressFn | None = None
) -> int:
    """The RDB over the replication protocol, as `redis-cli --rdb` gets it. Handles the
    `$<len>` (disk) and `$EOF:<40-byte mark>` (diskless) transfers; constant memory."""
    conn = RawConnection(spec, db=0)
    try:
        for args in ((b"REPLCONF", b"capa", b"eof"), (b"REPLCONF", b"rdb-only", b"1")):
            reply = conn.call(*args)
            if is_denied(reply) and args[1] == b"capa":
                raise CommandDenied(
                    "REPLCONF/SYNC", str(reply), "grant +sync +replconf, or use --method bgsave"
                )
        conn.send(b"SYNC\r\n")
        header = _read_line(conn)
        if header.startswith(b"-"):
            text = header[1:].decode(errors="replace")
            if is_denied(text):
                raise CommandDenied("SYNC", text, "grant +sync, or use --method bgsave")
            raise BackupError(f"the server refused SYNC: {text}")
        if not header.startswith(b"$"):
            raise BackupError(f"unexpected reply to SYNC: {header[:40]!r}")
        if header.startswith(b"$EOF:"):
            mark = header[5:]
            if len(mark) != 40:
                raise BackupError("malformed diskless transfer header")
            return _stream_until_mark(conn, mark, sink, progress)
        total = int(header[1:])
        done = 0
        while done < total:
            chunk = conn.recv_raw(min(CHUNK, total - done))
            if not chunk:
                raise BackupError(
                    f"the server closed the connection after {done:,} of {total:,} bytes"
                )
            sink(chunk)
            done += len(chunk)
            if progress:
                progress(done, total)
        return done
    except (redis.RedisError, OSError) as exc:
        raise describe_error(exc, spec, "SYNC") from None
    finally:
        conn.close()


def _read_line(conn: RawConnection) -> bytes:
    """The SYNC reply header; the server sends bare newlines as keepalives while it prepares."""
    buf = b""
    while True:
        ch = conn.recv_raw(1)
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
    conn: RawConnection, mark: bytes, sink: Callable[[bytes], None], progress: ProgressFn | None
) -> int:
    tail = b""
    done = 0
    while True:
        chunk = conn.recv_raw(CHUNK)
        if not chunk:
            raise BackupError(
                f"the server closed the connection after {done:,} bytes of a diskless transfer"
            )
        buf = tail + chunk
        if buf.endswith(mark):
            body = buf[: -len(mark)]
            sink(body)
            return done + len(body)
        keep = len(mark)
        if len(buf) > keep:
            sink(buf[:-keep])
            done += len(buf) - keep
            tail = buf[-keep:]
        else:
            tail = buf
        if progress:
            progress(done, None)


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
    try:
        with translate_errors(spec, "INFO persistence"):
            before = _save_state(conn)
        path = rdb_path or _rdb_file(conn, spec)
        deadline = time.monotonic() + timeout
        while True:
            try:
                conn.bgsave()
                break
            except redis.ResponseError as exc:
                text = str(exc)
                if is_denied(text):
                    raise CommandDenied("BGSAVE", text, "grant +bgsave") from None
                if "in progress" not in text.lower() or time.monotonic() > deadline:
                    raise BackupError(f"BGSAVE failed: {text}") from None
                time.sleep(poll)  # a save or AOF rewrite is running: wait for it
                before = _save_state(conn)
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
                break
            if time.monotonic() > deadline:
                raise BackupError("BGSAVE did not finish in time")
    finally:
        conn.close()
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


# ---------------------------------------------------------------------------------------------
# backup run


@dataclass(frozen=True)
class BackupFile:
    file: str
    sha256: str
    bytes: int
    bytes_raw: int
    crc64: str
    crc_checked: bool
    rdb_version: int
    node: str | None
    node_id: str | None
    slots: list[list[int]]
    keys: dict[str, int]


@dataclass(frozen=True)
class BackupRunReport:
    command: ClassVar[str] = "backup run"
    target: Target
    complete: bool
    name: str
    directory: str
    manifest: str
    method: str
    compression: str
    files: tuple[BackupFile, ...]
    bytes: int
    bytes_raw: int
    seconds: float
    pruned: tuple[str, ...]
    notes: tuple[str, ...]


def _safe_name(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]+", "_", text).strip("._-") or "redis"


def default_name(spec: ConnectionSpec) -> str:
    return (
        _safe_name(spec.path or "socket")
        if spec.scheme == "unix"
        else _safe_name(f"{spec.host}-{spec.port}")
    )


def _slot_label(slots: tuple[tuple[int, int], ...]) -> str:
    return "_".join(f"{a}-{b}" for a, b in slots) or "noslots"


def run_backup(
    spec: ConnectionSpec,
    dest: Path,
    name: str | None = None,
    method: str = "sync",
    compression: str = "gzip",
    rdb_path: str | None = None,
    policy: RetentionPolicy | None = None,
    progress: ProgressFn | None = None,
    now: Callable[[], datetime] | None = None,
) -> BackupRunReport:
    if compression not in ("gzip", "zstd", "none"):
        raise UsageError("--compress must be gzip, zstd or none")
    if compression == "zstd":
        try:
            import zstandard  # noqa: F401
        except ImportError:
            raise UsageError(
                "--compress zstd needs the zstandard package",
                "pip install 'rediscope[zstd]', or --compress gzip",
            ) from None
    if method not in ("sync", "bgsave", "auto"):
        raise UsageError("--method must be sync, bgsave or auto")
    if not dest.is_dir():
        raise BackupError(f"{dest} is not a directory", "create it first")
    started = time.monotonic()
    if hasattr(signal, "SIGXFSZ"):  # a file-size limit must be an EFBIG error, not a kill
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
    target, ident, conn = discover(spec)
    conn.close()
    name = _safe_name(name) if name else default_name(spec)
    with dir_lock(dest):
        notes: list[str] = []
        cleaned = clean_temp_files(dest)
        if cleaned:
            notes.append(f"removed {cleaned} temp file(s) left by an interrupted run")
        clock = now or (lambda: datetime.now(timezone.utc))
        stamp = clock()
        base = f"{name}-{stamp:{TS_FORMAT}}"
        while (dest / f"{base}.manifest.json").exists():  # never reuse a name
            time.sleep(0.2)
            stamp = clock()
            base = f"{name}-{stamp:{TS_FORMAT}}"
        ext = {"gzip": ".rdb.gz", "zstd": ".rdb.zst", "none": ".rdb"}[compression]
        if target.mode == "cluster":
            shards = [
                (
                    n,
                    node_spec(spec, n),
                    f"{base}.{(n.node_id or 'node')[:8]}.{_slot_label(n.slots)}{ext}",
                )
                for n in target.primaries
            ]
        else:
            shards = [(target.nodes[0], spec, f"{base}{ext}")]
        used_method = method
        results: list[_Written] = []
        writers: list[_FileWriter] = []
        try:

            def one(item: tuple[Node, ConnectionSpec, str]) -> _Written:
                node, one_spec, final = item
                writer = _FileWriter(dest, compression)
                writers.append(writer)
                return _backup_one(
                    one_spec,
                    node,
                    writer,
                    final,
                    method,
                    rdb_path,
                    progress if len(shards) == 1 else None,
                    notes,
                )

            with ThreadPoolExecutor(max_workers=max(1, len(shards))) as pool:
                results = list(pool.map(one, shards))
            used_method = notes_method(notes, method)
            for written in results:  # verify what is on disk, decompressing as a stream
                try:
                    again = check_file(written.temp, compression)
                except RdbError as exc:
                    raise BackupError(f"verification of the written file failed: {exc}") from None
                if again.crc != written.check.crc or again.size != written.bytes_raw:
                    raise BackupError(
                        "verification failed: the file on disk differs from the stream"
                    )
            for written in results:
                os.replace(written.temp, dest / written.final_name)
                _write_atomic(
                    dest,
                    f"{written.final_name}.sha256",
                    f"{written.sha256}  {written.final_name}\n",
                )
            files = tuple(
                BackupFile(
                    file=w.final_name,
                    sha256=w.sha256,
                    bytes=w.bytes,
                    bytes_raw=w.bytes_raw,
                    crc64=f"{w.check.crc:016x}",
                    crc_checked=w.check.crc_checked,
                    rdb_version=w.check.version,
                    node=w.node,
                    node_id=w.node_id,
                    slots=w.slots,
                    keys=w.keys,
                )
                for w in results
            )
            if any(not f.crc_checked for f in files):
                notes.append(
                    "the server has rdbchecksum no: the RDB carries no CRC, so only "
                    "its structure could be checked"
                )
            finished = datetime.now(timezone.utc)
            manifest = {
                "tool": "rediscope",
                "version": __version__,
                "format": 1,
                "name": name,
                "base": base,
                "created_at": f"{stamp:%Y-%m-%dT%H:%M:%SZ}",
                "finished_at": f"{finished:%Y-%m-%dT%H:%M:%SZ}",
                "finished_at_epoch": finished.timestamp(),
                "target": spec.redacted_url,
                "mode": target.mode,
                "server": {"name": ident.name, "version": ident.version},
                "method": used_method,
                "compression": compression,
                "verified": True,
                "duration_s": round(time.monotonic() - started, 3),
                "files": [_jsonable(f) for f in files],
            }
            manifest_name = f"{base}.manifest.json"
            _write_atomic(dest, manifest_name, json.dumps(manifest, indent=2) + "\n")
            fsync_dir(dest)
        except OSError as exc:
            for writer in writers:
                writer.abort()
            raise _disk_error(exc, dest) from None
        except BaseException:
            for writer in writers:
                writer.abort()
            raise
        pruned: tuple[str, ...] = ()
        if policy is not None and policy.any():
            plan = plan_prune(list_backups(dest), policy)
            pruned = tuple(delete_backups(dest, plan.remove))
    return BackupRunReport(
        target=target,
        complete=True,
        name=name,
        directory=str(dest),
        manifest=manifest_name,
        method=used_method,
        compression=compression,
        files=files,
        bytes=sum(f.bytes for f in files),
        bytes_raw=sum(f.bytes_raw for f in files),
        seconds=round(time.monotonic() - started, 3),
        pruned=pruned,
        notes=tuple(notes),
    )


def notes_method(notes: list[str], method: str) -> str:
    if method != "auto":
        return method
    return "bgsave" if any("fell back to BGSAVE" in n for n in notes) else "sync"


def _backup_one(
    spec: ConnectionSpec,
    node: Node,
    writer: _FileWriter,
    final: str,
    method: str,
    rdb_path: str | None,
    progress: ProgressFn | None,
    notes: list[str],
) -> _Written:
    conn = client(spec)
    try:
        with translate_errors(spec, "INFO"):
            data = info(conn)
    finally:
        conn.close()
    keys = {f"db{d}": n for d, n in keyspace_dbs(data).items()}
    if method in ("sync", "auto"):
        try:
            stream_sync(spec, writer.write, progress)
        except CommandDenied as exc:
            if method == "sync":
                raise
            # SYNC is refused before any byte is written: the writer is still empty
            notes.append(f"SYNC is not allowed ({exc.message}); fell back to BGSAVE")
            bgsave_copy(spec, rdb_path, writer.write, progress)
    else:
        bgsave_copy(spec, rdb_path, writer.write, progress)
    try:
        check, sha, size = writer.finish()
    except RdbError as exc:
        raise BackupError(f"the RDB from {node.address} is not valid: {exc}") from None
    return _Written(
        temp=writer.temp,
        final_name=final,
        check=check,
        sha256=sha,
        bytes=size,
        bytes_raw=check.size,
        node=node.address,
        node_id=node.node_id,
        slots=[list(s) for s in node.slots],
        keys=keys,
        server=identity(data).version,
    )


def _jsonable(f: BackupFile) -> dict[str, Any]:
    return {k: getattr(f, k) for k in f.__dataclass_fields__}


def _write_atomic(dest: Path, name: str, text: str) -> None:
    fd, tmp = _mkstemp(dest)
    try:
        with os.fdopen(fd, "w") as fh:
            fh.write(text)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, dest / name)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise


# ---------------------------------------------------------------------------------------------
# list, verify


@dataclass(frozen=True)
class BackupInfo:
    base: str
    name: str
    time: datetime
    manifest: str
    files: tuple[str, ...]
    bytes: int
    bytes_raw: int
    rdb_version: int | None
    keys: int
    verified: bool
    mode: str
    raw: dict[str, Any] = field(default_factory=dict, repr=False, metadata={"json_skip": True})


def list_backups(dest: Path) -> list[BackupInfo]:
    """Backups this tool made (a manifest naming its files), newest first."""
    out = []
    for path in dest.glob("*.manifest.json"):
        base = path.name[: -len(".manifest.json")]
        m = _BASE.match(base)
        if not m:
            continue
        try:
            data = json.loads(path.read_text())
        except (OSError, ValueError):
            continue
        if data.get("tool") != "rediscope" or not isinstance(data.get("files"), list):
            continue
        files = tuple(
            str(f.get("file"))
            for f in data["files"]
            if str(f.get("file", "")).startswith(base + ".")
        )
        when = datetime.strptime(m.group("ts"), TS_FORMAT).replace(tzinfo=timezone.utc)
        out.append(
            BackupInfo(
                base=base,
                name=m.group("name"),
                time=when,
                manifest=path.name,
                files=files,
                bytes=sum(int(f.get("bytes", 0)) for f in data["files"]),
                bytes_raw=sum(int(f.get("bytes_raw", 0)) for f in data["files"]),
                rdb_version=next((f.get("rdb_version") for f in data["files"]), None),
                keys=sum(sum(f.get("keys", {}).values()) for f in data["files"]),
                verified=bool(data.get("verified")),
                mode=str(data.get("mode", "standalone")),
                raw=data,
            )
        )
    return sorted(out, key=lambda b: (b.time, b.base), reverse=True)


@dataclass(frozen=True)
class FileVerdict:
    file: str
    ok: bool
    problem: str | None
    rdb_version: int | None
    crc64: str | None


@dataclass(frozen=True)
class VerifyReport:
    command: ClassVar[str] = "backup verify"
    target: Target
    complete: bool
    path: str
    files: tuple[FileVerdict, ...]
    ok: bool


def sha256_of(path: Path) -> str:
    sha = hashlib.sha256()
    with path.open("rb") as fh:
        while chunk := fh.read(CHUNK):
            sha.update(chunk)
    return sha.hexdigest()


def verify_file(path: Path) -> FileVerdict:
    """sha256 (against the .sha256 beside it, when there is one) and the RDB checks."""
    side = path.with_name(path.name + ".sha256")
    try:
        if side.exists():
            expected = side.read_text().split()[0]
            if sha256_of(path) != expected:
                return FileVerdict(path.name, False, "sha256 mismatch", None, None)
        check = check_file(path)
    except (OSError, IndexError) as exc:
        return FileVerdict(path.name, False, f"unreadable: {exc}", None, None)
    except RdbError as exc:
        return FileVerdict(path.name, False, str(exc), None, None)
    return FileVerdict(path.name, True, None, check.version, f"{check.crc:016x}")


def verify(path: Path) -> VerifyReport:
    if path.is_dir():
        targets = [path / f for b in list_backups(path) for f in b.files]
        listed = {t.name for t in targets}
        targets += [
            p
            for p in sorted(path.glob("*.rdb*"))
            if not p.name.endswith(".sha256")
            and p.name not in listed
            and not p.name.startswith(TEMP_PREFIX)
        ]
    elif path.exists():
        targets = [path]
    else:
        raise UsageError(f"{path} does not exist")
    verdicts = []
    for t in targets:
        verdicts.append(
            verify_file(t)
            if t.exists()
            else FileVerdict(t.name, False, "missing (listed in its manifest)", None, None)
        )
    return VerifyReport(
        target=_local_target(path),
        complete=True,
        path=str(path),
        files=tuple(verdicts),
        ok=all(v.ok for v in verdicts),
    )


def _local_target(path: Path) -> Target:
    return Target(url=f"file://{path.resolve()}", mode="standalone", nodes=())


# ---------------------------------------------------------------------------------------------
# retention (restic's forget semantics)


@dataclass(frozen=True)
class RetentionPolicy:
    last: int = 0
    hourly: int = 0
    daily: int = 0
    weekly: int = 0
    monthly: int = 0
    yearly: int = 0
    within: timedelta | None = None

    def any(self) -> bool:
        return bool(
            self.last
            or self.hourly
            or self.daily
            or self.weekly
            or self.monthly
            or self.yearly
            or self.within
        )

    def validate(self) -> None:
        for name in ("last", "hourly", "daily", "weekly", "monthly", "yearly"):
            if getattr(self, name) < 0:
                raise UsageError(f"--keep-{name} must be >= 0")


_BUCKETS: dict[str, Callable[[datetime], Any]] = {
    "hourly": lambda t: (t.year, t.month, t.day, t.hour),
    "daily": lambda t: (t.year, t.month, t.day),
    "weekly": lambda t: t.isocalendar()[:2],  # ISO year and week
    "monthly": lambda t: (t.year, t.month),
    "yearly": lambda t: t.year,
}


@dataclass(frozen=True)
class PrunePlan:
    keep: dict[str, tuple[str, ...]]  # base -> the rules that keep it
    remove: tuple[str, ...]  # bases


def plan_prune(backups: list[BackupInfo], policy: RetentionPolicy) -> PrunePlan:
    """restic forget: rules combine with OR; a bucket counts only if it has a backup; the newest
    verified backup is always kept. Buckets are in UTC."""
    policy.validate()
    ordered = sorted(backups, key=lambda b: (b.time, b.base), reverse=True)
    reasons: dict[str, list[str]] = {b.base: [] for b in ordered}
    if not policy.any():
        return PrunePlan({b.base: ("no policy",) for b in ordered}, ())
    for b in ordered[: policy.last]:
        reasons[b.base].append("last")
    for rule, key in _BUCKETS.items():
        remaining = getattr(policy, rule)
        last_bucket: Any = None
        for b in ordered:
            if remaining <= 0:
                break
            bucket = key(b.time)
            if bucket != last_bucket:
                reasons[b.base].append(rule)
                last_bucket = bucket
                remaining -= 1
    if policy.within is not None and ordered:
        newest = ordered[0].time
        for b in ordered:
            if b.time >= newest - policy.within:
                reasons[b.base].append("within")
    newest_verified = next((b for b in ordered if b.verified), None)
    if newest_verified is not None and not reasons[newest_verified.base]:
        reasons[newest_verified.base].append("newest verified")
    keep = {base: tuple(r) for base, r in reasons.items() if r}
    remove = tuple(b.base for b in ordered if b.base not in keep)
    return PrunePlan(keep, remove)


def delete_backups(dest: Path, bases: tuple[str, ...]) -> list[str]:
    """Delete whole backups: the manifest first (so a half-deleted one is never listed), then
    the files it names and their .sha256. Only names this tool made are touched."""
    by_base = {b.base: b for b in list_backups(dest)}
    deleted = []
    for base in bases:
        backup = by_base.get(base)
        if backup is None:
            continue
        with contextlib.suppress(FileNotFoundError):
            (dest / backup.manifest).unlink()
        for f in backup.files:
            for path in (dest / f, dest / f"{f}.sha256"):
                with contextlib.suppress(FileNotFoundError):
                    path.unlink()
        deleted.append(base)
    if deleted:
        fsync_dir(dest)
    return deleted


@dataclass(frozen=True)
class ListedBackup:
    base: str
    time: str
    age_s: float
    files: tuple[str, ...]
    bytes: int
    bytes_raw: int
    ratio: float | None
    rdb_version: int | None
    keys: int
    verified: bool
    keep: tuple[str, ...] | None = None  # with prune: the rules that keep it


@dataclass(frozen=True)
class BackupListReport:
    command: ClassVar[str] = "backup list"
    target: Target
    complete: bool
    directory: str
    backups: tuple[ListedBackup, ...]


@dataclass(frozen=True)
class PruneReport:
    command: ClassVar[str] = "backup prune"
    target: Target
    complete: bool
    directory: str
    dry_run: bool
    kept: tuple[ListedBackup, ...]
    removed: tuple[ListedBackup, ...]


def _listed(b: BackupInfo, now: datetime, keep: tuple[str, ...] | None = None) -> ListedBackup:
    return ListedBackup(
        base=b.base,
        time=f"{b.time:%Y-%m-%dT%H:%M:%SZ}",
        age_s=round((now - b.time).total_seconds(), 1),
        files=b.files,
        bytes=b.bytes,
        bytes_raw=b.bytes_raw,
        ratio=round(b.bytes / b.bytes_raw, 4) if b.bytes_raw else None,
        rdb_version=b.rdb_version,
        keys=b.keys,
        verified=b.verified,
        keep=keep,
    )


def list_report(dest: Path) -> BackupListReport:
    if not dest.is_dir():
        raise UsageError(f"{dest} is not a directory")
    now = datetime.now(timezone.utc)
    return BackupListReport(
        target=_local_target(dest),
        complete=True,
        directory=str(dest),
        backups=tuple(_listed(b, now) for b in list_backups(dest)),
    )


def prune(dest: Path, policy: RetentionPolicy, dry_run: bool = False) -> PruneReport:
    if not dest.is_dir():
        raise UsageError(f"{dest} is not a directory")
    if not policy.any():
        raise UsageError(
            "no --keep-* option given: refusing to remove every backup",
            "e.g. --keep-daily 7 --keep-weekly 4",
        )
    now = datetime.now(timezone.utc)
    with dir_lock(dest):
        backups = list_backups(dest)
        plan = plan_prune(backups, policy)
        if not dry_run:
            delete_backups(dest, plan.remove)
    by_base = {b.base: b for b in backups}
    return PruneReport(
        target=_local_target(dest),
        complete=True,
        directory=str(dest),
        dry_run=dry_run,
        kept=tuple(_listed(by_base[b], now, r) for b, r in plan.keep.items()),
        removed=tuple(_listed(by_base[b], now) for b in plan.remove),
    )
