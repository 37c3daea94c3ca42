"""One reader per RDB value type: each passes over the value and says what it is (type, the
encoding it was saved in, its element count) and what it costs in memory (memest)."""

from __future__ import annotations

from collections.abc import Callable
from typing import NamedTuple

from rediscope.core.rdbfile import compiled, memest
from rediscope.core.rdbfile.blobs import INTSET, LISTPACK, ZIPLIST, ZIPMAP, BadBlob, Counter
from rediscope.core.rdbfile.rax import RaxCounter, group_bytes
from rediscope.core.rdbfile.stream import ByteStream, Malformed

_DIGITS = frozenset(b"0123456789")


class Value(NamedTuple):
    type: bytes  # as TYPE names it: string, list, set, zset, hash, stream, or the module's
    encoding: bytes  # the encoding it was saved in (as OBJECT ENCODING names it)
    #: STRLEN, LLEN, SCARD, ZCARD, HLEN, XLEN; a module value's count where its model tells
    #: (modules.py), else None
    elements: int | None
    #: the value's estimated bytes in memory (without the key); None: a module value of a type
    #: with no model (unknown)
    memory: int | None


def _string(s: ByteStream) -> Value:
    buf, pos = s.buf, s.pos
    if pos + 21 < len(buf) and buf[pos] <= 20:  # the fast path: a short plain string
        n = buf[pos]
        s.pos = pos + 1 + n
        text = buf[pos + 1 : pos + 1 + n]
        if _is_long(text):
            return Value(b"string", b"int", n, memest.ROBJ)
        return Value(b"string", b"embstr", n, memest.string_value(n, False))
    n, encoded = s.length_or_encoding()
    if encoded or n > 20:  # an integer encoding, LZF, or too long to be an integer
        return _string_slow(s, n, encoded)
    text = s.read(n)
    is_int = _is_long(text)
    enc = b"int" if is_int else b"embstr"
    return Value(b"string", enc, n, memest.string_value(n, is_int))


def _string_slow(s: ByteStream, n: int, encoded: bool) -> Value:
    if not encoded:
        s.skip(n)
        enc = b"embstr" if n <= 44 else b"raw"
        return Value(b"string", enc, n, memest.string_value(n, False))
    if n == 3:  # LZF
        clen, ulen = s.length(), s.length()
        s.skip(clen)
        enc = b"embstr" if ulen <= 44 else b"raw"
        return Value(b"string", enc, ulen, memest.string_value(ulen, False))
    width = {0: 1, 1: 2, 2: 4}.get(n)
    if width is None:
        raise Malformed(f"unknown string encoding {n}")
    v = int.from_bytes(s.read(width), "little", signed=True)
    return Value(b"string", b"int", len(str(v)), memest.ROBJ)


def _is_long(text: bytes) -> bool:
    """Whether the server keeps TEXT as an integer (string2l: no sign on 0, no leading 0)."""
    if not text or len(text) > 20 or not (text[0] in _DIGITS or text[0] == 45):
        return False
    try:
        v = int(text)
    except ValueError:
        return False
    return -(2**63) <= v < 2**63 and str(v).encode() == text


def _elements_list(s: ByteStream, n: int, per: int = 1, score: int = 0) -> int:
    """Pass over N strings (each with a score: 1 binary, 2 text); the sum of their sds
    allocations (in the writer's size classes). The compiled loop reads what is whole in the buffer, the code here the element
    at its end (refilling it) and any it leaves."""
    total, left, small = 0, n * per, s.small_classes
    fast = compiled.elements if compiled.fits(left) else None
    while left > 0:
        if fast is not None:
            s.pos, done, add = fast(s.buf, s.pos, left, score, small)
            total += add
            left -= done
            if left == 0:
                break
        size, _ = s.string_size()
        total += memest.sds(size, small=small)
        if score == 1:
            s.skip(8)
        elif score == 2:
            s.text_double()
        left -= 1
    return total


def _counted(s: ByteStream, counter: Counter) -> tuple[int, int]:
    """A compact-encoded value's (element count, bytes), decompressing only its header
    unless the header cannot tell the count."""
    head_len, from_head, walk = counter
    head, size, blob = s.blob_head(head_len)
    count = from_head(head, size)
    if count is None:
        whole = blob if blob is not None else s.whole()
        try:
            count = walk(whole)
        except IndexError:  # an entry whose length runs past the end of the blob
            raise BadBlob("a compact encoding whose entries run past its end") from None
    return count, size


