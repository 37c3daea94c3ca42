"""The live source's RESP: request formats built once per scan, and the classification of error replies (denied, redirected, gone)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import hiredis
import redis

from rediscope.core.failures import is_denied
from rediscope.core.pipeline.modtypes import MODULE_LENGTH_COMMANDS, module_length
from rediscope.core.pipeline.options import LENGTH_COMMANDS


class Denied(Exception):
    def __init__(self, command: str, reply: str) -> None:
        super().__init__(command)
        self.command = command
        self.reply = reply


KEY = b"$%d\r\n%b\r\n"  # a key as a bulk string, formatted with (len(key), key)


#: per type, the length command as a %-format taking (len(key), key)
LENGTH_FORMATS = {t: b"*2\r\n$%d\r\n%b\r\n" % (len(c), c) + KEY for t, c in LENGTH_COMMANDS.items()}


def _command(args: tuple[bytes, ...]) -> bytes:
    """One command on a key as a %-format taking (len(key), key): the key second."""
    head = b"*%d\r\n$%d\r\n%b\r\n" % (len(args) + 1, len(args[0]), args[0])
    return head + KEY + b"".join(b"$%d\r\n%b\r\n" % (len(a), a) for a in args[1:])


#: per module type, its length commands as one %-format (taking (len(key), key) once per
#: command); asked only after TYPE said the key is of that type
MODULE_LENGTH_FORMATS = {
    t: b"".join(_command(c) for c in cmds) for t, cmds in MODULE_LENGTH_COMMANDS.items()
}
#: each module length format's commands, one format each (one reply each)
MODULE_PARTS = {
    MODULE_LENGTH_FORMATS[t]: tuple(_command(c) for c in cmds)
    for t, cmds in MODULE_LENGTH_COMMANDS.items()
}
MODULE_REPLIES = {fmt: len(parts) for fmt, parts in MODULE_PARTS.items()}


def length_format(type_name: bytes) -> bytes | None:
    """The length command(s) of a type TYPE named: a built-in's, or a module's where it has a
    cheap one (None: no count)."""
    return LENGTH_FORMATS.get(type_name) or MODULE_LENGTH_FORMATS.get(type_name)


def length_request(fmt: bytes, key: bytes) -> bytes:
    """A length format filled with KEY (once per command it holds)."""
    return fmt % ((len(key), key) * MODULE_REPLIES.get(fmt, 1))


def length_requests(fmt: bytes, key: bytes) -> list[bytes]:
    """A length format's commands filled with KEY, one each."""
    return [part % (len(key), key) for part in MODULE_PARTS.get(fmt, (fmt,))]


def replies_of(fmt: bytes) -> int:
    return MODULE_REPLIES.get(fmt, 1)


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


@dataclass
class Decoded:
    """A batch's replies sorted out: the keys that were measured, with their columns, and what
    happened to the others."""

    keys: list[bytes]
    columns: dict[str, list[Any]]  # column name -> one value per kept key
    lengths: list[int | None] | None
    retyped: int  # WRONGTYPE on the length command: the key changed type under us
    vanished: int  # gone between SCAN and the per-key commands (deleted, expired)
    redirected: list[bytes]  # MOVED/ASK: their slot is served elsewhere now
    retyped_keys: list[bytes] = field(default_factory=list)  # WRONGTYPE on the length command


def decode(
    keys: list[bytes],
    replies: list[Any],
    columns: list[str],
    length_cmds: list[bytes | None] | None,
    length_replies: list[Any] | None,
    types: list[bytes] | None = None,
) -> Decoded:
    """Phase-A replies (`len(columns)` per key) and the length replies (one per non-None
    command) into the keys to deliver; a denied command raises Denied. A typed batch (TYPES
    known from SCAN TYPE, or predicted) has no TYPE column, and its length replies are its
    "length" column."""
    ncols = len(columns)
    cols = {name: replies[i::ncols] for i, name in enumerate(columns)}
    if types is not None:
        cols["type"] = types
        if "length" in cols:
            length_replies = cols.pop("length")
            length_cmds = [LENGTH_FORMATS[t] for t in types]
        columns = [c for c in columns if c != "length"]
    redirected: set[int] = set()
    for name in columns:
        col = cols[name]
        if ReplyError not in map(type, col):  # the common case, checked in C
            continue
        bad = next(r for r in col if is_error(r))
        if denied(bad):
            raise Denied(name, str(bad))
        redirected.update(i for i, r in enumerate(col) if redirect(r))
        cols[name] = [None if is_error(r) else r for r in col]
    lengths, retyped = _lengths(len(keys), length_cmds, length_replies, redirected)
    retyped -= redirected
    skip = retyped | redirected
    if not skip and _all_present(cols):  # the common case, checked in C
        return Decoded(keys, cols, lengths, 0, 0, [])
    keep = [i for i, t in enumerate(cols["type"]) if t is not None and t != b"none"]
    keep = _present(keep, cols, skip)
    return Decoded(
        keys=[keys[i] for i in keep],
        columns={n: [c[i] for i in keep] for n, c in cols.items()},
        lengths=[lengths[i] for i in keep] if lengths is not None else None,
        retyped=len(retyped),
        vanished=len(keys) - len(keep) - len(retyped) - len(redirected),
        redirected=[keys[i] for i in sorted(redirected)],
        retyped_keys=[keys[i] for i in sorted(retyped)],
    )


def _all_present(cols: dict[str, list[Any]]) -> bool:
    types, memory = cols["type"], cols.get("memory")
    ttl, encoding = cols.get("ttl_ms"), cols.get("encoding")
    return (
        b"none" not in types
        and None not in types
        and (memory is None or None not in memory)
        and (ttl is None or -2 not in ttl)
        and (encoding is None or None not in encoding)
    )


def _present(keep: list[int], cols: dict[str, list[Any]], skip: set[int]) -> list[int]:
    """The keys still there: not skipped, and not answered as gone (MEMORY USAGE nil, PTTL -2,
    OBJECT ENCODING an error: after SCAN TYPE no TYPE reply says "none")."""
    memory, ttl, encoding = cols.get("memory"), cols.get("ttl_ms"), cols.get("encoding")
    return [
        i
        for i in keep
        if i not in skip
        and (memory is None or memory[i] is not None)
        and (ttl is None or ttl[i] != -2)
        and (encoding is None or encoding[i] is not None)
    ]


def _lengths(
    n: int,
    length_cmds: list[bytes | None] | None,
    length_replies: list[Any] | None,
    redirected: set[int],
) -> tuple[list[int | None] | None, set[int]]:
    """The element count per key (None where not asked or failed) and the retyped keys;
    redirected keys are added to `redirected`."""
    if length_cmds is None or length_replies is None:
        return None, set()
    if len(length_replies) == n and not set(map(type, length_replies)) - {int}:
        return list(length_replies), set()  # one integer per key, none failed: checked in C
    lengths: list[int | None] = [None] * n
    retyped: set[int] = set()
    it = iter(length_replies)
    for i, cmd in enumerate(length_cmds):
        if cmd is None:
            continue
        if cmd in MODULE_REPLIES:  # a module's: an error or another reply is unknown
            values = [next(it) for _ in range(MODULE_REPLIES[cmd])]
            if any(redirect(v) for v in values):
                redirected.add(i)
            lengths[i] = module_length(values)
            continue
        value = next(it)
        if not is_error(value):
            lengths[i] = value
        elif denied(value):
            raise Denied(cmd.split(b"\r\n")[2].decode(), str(value))
        elif redirect(value):
            redirected.add(i)
        else:
            retyped.add(i)
    return lengths, retyped
