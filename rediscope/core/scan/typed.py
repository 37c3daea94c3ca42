"""Typed walks: one `SCAN cursor COUNT n TYPE t` per type, all from the same cursor in the same
request, so each key's type comes back with SCAN and TYPE leaves the per-key commands.

Why the walks stay in lockstep: SCAN stops after visiting COUNT entries of the keyspace whatever
the filter (the TYPE filter only drops entries from the reply), so SCANs of different types
from the same cursor visit the same buckets and return the same next cursor. The SCANs of one
request run back to back on the server (one client's pipelined commands are executed in a row),
so a key is in exactly one of the typed replies: the union is what one untyped SCAN would have
returned. Keys of module types have no type name SCAN can filter on; when the server may hold
some (MODULE LIST is not empty, or is denied), an untyped SCAN joins the request and its keys
that no typed SCAN returned are measured with TYPE asked per key.

If the cursors ever differ (a table rehashed between the SCANs of one request, or a server that
counts only matching keys), that step's typed keys are dropped and the step is walked again
untyped from the same cursor: the scan stays exactly an untyped walk, one step slower.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from rediscope.core.pipeline.options import TYPES
from rediscope.core.resp import encode
from rediscope.core.scan.replies import is_error, scan_error


@dataclass(frozen=True)
class Walks:
    """What one SCAN step of a db asks: a typed SCAN per type in `types` (empty: none), and an
    untyped SCAN when `untyped` (keys of module types, or the whole step on the fallback)."""

    types: tuple[bytes, ...]
    untyped: bool

    @property
    def scans(self) -> int:
        return len(self.types) + int(self.untyped)


#: one untyped SCAN: servers before 6.0, --no-type-walks, and the fallback step
UNTYPED = Walks((), True)


def walks_for(
    type_filter: str | None, typed: bool, modules: bool
) -> tuple[Walks, Walks]:  # (normal steps, the fallback step)
    """The SCANs of each step: with --type one typed SCAN, else one per known type and, where
    module types may exist, an untyped one."""
    if type_filter is not None:
        one = Walks((type_filter.encode(),), False)  # one SCAN: its cursor cannot diverge
        return one, one
    if not typed:
        return UNTYPED, UNTYPED
    return Walks(tuple(t.encode() for t in TYPES), modules), UNTYPED


def scan_commands(cursor: bytes, count: int, match: str | None, walks: Walks) -> bytes:
    """The step's SCAN commands, typed ones first, the untyped one last."""
    head: list[bytes] = [b"SCAN", cursor]
    if match:
        head += [b"MATCH", match.encode()]
    head += [b"COUNT", str(count).encode()]
    out = [encode(*head, b"TYPE", t) for t in walks.types]
    if walks.untyped:
        out.append(encode(*head))
    return b"".join(out)


@dataclass
class Step:
    """One step's SCAN replies sorted out."""

    cursor: bytes  # where the next step starts (b"0": the walk is done)
    typed: list[tuple[bytes, list[bytes]]] = field(default_factory=list)  # (type, keys)
    untyped: list[bytes] = field(default_factory=list)  # keys whose type is asked per key
    diverged: bool = False  # the cursors differed and no untyped reply covers the step

    @property
    def keys(self) -> int:
        return sum(len(k) for _, k in self.typed) + len(self.untyped)


def split(replies: Sequence[Any], walks: Walks) -> Step:
    """The SCAN replies of one step (`walks.scans` of them, in the order sent)."""
    for reply in replies:
        if is_error(reply):
            raise scan_error(reply)
    cursors = {r[0] for r in replies}
    typed = [(t, r[1]) for t, r in zip(walks.types, replies, strict=False) if r[1]]
    if not walks.untyped:
        if len(cursors) > 1:
            return Step(cursor=b"", diverged=True)
        return Step(cursor=replies[0][0], typed=typed)
    cursor, everything = replies[-1][0], replies[-1][1]
    if len(cursors) > 1:  # the untyped reply is the step: every key's type asked
        return Step(cursor=cursor, untyped=everything)
    if not typed:
        return Step(cursor=cursor, untyped=everything)
    seen = set().union(*(set(k) for _, k in typed))
    rest = [k for k in everything if k not in seen]
    return Step(cursor=cursor, typed=typed, untyped=rest)


def cut(step: Step, room: int) -> Step:
    """The first ROOM keys of a step for --sample, taken evenly across its types so that the
    sample keeps the keyspace's type mix (the typed replies come grouped by type)."""
    if room >= step.keys:
        return step
    flat = [(t, k) for t, keys in step.typed for k in keys] + [(None, k) for k in step.untyped]
    chosen = [flat[i * len(flat) // room] for i in range(room)] if room > 0 else []
    typed: dict[bytes, list[bytes]] = {}
    untyped: list[bytes] = []
    for t, k in chosen:
        if t is None:
            untyped.append(k)
        else:
            typed.setdefault(t, []).append(k)
    return Step(cursor=b"0", typed=list(typed.items()), untyped=untyped)
