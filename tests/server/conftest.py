"""Real servers on free loopback ports, stopped by PID: the fixtures the server tier shares.

In CI (CI=true) a missing redis-server is a failure, never a skip.
"""

from __future__ import annotations

import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from rediscope.core.localserver import NO_TLS_MESSAGE, LocalServer, tls_support
from tests.helpers.servers import (
    ACL_PASSWORD,
    ACL_RULES,
    ACL_USER,
    ADMIN_PASSWORD,
    Certs,
    require_binary,
    setuser,
    start_server,
    three_primaries,
)


def _openssl(*args: str, cwd: Path) -> None:
    subprocess.run(["openssl", *args], cwd=cwd, check=True, capture_output=True)


@pytest.fixture(scope="session")
def redis_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalServer]:
    """A plain server, also listening on a unix socket (server.dir / 'redis.sock')."""
    d = tmp_path_factory.mktemp("plain")
    server = start_server(
        LocalServer(dir=d, config={"unixsocket": str(d / "redis.sock"), "unixsocketperm": "700"})
    )
    try:
        yield server
    finally:
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
    server = start_server(LocalServer(dir=d, password=ADMIN_PASSWORD))
    try:
        admin = server.client()
        setuser(admin, ACL_USER, f"on >{ACL_PASSWORD} {ACL_RULES}")
        admin.close()
        yield server
    finally:
        server.cleanup()


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
    server = start_server(
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
    try:
        yield server
    finally:
        server.cleanup()


@pytest.fixture(scope="session")
def cluster() -> Iterator[list[LocalServer]]:
    """A 3-primary Redis Cluster shared by the tests that leave it as they found it."""
    yield from three_primaries()
