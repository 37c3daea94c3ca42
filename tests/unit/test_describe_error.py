"""describe_error: what redis-py, socket and ssl exceptions become (one line, the right exit
code, a hint), and that the password never appears in it. No server, no network."""

from __future__ import annotations

import ssl

import pytest
import redis

from rediscope.core.connection import ConnectionSpec
from rediscope.core.failures import describe_error, is_denied
from rediscope.errors import AuthError, CommandDenied, ConnectError, ServerError
from rediscope.exitcodes import ExitStatus

SECRET = "Sup3r-S3cret-pw"
SPEC = ConnectionSpec(host="db.example", port=6380, username="alice", password=SECRET)


@pytest.mark.parametrize(
    ("exc", "kind", "words"),
    [
        (redis.AuthenticationError("invalid username-password pair"), AuthError, "authentication failed"),
        (redis.ResponseError("NOAUTH Authentication required."), AuthError, "requires authentication"),
        (redis.ResponseError("WRONGPASS invalid username-password pair"), AuthError, "invalid username or password"),
        (redis.ResponseError("NOPERM this user has no permissions to run the 'config|get' command"), CommandDenied, "lacks permission"),
        (redis.ResponseError("ERR unknown command 'CONFIG'"), CommandDenied, "renamed or disabled"),
        (redis.ResponseError("ERR max number of clients reached"), ServerError, "max number of clients"),
        (redis.ConnectionError("Protocol Error: b'HTTP/1.1 400'"), ConnectError, "does not speak the Redis protocol"),
        (redis.TimeoutError("Timeout reading from socket"), ConnectError, "timed out after"),
        (TimeoutError("timed out"), ConnectError, "timed out after"),
        (redis.ConnectionError("Error 111 connecting to db.example:6380. Connection refused."), ConnectError, "connection refused to db.example:6380"),
        (redis.ConnectionError("Error -2 connecting to db.example:6380. Name or service not known."), ConnectError, "unknown host 'db.example'"),
        (redis.ConnectionError("Connection closed by server."), ConnectError, "closed the connection"),
        (ssl.SSLCertVerificationError("certificate verify failed: self-signed certificate"), ConnectError, "TLS certificate verification failed"),
        (ssl.SSLError("wrong version number"), ConnectError, "TLS handshake"),
        (OSError("Network is unreachable"), ConnectError, "cannot connect to"),
    ],
)  # fmt: skip
def test_each_failure_is_one_line_of_its_kind(exc: BaseException, kind: type, words: str) -> None:
    err = describe_error(exc, SPEC, "CONFIG GET")
    assert isinstance(err, kind), (type(err), err.message)
    assert words in err.message or words in str(err), err.message
    text = f"{err.message} {err.hint or ''}"
    assert "\n" not in text and SECRET not in text


def test_exit_codes_follow_the_kind() -> None:
    refused = describe_error(redis.ConnectionError("Connection refused"), SPEC)
    assert refused.exit_code == ExitStatus.CONNECTION
    wrong = describe_error(redis.AuthenticationError("invalid password"), SPEC)
    assert wrong.exit_code == ExitStatus.CONNECTION and wrong.hint and "REDISCLI_AUTH" in wrong.hint
    denied = describe_error(redis.ResponseError("NOPERM no permissions"), SPEC, "SLOWLOG GET")
    assert denied.exit_code == ExitStatus.ERROR and "SLOWLOG GET" in denied.message


def test_a_closed_connection_without_tls_suggests_tls_only_when_nothing_was_under_way() -> None:
    closed = redis.ConnectionError("Connection reset by peer")
    assert "rediss://" in (describe_error(closed, SPEC).hint or "")
    assert describe_error(closed, SPEC, "SCAN").hint is None


def test_denied_replies() -> None:
    assert is_denied("NOPERM this user has no permissions to run the 'info' command")
    assert is_denied("ERR unknown command 'SLOWLOG'")
    assert not is_denied("ERR wrong number of arguments")
