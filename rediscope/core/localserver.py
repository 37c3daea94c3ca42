"""Throwaway redis-server processes on free loopback ports, stopped by PID.

Used by `rediscope demo` and by the test suite (standalone, ACL, TLS, replica, cluster).
"""

from __future__ import annotations

import contextlib
import functools
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import redis

from rediscope.errors import RediscopeError

MAX_PORT = 55535  # cluster bus port is port + 10000


#: the names each program goes by: Redis's, then Valkey's own (a Valkey install may have only these)
PROGRAM_NAMES: dict[str, tuple[str, ...]] = {
    "redis-server": ("redis-server", "valkey-server"),
    "redis-cli": ("redis-cli", "valkey-cli"),
    "redis-sentinel": ("redis-sentinel", "valkey-sentinel"),
}
#: an environment variable naming a bin/ folder to take the server programs from before PATH
SERVER_BIN_ENV = "REDISCOPE_SERVER_BIN"
#: options of Redis 7.0+ that an older server does not know and behaves without as if they
#: were set (DEBUG and MODULE were always enabled before 7.0): left out for such a server
NEWER_OPTIONS = ("enable-debug-command", "enable-module-command", "enable-protected-configs")
#: called with every server process as it is started: the test suite registers one to stop, by
#: PID, whatever a failed test left running (the servers run in their own session, so they
#: outlive the process that started them)
STARTED_HOOKS: list[Callable[[subprocess.Popen[bytes]], None]] = []


def search_dirs() -> list[str]:
    """Where server programs are looked for: $REDISCOPE_SERVER_BIN, then PATH, in order."""
    dirs = [os.environ.get(SERVER_BIN_ENV, "")]
    dirs += os.environ.get("PATH", os.defpath).split(os.pathsep)
    return [d for d in dirs if d]


def which_program(name: str) -> str | None:
    """The first executable of `name` or one of its other names (PROGRAM_NAMES), folder by
    folder: the first folder that has any of them wins, so a Valkey bin/ first on PATH is used
    before a Redis further down."""
    names = PROGRAM_NAMES.get(name, (name,))
    for folder in search_dirs():
        for candidate in names:
            path = os.path.join(folder, candidate)
            if os.path.isfile(path) and os.access(path, os.X_OK):
                return path
    return None


def find_server_binary(name: str = "redis-server") -> str:
    path = which_program(name)
    if path is None:
        names = " or ".join(PROGRAM_NAMES.get(name, (name,)))
        raise RediscopeError(
            f"{names} not found on PATH",
            "install it (Debian/Ubuntu: sudo apt-get install redis-server redis-tools)",
        )
    return path


#: what a server built without TLS logs when it is given a tls-port
NO_TLS_MESSAGE = "Failed finding TLS support"


@functools.cache
def tls_support(binary: str) -> bool:
    """Whether the server program BINARY was built with TLS, asked of the program itself: it is
    started with a tls-port and a certificate that does not exist, so a build with TLS stops on
    the certificate and one without stops on NO_TLS_MESSAGE (neither starts to serve)."""
    args = [binary, "--port", "0", "--tls-port", str(free_port()), "--save", ""]
    args += ["--tls-cert-file", "/nonexistent/rediscope.crt", "--tls-key-file", "/nonexistent/k"]
    proc = subprocess.Popen(
        args, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, start_new_session=True
    )
    try:
        out, _ = proc.communicate(timeout=10)
    except subprocess.TimeoutExpired:  # it serves after all: stop it, TLS is there
        proc.kill()
        out, _ = proc.communicate()
    return NO_TLS_MESSAGE.encode() not in out


