"""Module data types known by name: the readable name a table shows beside the raw type (as
TYPE and the RDB name it), and the cheap length command where the module has one.

A module type has no element count the server keeps for every type (no STRLEN/LLEN...): where
the module has a cheap one (JSON.OBJLEN/ARRLEN of the root, VCARD, BF.CARD, CF.INFO) the scan
asks it after TYPE; elsewhere (Count-Min, Top-K, t-digest, TimeSeries) the count is unknown."""

from __future__ import annotations

from typing import Any

#: raw type name (TYPE's reply, the RDB's 9-character module type name) -> readable name
READABLE = {
    "ReJSON-RL": "json",
    "MBbloom--": "bloom",
    "MBbloomCF": "cuckoo",
    "CMSk-TYPE": "count-min sketch",
    "TopK-TYPE": "top-k",
    "TDIS-TYPE": "t-digest",
    "TSDB-TYPE": "timeseries",
    "vectorset": "vector set",
}

#: per type, its length commands after the key (each answered with one reply)
MODULE_LENGTH_COMMANDS: dict[bytes, tuple[tuple[bytes, ...], ...]] = {
    # the root's member count when it is an object, its length when it is an array: each
    # answers [n] or [nil] (RESP2) with the path $, and never an error for a JSON key
    b"ReJSON-RL": ((b"JSON.OBJLEN", b"$"), (b"JSON.ARRLEN", b"$")),
    b"vectorset": ((b"VCARD",),),
    b"MBbloom--": ((b"BF.CARD",),),
    b"MBbloomCF": ((b"CF.INFO",),),
}

#: CF.INFO's count of the items in the filter (deletions already taken off)
_CF_INSERTED = b"Number of items inserted"


def readable(type_name: str) -> str | None:
    """The readable name of a module type (None for a built-in or unknown type)."""
    return READABLE.get(type_name)


def label(type_name: str) -> str:
    """A type as a table shows it: the raw name, and the readable one beside it."""
    name = READABLE.get(type_name)
    return type_name if name is None else f"{type_name} ({name})"


def module_length(replies: list[Any]) -> int | None:
    """The element count from a module type's length replies (None: unknown). An error reply
    (a hiredis ReplyError, an Exception) counts as unknown."""
    for reply in replies:
        if isinstance(reply, (bool, Exception)):
            continue
        if isinstance(reply, int):
            return reply
        if isinstance(reply, list) and len(reply) == 1 and isinstance(reply[0], int):
            return reply[0]  # JSON.OBJLEN key $: [n]; [nil] for a root of another kind
        if isinstance(reply, list) and _CF_INSERTED in reply:
            inserted = dict(zip(reply[::2], reply[1::2], strict=False)).get(_CF_INSERTED)
            if isinstance(inserted, int):
                return inserted
    return None
