"""What a failure means: redis-py, socket and TLS exceptions turned into one-line domain errors
with a hint (the connection layer's error mapping, used by every core module)."""

from __future__ import annotations

import contextlib
import socket
import ssl
from collections.abc import Callable, Iterator
from typing import Protocol

import redis

from rediscope.errors import (
    AuthError,
    CommandDenied,
    ConnectError,
    RediscopeError,
    ServerError,
    UsageError,
)


class Endpoint(Protocol):
    """What an error message names of the server it was talking to (core/connection.py's
    ConnectionSpec is one): the failure mapping needs no more, so it does not import it."""

    @property
    def scheme(self) -> str: ...
    @property
    def host(self) -> str: ...
    @property
    def path(self) -> str | None: ...
    @property
    def db(self) -> int: ...
    @property
    def username(self) -> str | None: ...
    @property
    def password(self) -> str | None: ...
    @property
    def tls(self) -> bool: ...
    @property
    def timeout(self) -> float: ...
    @property
    def address(self) -> str: ...
    @property
    def redacted_url(self) -> str: ...


def _reason(exc: BaseException) -> str:
    text = str(exc).strip()
    # redis-py prefixes "Error 111 connecting to host:port. " — keep the human part
    if text.startswith("Error ") and ". " in text:
        text = text.split(". ", 1)[1]
    return text.rstrip(".") or type(exc).__name__


def is_denied(reply: object) -> bool:
    """An error reply that means "not allowed here": an ACL refusal (NOPERM) or a command that
    is renamed or disabled (unknown command)."""
    text = str(reply).lower()
    return text.startswith("noperm") or "no permissions" in text or "unknown command" in text


def describe_error(exc: BaseException, spec: Endpoint, during: str = "") -> RediscopeError:
    """Turn a redis-py / socket / ssl exception into a one-line domain error."""
    low = str(exc).lower()
    for classify in (_auth_error, _reply_error, _tls_error, _network_error):
        found = classify(exc, low, spec, during)
        if found is not None:
            return found
    if isinstance(exc, redis.ConnectionError | OSError):
        return ConnectError(f"cannot connect to {spec.redacted_url}: {_reason(exc)}")
    return ServerError(f"{spec.redacted_url}: {_reason(exc)}")


def _auth_error(exc: BaseException, low: str, spec: Endpoint, during: str) -> RediscopeError | None:
    if not (
        isinstance(exc, redis.AuthenticationError)
        or "wrongpass" in low
        or "noauth" in low
        or (isinstance(exc, redis.ResponseError) and "invalid password" in low)
    ):
        return None
    where = spec.redacted_url
    if "noauth" in low or "authentication required" in low:
        return AuthError(
            f"{where} requires authentication", "set REDISCLI_AUTH (and --user for an ACL user)"
        )
    return AuthError(
        f"authentication failed for {where}: invalid username or password",
        "check --user and the password in REDISCLI_AUTH / REDISCOPE_PASSWORD",
    )


def _reply_error(
    exc: BaseException, low: str, spec: Endpoint, during: str
) -> RediscopeError | None:
    """An error reply: not Redis at all, denied (ACL), renamed or disabled, or the server's."""
    if "protocol error" in low:
        return ConnectError(
            f"{spec.redacted_url} does not speak the Redis protocol: is it a Redis server? "
            f"({_reason(exc)})",
            "check the host and port (or use rediss:// for a TLS server)",
        )
    if not isinstance(exc, redis.ResponseError):
        return None
    if "unknown command" in low:
        return CommandDenied(during or "a command", "unknown command (renamed or disabled?)")
    if is_denied(low):
        return CommandDenied(
            during or "a command",
            "the ACL user lacks permission",
            "see docs/security.md for the ACL each command needs",
        )
    return ServerError(f"{spec.redacted_url}: {during + ': ' if during else ''}{_reason(exc)}")