def _port_free(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        try:
            sock.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def free_port(cluster_bus: bool = False) -> int:
    """A free loopback port at most MAX_PORT (and port+10000 free too, for cluster nodes)."""
    for _ in range(200):
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
            sock.bind(("127.0.0.1", 0))
            port = int(sock.getsockname()[1])
        if port > MAX_PORT:
            port = 20000 + port % (MAX_PORT - 20000)
        if _port_free(port) and (not cluster_bus or _port_free(port + 10000)):
            return port
    raise RediscopeError("could not find a free loopback port")


@dataclass
class LocalServer:
    """One redis-server. `config` lines are appended to the generated config file."""

    config: dict[str, str] = field(default_factory=dict)
    password: str | None = field(default=None, repr=False)
    cluster: bool = False
    tls_port: bool = False  # serve TLS on `port` (config must hold the tls-* files)
    sentinel: bool = False  # run as a sentinel (config holds the `sentinel ...` lines)
    binary: str = "redis-server"
    port: int = 0
    dir: Path | None = None
    process: subprocess.Popen[bytes] | None = None
    _own_dir: bool = False

    @property
    def url(self) -> str:
        scheme = "rediss" if self.tls_port else "redis"
        return f"{scheme}://127.0.0.1:{self.port}/0"

    @property
    def pid(self) -> int:
        assert self.process is not None
        return self.process.pid

    def start(self, wait: float = 10.0, attempts: int = 5) -> LocalServer:
        """Start it and wait until it answers (a port race is retried up to ATTEMPTS times).
        `binary` is a program name looked up on PATH, or a path to one."""
        binary = self.binary if os.sep in self.binary else find_server_binary(self.binary)
        if self.dir is None:
            self.dir = Path(tempfile.mkdtemp(prefix="rediscope-redis-"))
            self._own_dir = True
        last_error = ""
        tries = 0
        while tries < attempts:
            self.port = self.port or free_port(cluster_bus=self.cluster)
            conf = self.dir / "redis.conf"
            conf.write_text("".join(f"{k} {v}\n" for k, v in self._config_lines().items()))
            self.process = subprocess.Popen(
                [binary, str(conf), *(["--sentinel"] if self.sentinel else [])],
                stdout=subprocess.DEVNULL,
                stderr=subprocess.PIPE,
                start_new_session=True,
            )
            for hook in STARTED_HOOKS:
                hook(self.process)
            if self._wait_ready(wait):
                return self
            last_error = self._startup_error()
            self.stop()
            unknown = [k for k in NEWER_OPTIONS if k in self.config and f"'{k} " in last_error]
            if unknown and "Bad directive" in last_error:
                del self.config[unknown[0]]  # an older server: behaves as asked without it
                continue
            tries += 1
            self.port = 0  # port race: pick another
        raise RediscopeError(f"{Path(binary).name} did not start: {last_error}")

    def _config_lines(self) -> dict[str, str]:
        assert self.dir is not None
        lines = {
            "bind": "127.0.0.1",
            "port": "0" if self.tls_port else str(self.port),
            "dir": str(self.dir),
            "save": '""',
            "appendonly": "no",
            "daemonize": "no",
            "logfile": str(self.dir / "redis.log"),
            "dbfilename": "dump.rdb",
            "repl-diskless-sync-delay": "0",
            "protected-mode": "no",
        }
        if self.tls_port:
            lines["tls-port"] = str(self.port)
        if self.cluster:
            lines.update(
                {
                    "cluster-enabled": "yes",
                    "cluster-config-file": str(self.dir / "nodes.conf"),
                    "cluster-node-timeout": "2000",
                }
            )
        if self.password:
            lines["requirepass"] = self.password
        if self.sentinel:
            keep = ("bind", "port", "dir", "logfile", "daemonize", "protected-mode")
            lines = {k: lines[k] for k in keep}
        lines.update(self.config)
        return lines

    def _startup_error(self) -> str:
        """Why the server did not come up: a config error on its stderr (printed before the
        log file opens), else the last line of its log."""
        proc = self.process
        if proc is not None and proc.poll() is not None and proc.stderr is not None:
            err = [ln for ln in proc.stderr.read().decode(errors="replace").splitlines() if ln]
            if err:
                return " ".join(ln.strip() for ln in err[-3:])
        return self._log_tail()

    def _log_tail(self) -> str:
        assert self.dir is not None
        log = self.dir / "redis.log"
        text = log.read_text(errors="replace") if log.exists() else ""
        lines = [ln for ln in text.splitlines() if ln.strip()]
        return lines[-1] if lines else "no log"

    def _wait_ready(self, wait: float) -> bool:
        deadline = time.monotonic() + wait
        while time.monotonic() < deadline:
            if self.process is None or self.process.poll() is not None:
                return False
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=0.2):
                    pass
                if self.tls_port:
                    return True
                client = redis.Redis(port=self.port, password=self.password, socket_timeout=1)
                try:
                    if client.ping():
                        return True
                finally:
                    client.close()
            except (OSError, redis.RedisError) as exc:
                if "loading" not in str(exc).lower():
                    time.sleep(0.02)
        return False

    def client(self, **kwargs: Any) -> redis.Redis:
        return redis.Redis(port=self.port, password=self.password, **kwargs)

    def stop(self) -> None:
        """SIGTERM by PID, SIGKILL if it does not exit within 5 s."""
        proc = self.process
        if proc is not None and proc.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.kill(proc.pid, signal.SIGTERM)
            try:
                proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                with contextlib.suppress(ProcessLookupError):
                    os.kill(proc.pid, signal.SIGKILL)
                proc.wait(timeout=5)
        if proc is not None and proc.stderr is not None:
            proc.stderr.close()
        self.process = None

    def cleanup(self) -> None:
        self.stop()
        if self._own_dir and self.dir is not None:
            shutil.rmtree(self.dir, ignore_errors=True)
            self.dir = None

    def __enter__(self) -> LocalServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.cleanup()


