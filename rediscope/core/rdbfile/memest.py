"""The in-memory size of a key, estimated from how it is stored: the model of docs/memory.md.

It follows what MEMORY USAGE counts on Redis 7 (object.c objectComputeSize with SAMPLES 0,
plus the key's sds and its dict entry), with jemalloc's size classes for every allocation:
robj 16 bytes, dictEntry 24, an sds header of 1/3/5/9 bytes by length (type 5 for keys and
elements under 32 bytes), embstr up to 44 bytes, listpacks and intsets one allocation."""

from __future__ import annotations

ROBJ = 16
DICT_ENTRY = 24
DICT = 56
QUICKLIST = 40
QUICKLIST_NODE = 40
ZSET_HEAD = 16 + 32 + 640  # the zset, its skiplist, the 32-level header node (536 -> 640)
ZSKIPLIST_NODE = 53  # the mean size class of a node of random level (p = 1/4): 48, 64, 80...
STREAM = 520  # the stream, its rax and the first rax node
STREAM_PREALLOC = 4096  # the newest node's listpack is allocated to stream-node-max-bytes
STREAM_NODE = 400  # a rax node holding a listpack's master id, with its share of the inner nodes


def size_class(n: int) -> int:
    """jemalloc's size class for an allocation of N bytes (8, 16, 32, 48 ... then four per
    doubling: 160, 192, 224, 256, 320 ...)."""
    if n <= 8:
        return 8
    if n <= 128:
        return (n + 15) & ~15
    spacing = 1 << ((n - 1).bit_length() - 3)
    return (n + spacing - 1) & ~(spacing - 1)


def size_class_8(n: int) -> int:
    """The size class of jemalloc built with an 8-byte quantum (`--with-lg-quantum=3`, as
    Redis and Valkey build their bundled copy): 8, 16, 24 ... 64, then as size_class."""
    return (n + 7) & ~7 if n <= 64 else size_class(n)


def sds(n: int, short_type5: bool = True, small: bool = False) -> int:
    """The allocation of an sds of N bytes (header, bytes, the NUL); SMALL: in the 8-byte
    quantum's classes."""
    if small:
        return SDS_8[n] if n < 4000 and short_type5 else size_class_8(_sds_need(n, short_type5))
    if n < 4000 and short_type5:
        return SDS[n]
    return size_class(_sds_need(n, short_type5))


def key_cost(keylen: int) -> int:
    """What MEMORY USAGE adds for the key itself: its sds and its dict entry."""
    return (SDS[keylen] if keylen < 4000 else sds(keylen)) + DICT_ENTRY


def string_value(length: int, is_int: bool) -> int:
    if is_int:
        return ROBJ
    if length <= 44:
        return size_class(ROBJ + 3 + length + 1)  # embstr: robj and sds in one allocation
    return ROBJ + sds(length, short_type5=False)


def compact(blob_bytes: int) -> int:
    """A value in one listpack, ziplist or intset allocation."""
    return ROBJ + size_class(blob_bytes)


def slots(n: int) -> int:
    size = 4
    while size < n:
        size <<= 1
    return size


#: the share of a full table's buckets that hold an element (1 - 1/e): the rehash steps a
#: doubling takes
REHASH_STEPS = 0.632


def rehash_slots(n: int) -> int:
    """The old table's slots counted for a dict of N elements. A dict that doubles moves one
    bucket per operation on it after (incremental rehash): a set grown by writes holds, and
    MEMORY USAGE counts (dictSlots), both tables until some 0.632x more operations touched it
    (11% more than the settled size for a 50,000-member set of short members). One made by
    a single SADD of many members (sized once), loaded from an RDB, or read since holds one.
    The file cannot tell which: half the old table is counted, within 5% of either state."""
    old = slots(n) // 2
    return old // 2 if old >= 4 and n <= old * (1 + REHASH_STEPS) else 0


def table(n: int, elements_bytes: int) -> int:
    """A hashtable value (set, hash) of N elements whose allocations sum to ELEMENTS_BYTES."""
    return ROBJ + DICT + 8 * (slots(n) + rehash_slots(n)) + elements_bytes + n * DICT_ENTRY


def skiplist(n: int, elements_bytes: int) -> int:
    """A skiplist sorted set: its dict is counted as sized once (a sorted set is most often
    made by a ZADD of many members, which sizes it; not measured grown by writes)."""
    return (
        ROBJ + ZSET_HEAD + DICT + 8 * slots(n) + elements_bytes + n * (DICT_ENTRY + ZSKIPLIST_NODE)
    )


def quicklist(node_bytes: list[int]) -> int:
    return ROBJ + QUICKLIST + sum(QUICKLIST_NODE + size_class(b) for b in node_bytes)


def stream(listpack_bytes: list[int], groups: int) -> int:
    """A stream of listpack nodes of these sizes whose consumer groups cost GROUPS (rax.py)."""
    return (
        ROBJ
        + STREAM
        + sum(size_class(b) + STREAM_NODE for b in listpack_bytes[:-1])
        + (max(size_class(listpack_bytes[-1]), STREAM_PREALLOC) if listpack_bytes else 0)
        + groups
    )


def _sds_need(n: int, short_type5: bool = True) -> int:
    head = 1 if n < 32 and short_type5 else 3 if n < 256 else 5 if n < 65536 else 9
    return head + n + 1


SDS = [size_class(_sds_need(n)) for n in range(4000)]
SDS_8 = [size_class_8(_sds_need(n)) for n in range(4000)]
