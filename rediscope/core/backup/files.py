"""Backup files on disk: names, the directory lock, exclusive temp files written, checked,
fsynced and renamed into place."""

from __future__ import annotations

import contextlib
import errno
import fcntl
import gzip
import hashlib
import os
import re
import socket
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import IO, Any

from rediscope.core.rdbfile.check import RdbCheck, RdbStreamChecker
from rediscope.errors import BusyError, RediscopeError

TEMP_PREFIX = ".rediscope-tmp-"


LOCK_NAME = ".rediscope.lock"


TS_FORMAT = "%Y%m%dT%H%M%SZ"


BASE_NAME = re.compile(r"^(?P<name>.+)-(?P<ts>\d{8}T\d{6}Z)$")


ProgressFn = Callable[[int, int | None], None]  # (bytes so far, total or None)


class BackupError(RediscopeError):
    """The backup failed; nothing new was kept and nothing was pruned."""


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


def temp_writer(name: str) -> int | None:
    """The PID of the process writing temp file NAME (`.rediscope-tmp-<pid>-…`), if it is
    alive on this host (None: its writer is gone, or an older version's name without one)."""
    pid, sep, _ = name[len(TEMP_PREFIX) :].partition("-")
    if not (sep and pid.isdigit()) or int(pid) <= 0:
        return None
    try:
        os.kill(int(pid), 0)
    except ProcessLookupError:
        return None
    except PermissionError:  # alive, another user's
        pass
    return int(pid)


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
class Written:
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
    method: str = "sync"  # how the bytes were fetched: sync or bgsave


class FileWriter:
    """raw RDB bytes -> checker + compressor -> exclusive temp file in DEST."""

    def __init__(self, dest: Path, compression: str) -> None:
        self.dest = dest
        fd, name = mkstemp_in(dest)
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
            raise disk_error(exc, self.dest) from None

    def finish(self) -> tuple[RdbCheck, str, int]:
        try:
            if self.compressor is not self.out:
                self.compressor.close()
            self.raw.flush()
            os.fsync(self.raw.fileno())
            self.raw.close()
        except OSError as exc:
            raise disk_error(exc, self.dest) from None
        return self.checker.finish(), self.out.sha.hexdigest(), self.out.size

    def abort(self) -> None:
        with contextlib.suppress(Exception):
            self.raw.close()
        with contextlib.suppress(OSError):
            self.temp.unlink()


def mkstemp_in(dest: Path) -> tuple[int, str]:
    import tempfile

    try:
        # the writer's PID in the name: list and verify tell a live run from a killed one's
        return tempfile.mkstemp(prefix=f"{TEMP_PREFIX}{os.getpid()}-", dir=dest)  # O_EXCL
    except OSError as exc:
        raise disk_error(exc, dest) from None


def disk_error(exc: OSError, dest: Path) -> BackupError:
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


def stage_text(dest: Path, text: str) -> Path:
    """TEXT in a fresh temp file in DEST, fsynced, not yet in place (see `publish`)."""
    fd, tmp = mkstemp_in(dest)
    try:
        with os.fdopen(fd, "w") as fh:
            fh.write(text)
            fh.flush()
            os.fsync(fh.fileno())
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise
    return Path(tmp)


def publish(dest: Path, staged: list[tuple[Path, str]]) -> None:
    """The commit point: rename each staged temp file to its name, in order (the manifest
    last), never over a file already there, then fsync the directory. On any failure every
    piece already in place is removed again, with every temp file, and the error goes on:
    nothing of the backup stays."""
    placed: list[Path] = []
    try:
        for temp, name in staged:
            final = dest / name
            if os.path.lexists(final):
                raise BackupError(
                    f"cannot put {name} in place in {dest}: something of that name is in the way",
                    "move it away; nothing was kept",
                )
            os.rename(temp, final)
            placed.append(final)
        fsync_dir(dest)
    except BaseException:
        for path in [*placed, *(temp for temp, _ in staged)]:
            with contextlib.suppress(OSError):
                path.unlink()
        with contextlib.suppress(OSError):
            fsync_dir(dest)
        raise