def start_cluster(
    primaries: int = 3, replicas: int = 0, wait: float = 30.0, config: dict[str, str] | None = None
) -> list[LocalServer]:
    """A Redis Cluster on loopback made with redis-cli --cluster create; waits for state ok."""
    cli = find_server_binary("redis-cli")
    servers = [
        LocalServer(cluster=True, config=dict(config or {}))
        for _ in range(primaries * (1 + replicas))
    ]
    try:
        for server in servers:
            server.start()
        cmd = [
            cli,
            "--cluster",
            "create",
            *[f"127.0.0.1:{s.port}" for s in servers],
            "--cluster-replicas",
            str(replicas),
            "--cluster-yes",
        ]
        out = subprocess.run(cmd, capture_output=True, text=True, timeout=60, check=False)
        if out.returncode != 0:
            raise RediscopeError(f"redis-cli --cluster create failed: {out.stdout[-300:]}")
        deadline = time.monotonic() + wait
        while time.monotonic() < deadline:
            states = []
            for server in servers:
                client = server.client(socket_timeout=2)
                try:
                    text = client.execute_command("CLUSTER INFO")
                    if isinstance(text, bytes):
                        text = text.decode()
                    ok = "cluster_state:ok" in str(text) or (
                        isinstance(text, dict) and text.get("cluster_state") == "ok"
                    )
                    known = client.execute_command("CLUSTER NODES")
                    if isinstance(known, dict):
                        flags = [str(v.get("flags", "")) for v in known.values()]
                    else:
                        flags = [ln.split()[2] for ln in str(known).strip().splitlines()]
                    masters = sum(1 for f in flags if "master" in f.split(","))
                    replicas_seen = sum(1 for f in flags if "slave" in f.split(","))
                    # ready when every node sees every node in its final role
                    states.append(
                        ok
                        and len(flags) == len(servers)
                        and masters == primaries
                        and replicas_seen == primaries * replicas
                    )
                finally:
                    client.close()
            if all(states):
                return servers
            time.sleep(0.2)
        raise RediscopeError("cluster did not reach cluster_state:ok")
    except BaseException:
        for server in servers:
            server.cleanup()
        raise
