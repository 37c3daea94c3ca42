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


def sds(n: int, short_type5: bool = True) -> int:
    """The allocation of an sds of N bytes (header, bytes, the NUL)."""
    if n < 4000 and short_type5:
        return SDS[n]
    if n < 32 and short_type5:
        head = 1
    elif n < 256:
        head = 3
    elif n < 65536:
        head = 5
    else:
        head = 9
    return size_class(head + n + 1)


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


def table(n: int, elements_bytes: int) -> int:
    """A hashtable value (set, hash) of N elements whose allocations sum to ELEMENTS_BYTES."""
    return ROBJ + DICT + 8 * slots(n) + elements_bytes + n * DICT_ENTRY


def skiplist(n: int, elements_bytes: int) -> int:
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


def _sds_slow(n: int) -> int:
    head = 1 if n < 32 else 3 if n < 256 else 5
    return size_class(head + n + 1)


SDS = [_sds_slow(n) for n in range(4000)]
