"""The restore drill of `backup verify --load`: each backup file loaded by a throwaway
redis-server, its keys per db compared with what the backup says it holds.

The throwaway server holds the whole dataset, so it is kept to this process: it listens on a
unix socket in a fresh 0700 directory (no TCP port) with a random password, dies with
rediscope (a parent-death signal set in the child, SIGTERM turned into an interrupt that stops
it, and a stop in `finally`), and leaves no files: the copy of the RDB is removed once loaded,
the directory when the server stops, and a directory whose owner was SIGKILLed by the next
drill.
"""

from __future__ import annotations

import contextlib
import ctypes
import os
import re
import secrets
import shutil
import signal
import subprocess
import tempfile
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import redis

from rediscope.core.info import identity, info, keyspace_dbs
from rediscope.core.rdbfile.check import check_file, open_decompressed, read_chunks
from rediscope.errors import RediscopeError

#: how long a load may take before the drill gives up on it
LOAD_TIMEOUT = 3600.0
WORK_PREFIX = "rediscope-load-"
PR_SET_PDEATHSIG = 1


@dataclass(frozen=True)
class LoadResult:
    """What the throwaway server made of one file."""

    ok: bool
    problem: str | None
    seconds: float | None  # from the server's start to its first answer after loading
    used_memory: int | None
    keys: dict[str, int] | None  # per db, as loaded
    expected: dict[str, int] | None  # per db, from the manifest (or --deep's own count)
    expired_on_load: int | None  # keys the server dropped as expired (7.0+ says)


class OlderLoader(Exception):
    """The loading server cannot read this RDB version: the backup is newer, not bad."""

    def __init__(self, rdb_version: int) -> None:
        super().__init__(f"RDB {rdb_version}")
        self.rdb_version = rdb_version


@dataclass(frozen=True)
class Loader:
    """The server program the drill loads with: who it is and the RDB version it writes."""

    name: str
    version: str
    rdb_version: int


def _die_with_parent(parent: int) -> None:
    """In the child, before exec: SIGKILL when rediscope dies (Linux; kept across exec)."""
    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL(None, use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGKILL)
    if os.getppid() != parent:  # rediscope died before the signal was set
        os._exit(1)


def _clean_stale() -> None:
    """Remove the work directories of drills whose rediscope is gone (SIGKILLed)."""
    for path in Path(tempfile.gettempdir()).glob(WORK_PREFIX + "*"):
        try:
            owner = int((path / "owner").read_text())
            os.kill(owner, 0)
        except ProcessLookupError:
            shutil.rmtree(path, ignore_errors=True)
        except (OSError, ValueError):
            continue


@contextlib.contextmanager
def interrupt_on_sigterm() -> Iterator[None]:
    """SIGTERM raises KeyboardInterrupt while the drill runs, so `finally` stops its server."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def interrupt(signum: int, frame: Any) -> None:
        raise KeyboardInterrupt

    previous = signal.signal(signal.SIGTERM, interrupt)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


class _Throwaway:
    """One redis-server on a unix socket in a private directory, password-protected."""

    def __init__(self, binary: str) -> None:
        _clean_stale()
        self.binary = binary
        self.work = Path(tempfile.mkdtemp(prefix=WORK_PREFIX))  # mode 0700
        (self.work / "owner").write_text(str(os.getpid()))
        self.password = secrets.token_hex(24)
        self.socket = self.work / "redis.sock"
        self.rdb = self.work / "dump.rdb"
        self.process: subprocess.Popen[bytes] | None = None

    def start(self, wait: float) -> None:
        """Start it and wait until it answers (RediscopeError: it did not; the log says why)."""
        conf = self.work / "redis.conf"
        conf.write_text(
            "port 0\n"
            f'unixsocket "{self.socket}"\nunixsocketperm 700\n'
            f"requirepass {self.password}\n"
            f'dir "{self.work}"\ndbfilename dump.rdb\n'
            'save ""\nappendonly no\ndaemonize no\n'
            f'logfile "{self.work / "redis.log"}"\n'
        )
        conf.chmod(0o600)
        parent = os.getpid()
        self.process = subprocess.Popen(
            [self.binary, str(conf)],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            preexec_fn=lambda: _die_with_parent(parent),
            start_new_session=True,
        )
        deadline = time.monotonic() + wait
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RediscopeError(self.startup_error())
            if self._answers():
                return
            time.sleep(0.02)
        raise RediscopeError(f"no answer after {wait:.0f} s")

    def _answers(self) -> bool:
        if not self.socket.exists():
            return False
        conn = self.client(timeout=5)
        try:
            return bool(conn.ping())
        except (OSError, redis.RedisError):
            return False  # still loading, or not listening yet
        finally:
            conn.close()

    def client(self, timeout: float = 30) -> redis.Redis:
        return redis.Redis(
            unix_socket_path=str(self.socket), password=self.password, socket_timeout=timeout
        )

    def startup_error(self) -> str:
        """Why it did not come up: its stderr (config errors), else its log's last lines."""
        proc = self.process
        if proc is not None and proc.stderr is not None:
            err = [ln for ln in proc.stderr.read().decode(errors="replace").splitlines() if ln]
            if err:
                return " ".join(ln.strip() for ln in err[-3:])
        log = self.work / "redis.log"
        text = log.read_text(errors="replace") if log.exists() else ""
        lines = [ln.split(" * ")[-1].split(" # ")[-1] for ln in text.splitlines() if ln.strip()]
        return lines[-1] if lines else "no log"

    def newer_rdb(self) -> int | None:
        """The RDB version the server's log says it cannot handle (None: it says no such thing)."""
        log = self.work / "redis.log"
        text = log.read_text(errors="replace") if log.exists() else ""
        match = re.search(r"Can't handle RDB format version (\d+)", text)
        return int(match.group(1)) if match else None

    def stop(self) -> None:
        """SIGTERM by PID (SIGKILL after 5 s), then remove the directory."""
        proc = self.process
        if proc is not None and proc.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                proc.terminate()
            try:
                proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                with contextlib.suppress(ProcessLookupError):
                    proc.kill()
                proc.wait(timeout=5)
        if proc is not None and proc.stderr is not None:
            proc.stderr.close()
        self.process = None
        shutil.rmtree(self.work, ignore_errors=True)