def _list_linked(s: ByteStream) -> Value:
    n = s.length()
    sizes = [s.string_size()[0] for _ in range(n)]
    lp = sum(2 + x for x in sizes)  # as listpack nodes after loading
    nodes = [min(lp, 8192)] * max(1, -(-lp // 8192))
    return Value(b"list", b"linkedlist", n, memest.quicklist(nodes))


def _set(s: ByteStream) -> Value:
    n = s.length()
    return Value(b"set", b"hashtable", n, memest.table(n, _elements_list(s, n)))


def _zset(binary: bool) -> Callable[[ByteStream], Value]:
    def read(s: ByteStream) -> Value:
        n = s.length()
        total = _elements_list(s, n, score=1 if binary else 2)
        return Value(b"zset", b"skiplist", n, memest.skiplist(n, total))

    return read


def _hash(s: ByteStream) -> Value:
    n = s.length()
    return Value(b"hash", b"hashtable", n, memest.table(n, _elements_list(s, n, 2)))


def _compact(
    tname: bytes, enc: bytes, counter: Counter, per: int = 1
) -> Callable[[ByteStream], Value]:
    def read(s: ByteStream) -> Value:
        count, size = _counted(s, counter)
        if enc == b"intset" and s.valkey:
            return Value(tname, enc, count, memest.ROBJ + size)
        return Value(tname, enc, count // per, memest.compact(size))

    return read


def _quicklist(version: int) -> Callable[[ByteStream], Value]:
    def read(s: ByteStream) -> Value:
        nodes = s.length()
        total, sizes = 0, []
        for _ in range(nodes):
            container = s.length() if version == 2 else 2
            if container == 1:  # a plain node: one big element
                size, _ = s.string_size()
                total += 1
            elif container == 2:
                count, size = _counted(s, LISTPACK if version == 2 else ZIPLIST)
                total += count
            else:
                raise Malformed(f"a quicklist node with container {container}")
            sizes.append(size)
        if s.listpack_lists and version == 2 and nodes == 1 and container == 2:
            return Value(b"list", b"listpack", total, memest.compact(sizes[0]))
        return Value(b"list", b"quicklist", total, memest.quicklist(sizes))

    return read


def _hash_metadata(with_min: bool) -> Callable[[ByteStream], Value]:
    """Redis 7.4 hashes with field expiry in a hashtable (24; 22 its pre-GA form)."""

    def read(s: ByteStream) -> Value:
        if with_min:
            s.skip(8)  # the smallest field expiry
        n = s.length()
        total = 0
        for _ in range(n):
            s.length()  # the field's TTL (0: none)
            total += memest.sds(s.string_size()[0]) + memest.sds(s.string_size()[0])
        return Value(b"hash", b"hashtable", n, memest.table(n, total))

    return read


def _hash_listpack_ex(with_min: bool) -> Callable[[ByteStream], Value]:
    """Redis 7.4 listpack hashes with field expiry: (field, value, ttl) triples (25; 23)."""

    def read(s: ByteStream) -> Value:
        if with_min:
            s.skip(8)
        count, size = _counted(s, LISTPACK)
        return Value(b"hash", b"listpackex", count // 3, memest.compact(size))

    return read


def _hash_2(s: ByteStream) -> Value:
    """Valkey 9's hash with field expiry: (field, value, expiry ms) per entry."""
    n = s.length()
    total = 0
    for _ in range(n):
        total += memest.sds(s.string_size()[0]) + memest.sds(s.string_size()[0])
        s.skip(8)
    return Value(b"hash", b"hashtable", n, memest.table(n, total))


def _stream(version: int) -> Callable[[ByteStream], Value]:
    def read(s: ByteStream) -> Value:
        nodes = s.length()
        sizes = []
        for _ in range(nodes):
            if s.string_size()[0] != 16:
                raise Malformed("a stream node whose master id is not 16 bytes")
            sizes.append(s.string_size()[0])
        length = s.length()
        for _ in range(2 + (5 if version >= 2 else 0)):  # last id; first, max deleted, added
            s.length()
        groups = sum(_stream_group(s, version) for _ in range(s.length()))
        return Value(b"stream", b"stream", length, memest.stream(sizes, groups))

    return read


def _stream_group(s: ByteStream, version: int) -> int:
    """One consumer group, read to the shape of its PEL's tree and its consumers' (the IDs
    come in order, as the server walked its trees): what it costs (rax.group_bytes)."""
    s.string_size()  # name
    s.length(), s.length()  # last delivered id
    if version >= 2:
        s.length()  # entries read
    pel = RaxCounter()
    for _ in range(s.length()):
        pel.add(s.read(16))  # id
        s.skip(8)  # delivery time
        s.length()  # delivery count
    consumers = []
    for _ in range(s.length()):
        name = s.string_size()[0]
        s.skip(8 if version < 3 else 16)  # seen time (and active time)
        own = RaxCounter()
        for _ in range(s.length()):
            own.add(s.read(16))
        consumers.append((name, own.shape()))
    return group_bytes(version, pel.shape(), consumers, s.rax_allocated)


READERS: dict[int, Callable[[ByteStream], Value]] = {
    0: _string,
    1: _list_linked,
    2: _set,
    3: _zset(binary=False),
    4: _hash,
    5: _zset(binary=True),
    9: _compact(b"hash", b"zipmap", ZIPMAP),
    10: _compact(b"list", b"ziplist", ZIPLIST),
    11: _compact(b"set", b"intset", INTSET),
    12: _compact(b"zset", b"ziplist", ZIPLIST, 2),
    13: _compact(b"hash", b"ziplist", ZIPLIST, 2),
    14: _quicklist(1),
    15: _stream(1),
    16: _compact(b"hash", b"listpack", LISTPACK, 2),
    17: _compact(b"zset", b"listpack", LISTPACK, 2),
    18: _quicklist(2),
    19: _stream(2),
    20: _compact(b"set", b"listpack", LISTPACK),
    21: _stream(3),
    22: _hash_metadata(with_min=False),
    23: _hash_listpack_ex(with_min=False),
    24: _hash_metadata(with_min=True),
    25: _hash_listpack_ex(with_min=True),
}

#: under the VALKEY magic, type 22 is Valkey 9's hash with field expiry
VALKEY_READERS = {**READERS, 22: _hash_2}
for _t in (23, 24, 25):
    VALKEY_READERS.pop(_t)
