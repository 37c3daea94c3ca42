"""Fixtures: real redis-server processes on free loopback ports, stopped by PID.

In CI (CI=true) a missing redis-server is a failure, never a skip.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import redis
from typer.testing import CliRunner

from rediscope.cli.app import app
from rediscope.core.localserver import (
    NO_TLS_MESSAGE,
    PROGRAM_NAMES,
    SERVER_BIN_ENV,
    LocalServer,
    start_cluster,
    tls_support,
    which_program,
)

ROOT = Path(__file__).resolve().parent.parent
IN_CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")

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
        if IN_CI:
            pytest.fail(message)
        pytest.skip(message)
    return path


def _start(server: LocalServer) -> LocalServer:
    require_binary("redis-server")
    return server.start()


@pytest.fixture(scope="session")
def redis_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalServer]:
    """A plain server, also listening on a unix socket (server.dir / 'redis.sock')."""
    d = tmp_path_factory.mktemp("plain")
    server = _start(
        LocalServer(dir=d, config={"unixsocket": str(d / "redis.sock"), "unixsocketperm": "700"})
    )
    yield server
    server.cleanup()


@pytest.fixture
def plain(redis_server: LocalServer) -> LocalServer:
    """The plain server, flushed for this test (keys, slowlog and stats reset)."""
    c = redis_server.client()
    c.flushall()
    c.slowlog_reset()
    c.config_resetstat()
    c.close()
    return redis_server


@pytest.fixture(scope="session")
def acl_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalServer]:
    d = tmp_path_factory.mktemp("acl")
    server = _start(LocalServer(dir=d, password=ADMIN_PASSWORD))
    admin = server.client()
    setuser(admin, ACL_USER, f"on >{ACL_PASSWORD} {ACL_RULES}")
    admin.close()
    yield server
    server.cleanup()


@dataclass
class Certs:
    ca: Path
    cert: Path
    key: Path
    other_ca: Path


def _openssl(*args: str, cwd: Path) -> None:
    subprocess.run(["openssl", *args], cwd=cwd, check=True, capture_output=True)


@pytest.fixture(scope="session")
def certs(tmp_path_factory: pytest.TempPathFactory) -> Certs:
    """Test certificates; a server build without TLS skips every test that needs them, saying
    so (the newest builds in ../shared/servers have none), and fails nowhere."""
    binary = require_binary("redis-server")
    if not tls_support(binary):
        pytest.skip(f"{binary} was built without TLS ({NO_TLS_MESSAGE})")
    if shutil.which("openssl") is None:
        pytest.fail("openssl is needed to make test certificates")
    d = tmp_path_factory.mktemp("certs")
    for ca in ("ca", "other-ca"):
        _openssl(
            "req",
            "-x509",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-days",
            "2",
            "-subj",
            f"/CN=rediscope test {ca}",
            "-keyout",
            f"{ca}.key",
            "-out",
            f"{ca}.crt",
            cwd=d,
        )
    _openssl(
        "req",
        "-newkey",
        "rsa:2048",
        "-nodes",
        "-subj",
        "/CN=127.0.0.1",
        "-keyout",
        "server.key",
        "-out",
        "server.csr",
        cwd=d,
    )
    (d / "san.ext").write_text("subjectAltName=IP:127.0.0.1,DNS:localhost\n")
    _openssl(
        "x509",
        "-req",
        "-in",
        "server.csr",
        "-CA",
        "ca.crt",
        "-CAkey",
        "ca.key",
        "-CAcreateserial",
        "-days",
        "2",
        "-extfile",
        "san.ext",
        "-out",
        "server.crt",
        cwd=d,
    )
    return Certs(
        ca=d / "ca.crt", cert=d / "server.crt", key=d / "server.key", other_ca=d / "other-ca.crt"
    )


@pytest.fixture(scope="session")
def tls_server(tmp_path_factory: pytest.TempPathFactory, certs: Certs) -> Iterator[LocalServer]:
    d = tmp_path_factory.mktemp("tls")
    server = _start(
        LocalServer(
            dir=d,
            tls_port=True,
            config={
                "tls-cert-file": str(certs.cert),
                "tls-key-file": str(certs.key),
                "tls-ca-cert-file": str(certs.ca),
                "tls-auth-clients": "no",
            },
        )
    )
    yield server
    server.cleanup()


def three_primaries() -> Iterator[list[LocalServer]]:
    """A 3-primary Redis Cluster, stopped by PID when the generator ends."""
    require_binary("redis-server")
    require_binary("redis-cli")
    servers = start_cluster(primaries=3)
    yield servers
    for server in servers:
        server.cleanup()


@pytest.fixture(scope="session")
def cluster() -> Iterator[list[LocalServer]]:
    """A 3-primary Redis Cluster shared by the tests that leave it as they found it."""
    yield from three_primaries()


@pytest.fixture(autouse=True)
def isolated_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """No user config, no ambient credentials, fixed width, no colour."""
    for name in list(os.environ):
        if (name.startswith("REDISCOPE_") and name != SERVER_BIN_ENV) or name == "REDISCLI_AUTH":
            monkeypatch.delenv(name)
    monkeypatch.setenv("REDISCOPE_NICE", "0")  # a paced scan in-process would nice pytest
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "xdg-config"))
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path / "xdg-state"))
    monkeypatch.setenv("COLUMNS", "120")
    monkeypatch.setenv("NO_COLOR", "1")
    monkeypatch.setenv("TERM", "dumb")


@dataclass
class Result:
    exit_code: int
    stdout: str
    stderr: str

    def json(self) -> Any:
        """stdout as the one JSON document it must be, validated against its schema."""
        return load_json(self.stdout)


def invoke(*args: str, env: dict[str, str] | None = None, input: str | None = None) -> Result:
    """Run the CLI in-process (CliRunner), stdout and stderr kept apart."""
    result = CliRunner().invoke(app, list(args), env=env, input=input, catch_exceptions=False)
    return Result(result.exit_code, result.stdout, result.stderr)


def start_slow_bigkeys(port: int, rate: int, scan_count: int, *extra: str) -> subprocess.Popen[str]:
    """`bigkeys --format json` as a background process, paced (--rate keys/s per node) so a
    test can change the deployment while it runs."""
    pace = ("--rate", str(rate), "--scan-count", str(scan_count))
    return subprocess.Popen(
        [
            sys.executable,
            "-m",
            "rediscope",
            "bigkeys",
            "-p",
            str(port),
            "--format",
            "json",
            *pace,
            *extra,
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


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


def run_cli(*args: str, env: dict[str, str] | None = None, timeout: float = 120) -> Result:
    """Run `python -m rediscope` as a subprocess."""
    full_env = dict(os.environ)
    full_env.update(env or {})
    proc = subprocess.run(
        [sys.executable, "-m", "rediscope", *args],
        capture_output=True,
        text=True,
        env=full_env,
        timeout=timeout,
        check=False,
    )
    return Result(proc.returncode, proc.stdout, proc.stderr)


def schema_validator(command: str) -> Any:
    """A validator for docs/schema/<command>.json, resolving refs to sibling schema files."""
    from jsonschema import Draft202012Validator
    from referencing import Registry, Resource

    schemas = {p.name: json.loads(p.read_text()) for p in (ROOT / "docs" / "schema").glob("*.json")}
    registry: Registry[Any] = Registry().with_resources(
        (s["$id"], Resource.from_contents(s)) for s in schemas.values()
    )
    return Draft202012Validator(schemas[f"{command.replace(' ', '-')}.json"], registry=registry)


def load_json(text: str) -> Any:
    """The one place a test reads rediscope's JSON: exactly one document, and an envelope
    (a document with `schema_version`) valid against docs/schema/<command>.json."""
    doc = json.loads(text)
    if isinstance(doc, dict) and "schema_version" in doc:
        errors = sorted(schema_validator(str(doc["command"])).iter_errors(doc), key=str)
        assert not errors, "\n".join(str(e.message) for e in errors[:5])
    return doc


#: health thresholds for a loaded CI machine: PINGs and commands there can stall for tens of ms
#: (four suites on two cores), which would fail a test about something else.
SLACK = ("--warn", "latency=1000", "--crit", "latency=2000", "--warn", "slowlog=1000")


def not_ok(doc: dict[str, Any]) -> list[str]:
    """A health report's checks that are not OK, one line each: a failing test's message."""
    return [
        f"{c['id']} {c['status']}: {c['message']}" for c in doc["checks"] if c["status"] != "OK"
    ]


def assert_valid_json_output(result: Result, command: str) -> dict[str, Any]:
    """Exactly one JSON document on stdout, for `command`, valid against its schema."""
    doc = result.json()
    assert doc["command"] == command
    return doc  # type: ignore[no-any-return]


def client_for(server: LocalServer, **kwargs: Any) -> redis.Redis:
    return server.client(**kwargs)
