"""Errors that point the right way: what a new user types wrong gets a line that says what is
wrong and the exit code of its kind (issue 16, items 13-16)."""

from __future__ import annotations

import socket
import threading
from collections.abc import Iterator

import pytest

from rediscope.core.localserver import LocalServer
from rediscope.exitcodes import ExitStatus
from tests.helpers import invoke, run_cli


@pytest.fixture
def not_redis() -> Iterator[int]:
    """A loopback port that answers like a web server, not like Redis."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen()
    port = int(listener.getsockname()[1])

    def serve() -> None:
        while True:
            try:
                conn, _ = listener.accept()
            except OSError:
                return
            with conn:
                conn.recv(4096)
                conn.sendall(b"<html><body>hello</body></html>\r\n")

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    yield port
    listener.close()
    thread.join(timeout=5)


def test_a_port_that_is_not_redis_is_a_connection_failure(not_redis: int) -> None:
    res = invoke("ping", "-p", str(not_redis))
    assert res.exit_code == ExitStatus.CONNECTION, res.stderr
    assert "is it a Redis server?" in res.stderr
    assert len(res.stderr.strip().splitlines()) == 1


def test_a_password_for_a_server_without_one_says_so(plain: LocalServer) -> None:
    res = invoke("ping", "-p", str(plain.port), env={"REDISCLI_AUTH": "not-needed-pw"})
    assert res.exit_code == ExitStatus.CONNECTION
    assert "the server has no password set" in res.stderr
    assert "not-needed-pw" not in res.stdout + res.stderr


def test_a_wrong_password_is_still_a_wrong_password(acl_server: LocalServer) -> None:
    res = invoke("ping", "-p", str(acl_server.port), env={"REDISCLI_AUTH": "wrong-pw"})
    assert res.exit_code == ExitStatus.CONNECTION
    assert "invalid username or password" in res.stderr


def test_a_db_beyond_the_servers_databases_is_a_usage_error(plain: LocalServer) -> None:
    res = invoke("ping", "--url", f"redis://127.0.0.1:{plain.port}/99")
    assert res.exit_code == ExitStatus.USAGE, res.stderr
    databases = plain.client().config_get("databases")["databases"]
    assert f"no db 99: it has {databases} (0-{int(databases) - 1})" in res.stderr


def test_a_typo_in_a_command_suggests_once() -> None:
    res = run_cli("pign")
    assert res.exit_code == ExitStatus.USAGE
    assert res.stderr.count("Did you mean 'ping'?") == 1, res.stderr
    res = run_cli("backup", "lst")
    assert res.exit_code == ExitStatus.USAGE
    assert res.stderr.count("Did you mean 'list'?") == 1, res.stderr
