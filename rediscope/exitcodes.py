"""The one table of exit codes (docs/exit-codes.md documents each; a test checks each)."""

from __future__ import annotations

from enum import IntEnum


class ExitStatus(IntEnum):
    """Exit codes of every command except `health` (which uses HealthExit)."""

    OK = 0
    ERROR = 1  # the command ran and failed (or --fail-if-found found something)
    USAGE = 2  # bad option, bad URL, invalid config file
    CONNECTION = 3  # cannot connect, authenticate or negotiate TLS
    BUSY = 75  # EX_TEMPFAIL: another run holds the lock
    INTERRUPTED = 130  # Ctrl-C; partial results were printed, marked incomplete
    CLOSED_PIPE = 141  # the reader of stdout went away (head, a pager quit): ends quietly


class HealthExit(IntEnum):
    """`rediscope health` follows the monitoring-plugin convention."""

    OK = 0
    WARNING = 1
    CRITICAL = 2
    UNKNOWN = 3
