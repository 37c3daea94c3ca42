"""Demo servers left running by `rediscope demo --serve`, and `rediscope demo --stop`.

Each served server is recorded (pid, port, data dir) in the user's state dir, so `--stop`
can end it and remove its data dir without the user hunting for either.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import time
from dataclasses import dataclass
from pathlib import Path

from rediscope.core.config import state_dir
from rediscope.core.localserver import PROGRAM_NAMES, LocalServer


@dataclass(frozen=True)
class ServedServer:
    pid: int
    port: int
    dir: str


def state_path() -> Path:
    return state_dir() / "demo-servers.json"


def _load() -> list[ServedServer]:
    try:
        items = json.loads(state_path().read_text())
        return [ServedServer(int(i["pid"]), int(i["port"]), str(i["dir"])) for i in items]
    except (OSError, ValueError, TypeError, KeyError):
        return []


def _save(servers: list[ServedServer]) -> None:
    path = state_path()
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps([s.__dict__ for s in servers]))
    os.replace(tmp, path)


def record_served(server: LocalServer) -> None:
    """Remember a server that `demo --serve` leaves running."""
    assert server.dir is not None
    entry = ServedServer(server.pid, server.port, str(server.dir))
    _save([s for s in _load() if _alive(s)] + [entry])


def _alive(s: ServedServer) -> bool:
    """Still our demo server: the pid runs a redis/valkey server on the recorded port (a pid
    the system has given to another program is left alone)."""
    try:
        cmdline = Path(f"/proc/{s.pid}/cmdline").read_bytes().replace(b"\0", b" ").decode()
    except OSError:
        return False
    servers = PROGRAM_NAMES["redis-server"]
    return any(name in cmdline for name in servers) and f":{s.port}" in cmdline


def stop_served(wait: float = 10.0) -> list[ServedServer]:
    """Stop every recorded demo server (SIGTERM, then SIGKILL) and remove its data dir."""
    stopped = []
    for s in _load():
        if _alive(s):
            with contextlib.suppress(ProcessLookupError):
                os.kill(s.pid, signal.SIGTERM)
            deadline = time.monotonic() + wait
            while _alive(s) and time.monotonic() < deadline:
                time.sleep(0.05)
            if _alive(s):
                with contextlib.suppress(ProcessLookupError):
                    os.kill(s.pid, signal.SIGKILL)
        if os.path.basename(s.dir).startswith("rediscope-redis-"):  # only a dir demo made
            shutil.rmtree(s.dir, ignore_errors=True)
        stopped.append(s)
    _save([])
    return stopped
