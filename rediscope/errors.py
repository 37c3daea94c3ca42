"""Domain exceptions. The cli/ error boundary turns each into one line and an exit code."""

from __future__ import annotations

from rediscope.exitcodes import ExitStatus


class RediscopeError(Exception):
    """Base class: an expected failure with a message for people and an exit code."""

    exit_code: ExitStatus = ExitStatus.ERROR

    def __init__(self, message: str, hint: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint

    def __str__(self) -> str:
        return f"{self.message} — {self.hint}" if self.hint else self.message


class UsageError(RediscopeError):
    """Bad option value, bad URL."""

    exit_code = ExitStatus.USAGE


class ConfigError(UsageError):
    """An invalid or unreadable configuration file."""


class ConnectError(RediscopeError):
    """Cannot reach the server: refused, unknown host, timeout, TLS handshake."""

    exit_code = ExitStatus.CONNECTION


class AuthError(ConnectError):
    """Wrong password, unknown user, NOAUTH."""


class CommandDenied(RediscopeError):
    """The server refused a command (ACL NOPERM, renamed or disabled command)."""

    def __init__(self, command: str, reason: str, hint: str | None = None) -> None:
        super().__init__(f"the server denied {command}: {reason}", hint)
        self.command = command


class ServerError(RediscopeError):
    """The server failed mid-run (connection lost, timed out while working)."""


class BusyError(RediscopeError):
    """Another run holds the lock."""

    exit_code = ExitStatus.BUSY


class Interrupted(RediscopeError):
    """Ctrl-C."""

    exit_code = ExitStatus.INTERRUPTED