def _tls_error(exc: BaseException, low: str, spec: Endpoint, during: str) -> RediscopeError | None:
    if not (isinstance(exc, ssl.SSLError) or "ssl" in low or "certificate" in low):
        return None
    if "certificate" in low:
        return ConnectError(
            f"TLS certificate verification failed for {spec.redacted_url}: {_reason(exc)}",
            "pass --cacert with the CA that signed the server certificate",
        )
    return ConnectError(
        f"TLS handshake with {spec.redacted_url} failed: {_reason(exc)}",
        "check --tls/--cacert/--cert/--key match the server's TLS setup",
    )


def _network_error(
    exc: BaseException, low: str, spec: Endpoint, during: str
) -> RediscopeError | None:
    where = spec.redacted_url
    if isinstance(exc, redis.TimeoutError | socket.timeout | TimeoutError):
        return ConnectError(
            f"timed out after {spec.timeout:g}s talking to {where}",
            "is the host reachable and the server responsive? raise --timeout",
        )
    if "connection refused" in low or "errno 111" in low:
        return ConnectError(
            f"connection refused to {spec.address}",
            "is redis-server running? use --url or --host/--port",
        )
    if any(m in low for m in ("name or service not known", "nodename nor servname")) or (
        "temporary failure in name resolution" in low
    ):
        return ConnectError(f"unknown host {spec.host!r}", "check the host name in --url/--host")
    if "no such file" in low and spec.scheme == "unix":
        return ConnectError(f"no unix socket at {spec.path}", "check the socket path")
    if "connection reset" in low or "closed by server" in low or "connection closed" in low:
        if spec.tls is False and during == "":
            return ConnectError(
                f"{where} closed the connection",
                "does the server require TLS? use rediss:// or --tls",
            )
        return ConnectError(f"{where} closed the connection: {_reason(exc)}")
    return None


@contextlib.contextmanager
def translate_errors(spec: Endpoint, during: str = "") -> Iterator[None]:
    """Re-raise redis-py and socket errors as RediscopeError with a hint."""
    try:
        yield
    except RediscopeError:
        raise
    except (redis.RedisError, OSError) as exc:
        raise describe_error(exc, spec, during) from None


def explain_connect_failure(
    exc: BaseException, spec: Endpoint, anonymous: Callable[[], redis.Redis]
) -> RediscopeError:
    """describe_error for the first command on a new connection, where two failures have a
    cause the server can tell: a password refused by a server that needs none, and a db
    number beyond its `databases`. `anonymous` opens a db-0 connection without credentials."""
    error = describe_error(exc, spec)
    low = str(exc).lower()
    default_user = (spec.username or "default") == "default"
    if isinstance(error, AuthError) and spec.password and default_user and _answers(anonymous):
        return AuthError(
            f"{spec.redacted_url}: the server has no password set, but one was given",
            "drop --password / REDISCLI_AUTH / REDISCOPE_PASSWORD (or set requirepass)",
        )
    if isinstance(exc, redis.ResponseError) and "db index is out of range" in low:
        limit = _databases(anonymous)
        known = f"it has {limit} (0-{limit - 1})" if limit else "its `databases` setting is lower"
        return UsageError(
            f"{spec.redacted_url}: the server has no db {spec.db}: {known}",
            "pick a db with -n/--db or the URL path",
        )
    return error


def _answers(anonymous: Callable[[], redis.Redis]) -> bool:
    conn = anonymous()
    try:
        return bool(conn.ping())
    except (redis.RedisError, OSError):
        return False
    finally:
        conn.close()


def _databases(anonymous: Callable[[], redis.Redis]) -> int | None:
    """CONFIG GET databases over a db-0 connection (None where it is denied)."""
    conn = anonymous()
    try:
        got = conn.config_get("databases")
        value = next(iter(got.values()), None)
        return int(value) if value is not None else None
    except (redis.RedisError, OSError, ValueError):
        return None
    finally:
        conn.close()