def loader_of(binary: str) -> Loader:
    """Who BINARY is and the RDB version it writes: an empty throwaway server SAVEs once."""
    server = _Throwaway(binary)
    try:
        server.start(wait=60)
        conn = server.client()
        try:
            ident = identity(info(conn, "server"))
            conn.save()
        finally:
            conn.close()
        return Loader(ident.name, ident.version, check_file(server.rdb).version)
    except (OSError, redis.RedisError, RediscopeError) as exc:
        message = exc.message if isinstance(exc, RediscopeError) else str(exc)
        raise RediscopeError(f"{Path(binary).name} did not start: {message}") from None
    finally:
        server.stop()


def _compare(loaded: dict[str, int], expected: dict[str, int], expired: int | None) -> str | None:
    """Why LOADED does not match EXPECTED (None: it does). Keys that expired since the backup
    are dropped by the loading server: a shortfall it reports as expired is not a mismatch."""
    dbs = sorted(set(loaded) | set(expected))
    short = {d: expected.get(d, 0) - loaded.get(d, 0) for d in dbs}
    more = [d for d, n in short.items() if n < 0]
    if more:
        return "loaded more keys than the backup holds in " + ", ".join(more)
    missing = sum(short.values())
    if missing and missing != (expired or 0):
        detail = ", ".join(f"{d}: {loaded.get(d, 0):,} of {expected.get(d, 0):,}" for d in dbs)
        return f"loaded a different number of keys ({detail})"
    return None


def load_file(path: Path, expected: dict[str, int] | None, server_bin: str) -> LoadResult:
    """Load a copy of PATH (decompressed) into a throwaway server and count what it holds."""
    server = _Throwaway(server_bin)
    try:
        with open_decompressed(path) as src, server.rdb.open("wb") as dst:
            for chunk in read_chunks(src):
                dst.write(chunk)
        started = time.monotonic()
        try:
            server.start(wait=LOAD_TIMEOUT)
        except RediscopeError as exc:
            newer = server.newer_rdb()
            if newer is not None:
                raise OlderLoader(newer) from None
            return LoadResult(
                False, f"does not load: {exc.message}", None, None, None, expected, None
            )
        seconds = round(time.monotonic() - started, 3)
        server.rdb.unlink()  # loaded: the data lives in the server's memory only
        conn = server.client()
        try:
            data = info(conn, "keyspace", "memory", "persistence")
        finally:
            conn.close()
    except (OSError, EOFError, redis.RedisError) as exc:
        return LoadResult(False, f"does not load: {exc}", None, None, None, expected, None)
    finally:
        server.stop()
    loaded = {f"db{d}": n for d, n in keyspace_dbs(data).items()}
    raw_expired = data.get("rdb_last_load_keys_expired")
    expired = int(raw_expired) if raw_expired is not None else None
    problem = None if expected is None else _compare(loaded, expected, expired)
    used = int(data.get("used_memory", 0)) or None
    return LoadResult(problem is None, problem, seconds, used, loaded, expected, expired)
