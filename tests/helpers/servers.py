"""Starting real servers for the tests and waiting for events on them (never for a guessed
duration). In CI (CI=true) a missing redis-server is a failure, never a skip."""

from __future__ import annotations

import contextlib
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import redis

from rediscope.core.localserver import PROGRAM_NAMES, LocalServer, start_cluster, which_program
from tests.helpers.paths import skip_or_fail

ACL_USER = "alice"


ACL_PASSWORD = "Al1ce-S3cret-Passw0rd"


ADMIN_PASSWORD = "Adm1n-S3cret-Passw0rd"


#: what an analysis user needs (docs/security.md)
ACL_RULES = (
    "~* &* -@all +@read +scan +info +ping +type +dbsize +memory|usage +object "
    "+pttl +ttl +slowlog|get +latency|latest +cluster|info +cluster|shards "
    "+cluster|nodes +config|get +hello +client|no-touch"
)


def setuser(client: redis.Redis, user: str, rules: str) -> None:
    """ACL SETUSER user rules, as docs/security.md says: where the server refuses
    +commandlog|get (before Valkey 8.1), +client|no-touch (Redis 7.0 knows CLIENT's subcommands
    but not that one) or +function|restore (6.2 has no FUNCTION), leave it out."""
    for optional in ("", " +commandlog|get", " +client|no-touch", " +function|restore"):
        rules = rules.replace(optional, "") if optional else rules
        try:
            client.execute_command("ACL", "SETUSER", user, *rules.split())
            return
        except redis.ResponseError as exc:
            last = exc
    raise last


def require_binary(name: str) -> str:
    path = which_program(name)
    if path is None:
        names = " or ".join(PROGRAM_NAMES.get(name, (name,)))
        message = f"{names} is not installed (apt-get install redis-server redis-tools)"
        skip_or_fail(message)
    return path


def start_server(server: LocalServer) -> LocalServer:
    require_binary("redis-server")
    return server.start()


@contextlib.contextmanager
def server_in(folder: Path, **kwargs: Any) -> Iterator[LocalServer]:
    """A server with FOLDER (made here) as its dir, stopped on leaving whatever happened."""
    folder.mkdir()
    server = start_server(LocalServer(dir=folder, **kwargs))
    try:
        yield server
    finally:
        server.cleanup()


@dataclass
class Certs:
    ca: Path
    cert: Path
    key: Path
    other_ca: Path


def three_primaries() -> Iterator[list[LocalServer]]:
    """A 3-primary Redis Cluster, stopped by PID when the generator ends."""
    require_binary("redis-server")
    require_binary("redis-cli")
    servers = start_cluster(primaries=3)
    try:
        yield servers
    finally:
        for server in servers:
            server.cleanup()


def wait_until(what: str, check: Any, timeout: float = 30.0) -> None:
    """Poll `check()` until it is true (an event to wait for, never a guess at a duration)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if check():
                return
        except (redis.RedisError, OSError):
            pass
        time.sleep(0.05)
    raise AssertionError(f"timed out waiting for {what}")


def scan_calls(server: LocalServer) -> int:
    """SCANs the server has answered since its stats were last reset."""
    client = server.client(socket_timeout=2)
    try:
        stats = client.info("commandstats").get("cmdstat_scan", {})
        return int(stats.get("calls", 0))
    finally:
        client.close()


def scan_started(server: LocalServer, calls: int = 2) -> bool:
    """The server has answered `calls` SCANs (a scan is under way)."""
    return scan_calls(server) >= calls


def wait_for_scans(servers: list[LocalServer], before: dict[int, int], more: int = 3) -> None:
    """Wait until every one of `servers` has answered `more` SCANs beyond `before` (port ->
    calls): a paced scan is walking all of them, so a test can change the deployment under it."""
    wait_until(
        "the scan to walk every node",
        lambda: all(scan_calls(s) >= before.get(s.port, 0) + more for s in servers),
    )


def monitor_attached(server: LocalServer) -> bool:
    client = server.client(socket_timeout=2)
    try:
        return any("O" in str(c.get("flags", "")) for c in client.client_list())
    finally:
        client.close()


#: health thresholds for a loaded CI machine: PINGs and commands there can stall for tens of ms
#: (four suites on two cores), which would fail a test about something else.
SLACK = ("--warn", "latency=1000", "--crit", "latency=2000", "--warn", "slowlog=1000")


def not_ok(doc: dict[str, Any]) -> list[str]:
    """A health report's checks that are not OK, one line each: a failing test's message."""
    return [
        f"{c['id']} {c['status']}: {c['message']}" for c in doc["checks"] if c["status"] != "OK"
    ]


def client_for(server: LocalServer, **kwargs: Any) -> redis.Redis:
    return server.client(**kwargs)
