"""COMMANDLOG checks (Valkey 8.1+): the largest request and the largest reply the server
logged in the window, beside the slowlog check. Asked, never inferred from a version: a server
without COMMANDLOG ("unknown command") gives no result, and --checks names them as not
applying; rediscope's own entries (its client name) are left out. Denied to the user, they are
UNKNOWN when asked for by name (--checks), else left out with a note: an ACL made before
COMMANDLOG existed does not turn a healthy server UNKNOWN."""

from __future__ import annotations

import time
from typing import Any

import redis

from rediscope.core.connection import CLIENT_NAME
from rediscope.core.health.model import UNKNOWN, Check, level, node_check
from rediscope.core.health.node_checks import command_line
from rediscope.core.health.probe import Checker, NodeProbe, denied_reason
from rediscope.core.units import MIB, bytes_text, plural

#: COMMANDLOG GET's count: the newest entries of each log (the server keeps 128 by default)
ENTRIES = 128


def _entries(p: NodeProbe, kind: str) -> list[Any] | None:
    """The log's entries; None when the server has no COMMANDLOG. Denied: raised."""
    try:
        return list(p.call("COMMANDLOG", "GET", ENTRIES, kind))
    except redis.ResponseError as exc:
        text = str(exc).lower()
        if "unknown command" in text or "unknown subcommand" in text:
            return None
        raise


def _check(c: Checker, p: NodeProbe, check_id: str, kind: str, what: str) -> Check | None:
    """The largest entry of the window of log KIND (large-request, large-reply), named."""
    try:
        entries = _entries(p, kind)
    except redis.RedisError as exc:
        if check_id not in c.opts.checks:  # not asked for by name: a note, not UNKNOWN
            p.notes.append(
                f"{check_id} left out on {p.label or 'the server'}: "
                f"{denied_reason(exc, f'COMMANDLOG GET {kind}')} (grant +commandlog|get)"
            )
            return None
        return c.make(
            check_id,
            UNKNOWN,
            None,
            denied_reason(exc, f"COMMANDLOG GET {kind}"),
            hint="grant +commandlog|get (docs/security.md)",
            node=p.label,
        )
    if entries is None:
        return None
    window = max(c.opts.slowlog_window, c.opts.window)
    since = time.time() - window
    recent = [e for e in entries if int(e[1]) >= since]
    ours = [e for e in recent if len(e) > 5 and e[5] == CLIENT_NAME]
    theirs = [e for e in recent if not (len(e) > 5 and e[5] == CLIENT_NAME)]
    largest = max(theirs, key=lambda e: int(e[2]), default=None)
    size = int(largest[2]) if largest is not None else 0
    msg = f"{plural(len(theirs), what)} logged in the last {window:.0f}s"
    if ours:
        msg += f" ({len(ours)} more from rediscope, not counted)"
    if largest is not None:
        client = largest[4].decode(errors="replace") if len(largest) > 4 else "?"
        msg += f"; largest {bytes_text(size)}: {command_line(largest[3])} (from {client})"
    warn, crit = c.opts.thresholds(check_id)
    return c.make(
        check_id,
        level(size, warn, crit),
        size,
        msg,
        hint=f"see COMMANDLOG GET {ENTRIES} {kind}; split big values or page their reads"
        if theirs
        else None,
        node=p.label,
    )


@node_check(
    "commandlog_large_request",
    10.0 * MIB,
    100.0 * MIB,
    "bytes",
    "the largest request in COMMANDLOG large-request over the slowlog window (Valkey 8.1+; "
    "rediscope's own left out)",
)
def commandlog_large_request(c: Checker, p: NodeProbe, policy_on_cache: bool) -> Check | None:
    return _check(c, p, "commandlog_large_request", "large-request", "large request")


@node_check(
    "commandlog_large_reply",
    10.0 * MIB,
    100.0 * MIB,
    "bytes",
    "the largest reply in COMMANDLOG large-reply over the slowlog window (Valkey 8.1+; "
    "rediscope's own left out)",
)
def commandlog_large_reply(c: Checker, p: NodeProbe, policy_on_cache: bool) -> Check | None:
    return _check(c, p, "commandlog_large_reply", "large-reply", "large reply")
