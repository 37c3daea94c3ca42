"""The live source's RESP: request formats built once per scan, and the classification of error replies (denied, redirected, gone)."""

from __future__ import annotations

from typing import Any

import hiredis
import redis

from rediscope.core.failures import is_denied
from rediscope.core.scan.options import LENGTH_COMMANDS


class Denied(Exception):
    def __init__(self, command: str, reply: str) -> None:
        super().__init__(command)
        self.command = command
        self.reply = reply


KEY = b"$%d\r\n%b\r\n"  # a key as a bulk string, formatted with (len(key), key)


#: per type, the length command as a %-format taking (len(key), key)
LENGTH_FORMATS = {t: b"*2\r\n$%d\r\n%b\r\n" % (len(c), c) + KEY for t, c in LENGTH_COMMANDS.items()}


ReplyError = hiredis.ReplyError


def is_error(reply: Any) -> bool:
    return isinstance(reply, hiredis.ReplyError)


def denied(reply: Any) -> bool:
    return is_error(reply) and is_denied(reply)


def redirect(reply: Any) -> bool:
    """MOVED/ASK: the key's slot is served elsewhere (resharding)."""
    return is_error(reply) and str(reply).startswith(("MOVED ", "ASK "))


ASKING = b"*1\r\n$6\r\nASKING\r\n"


#: redirected keys remembered per db for the ASKING pass; beyond this they only count as moved
REDIRECT_CAP = 100_000


def scan_error(reply: Any) -> Exception:
    if denied(reply):
        return Denied("SCAN", str(reply))
    return redis.ResponseError(str(reply))
