"""What MEMORY USAGE counts differs by server family and version: memest's model is Redis 7's,
and a Layout corrects it per key for the server that wrote the file (its aux `valkey-ver` or
`redis-ver`: a file has no server to ask). Calibrated against MEMORY USAGE SAMPLES 0 on the
builds in ../shared/servers (docs/memory.md has the table)."""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import cast

from rediscope.core.rdbfile.memest import rehash_slots


@dataclass(frozen=True)
class Layout:
    name: str
    per_key: int = (
        0  # the keyspace entry and the key itself: Redis 8 and Valkey 8.1 drop the dictEntry
    )
    per_set_member: float = 0.0  # a hashtable set's member
    per_hash_field: float = 0.0  # a hashtable hash's field
    per_zset_member: float = 0.0  # a skiplist sorted set's member
    #: MEMORY USAGE counts a stream's trees (its PELs) by their allocations (Valkey 8.1+)
    rax_allocated: bool = False
    #: the writer's jemalloc has an 8-byte quantum: Redis 7.2+ and Valkey as built from their
    #: sources (the bundled copy); a distribution's package (Debian's 7.0) links the system's,
    #: with a 16-byte quantum. The file does not say: this is the likely build of the version
    small_classes: bool = False
    #: types whose table is the new hashtable (Valkey 8.1+): no old table is held after a
    #: growth, as memest counts for a dict grown by writes
    settled: tuple[bytes, ...] = ()

    def correct(
        self, rtype: bytes, encoding: bytes | None, n: int | None, mem: int | None
    ) -> int | None:
        """MEM (memest's estimate of one key; None: unknown, a module's) for this layout."""
        if mem is None:
            return None
        per = 0.0
        if encoding == b"hashtable":
            per = self.per_set_member if rtype == b"set" else self.per_hash_field
        elif encoding == b"skiplist":
            per = self.per_zset_member
        if rtype in self.settled and encoding == b"hashtable":
            mem -= 8 * rehash_slots(n or 0)
        return max(0, mem + self.per_key + round(per * (n or 0)))

    def correct_all(
        self,
        types: list[bytes],
        encodings: list[bytes | None],
        lengths: list[int | None],
        memory: list[int | None],
    ) -> list[int | None]:
        """correct() of each row of a batch's columns: the per-key term over the column at
        once, the per-element one only on the rows in a hashtable or skiplist encoding."""
        k = self.per_key
        if None in memory:
            out = [None if m is None else max(0, m + k) for m in memory]
        else:
            out = [m + k for m in cast("list[int]", memory)]
            if out and min(cast("list[int]", out)) < 0:
                out = [max(0, m) for m in cast("list[int]", out)]
        correct = self.correct
        for i in [i for i, e in enumerate(encodings) if e in _PER_ELEMENT]:
            out[i] = correct(types[i], encodings[i], lengths[i], memory[i])
        return out


#: the encodings whose keys correct() adds a per-element term to
_PER_ELEMENT = frozenset({b"hashtable", b"skiplist"})

REDIS_7 = Layout("redis 7")
#: Redis 7.2 to 7.4 as built from source: the model, in the 8-byte quantum's size classes
REDIS_7_2 = Layout("redis 7.2", per_zset_member=-7.5, small_classes=True)
#: Redis 8: the key lives in the object (kvobj), the keyspace has no dictEntry; sorted-set
#: members are embedded in their skiplist nodes
REDIS_8 = Layout("redis 8", per_key=-24, per_zset_member=-16.0, small_classes=True)
#: Valkey 8.0: keys embedded in the dictEntry; set members stored as the dict's keys only
VALKEY_8_0 = Layout(
    "valkey 8.0", per_key=-8, per_set_member=-20.0, per_zset_member=-7.5, small_classes=True
)
#: Valkey 8.1: the new hashtable (no dictEntry: keys, set members and hash fields sit in
#: 64-byte buckets of 7)
VALKEY_8_1 = Layout(
    "valkey 8.1",
    -16,
    per_set_member=-14.4,
    per_hash_field=-15.1,
    per_zset_member=-7.5,
    rax_allocated=True,
    small_classes=True,
    settled=(b"set", b"hash"),
)
#: Valkey 9: as 8.1, and sorted sets on the new hashtable too
VALKEY_9 = replace(VALKEY_8_1, name="valkey 9", per_zset_member=-15.8)


def _version(text: str) -> tuple[int, int]:
    parts = text.split(".")
    try:
        return int(parts[0]), int(parts[1]) if len(parts) > 1 else 0
    except ValueError:
        return (0, 0)


def layout_of(aux: dict[str, str], magic: str) -> Layout:
    """The layout of the server that wrote a file with these aux fields."""
    if "valkey-ver" in aux or magic == "VALKEY":
        version = _version(aux.get("valkey-ver", "9.0"))
        if version >= (9, 0):
            return VALKEY_9
        return VALKEY_8_1 if version >= (8, 1) else VALKEY_8_0 if version >= (8, 0) else REDIS_7
    redis = _version(aux.get("redis-ver", "0"))
    if (8, 0) <= redis < (255, 0):
        return REDIS_8
    return REDIS_7_2 if (7, 2) <= redis < (8, 0) else REDIS_7
