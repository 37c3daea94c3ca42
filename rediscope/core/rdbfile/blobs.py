"""Counting the elements of the compact encodings a value is stored in (listpack, ziplist,
intset, zipmap), from their headers when the header knows and by walking the entries when it
does not (more than 65,534 entries; a zipmap past 253 pairs)."""

from __future__ import annotations

from collections.abc import Callable

from rediscope.core.rdbfile.check import RdbError


class BadBlob(RdbError):
    """A compact encoding whose bytes do not hold together."""


def _backlen_size(n: int) -> int:
    return 1 if n < 128 else 2 if n < 16384 else 3 if n < 2097152 else 4 if n < 268435456 else 5


def listpack_count(lp: bytes) -> int:
    """Entries in a listpack (the header's count, else a walk of the entries)."""
    if len(lp) < 7 or lp[-1] != 0xFF:
        raise BadBlob("a listpack without its header or end byte")
    total = int.from_bytes(lp[0:4], "little")
    if total != len(lp):
        raise BadBlob(f"a listpack of {len(lp)} bytes whose header says {total}")
    count = int.from_bytes(lp[4:6], "little")
    return count if count != 65535 else _walk_listpack(lp)


def _walk_listpack(lp: bytes) -> int:
    i, n, end = 6, 0, len(lp) - 1
    while i < end:
        b = lp[i]
        if b < 0x80:
            size = 1
        elif b < 0xC0:
            size = 1 + (b & 0x3F)
        elif b < 0xE0:
            size = 2
        elif b < 0xF0:
            size = 2 + (((b & 0x0F) << 8) | lp[i + 1])
        elif b == 0xF0:
            size = 5 + int.from_bytes(lp[i + 1 : i + 5], "little")
        elif 0xF1 <= b <= 0xF4:
            size = {0xF1: 3, 0xF2: 4, 0xF3: 5, 0xF4: 9}[b]
        else:
            raise BadBlob(f"a listpack entry with encoding 0x{b:02x}")
        i += size + _backlen_size(size)
        n += 1
    if i != end:
        raise BadBlob("a listpack whose entries overrun its end")
    return n


def ziplist_count(zl: bytes) -> int:
    """Entries in a ziplist (the header's count, else a walk of the entries)."""
    if len(zl) < 11 or zl[-1] != 0xFF:
        raise BadBlob("a ziplist without its header or end byte")
    if int.from_bytes(zl[0:4], "little") != len(zl):
        raise BadBlob("a ziplist whose header gives another size")
    count = int.from_bytes(zl[8:10], "little")
    return count if count != 65535 else _walk_ziplist(zl)


_ZL_INT = {0xC0: 2, 0xD0: 4, 0xE0: 8, 0xF0: 3, 0xFE: 1}


def _walk_ziplist(zl: bytes) -> int:
    i, n, end = 10, 0, len(zl) - 1
    while i < end:
        i += 1 if zl[i] < 254 else 5  # prevlen
        b = zl[i]
        kind = b >> 6
        if kind == 0:
            i += 1 + (b & 0x3F)
        elif kind == 1:
            i += 2 + (((b & 0x3F) << 8) | zl[i + 1])
        elif kind == 2:
            i += 5 + int.from_bytes(zl[i + 1 : i + 5], "big")
        elif b in _ZL_INT:
            i += 1 + _ZL_INT[b]
        elif 0xF1 <= b <= 0xFD:
            i += 1
        else:
            raise BadBlob(f"a ziplist entry with encoding 0x{b:02x}")
        n += 1
    if i != end:
        raise BadBlob("a ziplist whose entries overrun its end")
    return n


def intset_count(blob: bytes) -> int:
    if len(blob) < 8:
        raise BadBlob("an intset without its header")
    width = int.from_bytes(blob[0:4], "little")
    count = int.from_bytes(blob[4:8], "little")
    if width not in (2, 4, 8) or len(blob) != 8 + width * count:
        raise BadBlob(f"an intset of {count} x {width}-byte integers in {len(blob)} bytes")
    return count


def zipmap_count(zm: bytes) -> int:
    """Field-value pairs in a zipmap (RDB type 9, Redis 2.x)."""
    if len(zm) < 2 or zm[-1] != 0xFF:
        raise BadBlob("a zipmap without its end byte")
    if zm[0] < 254:
        return zm[0]
    i, n = 1, 0
    while zm[i] != 0xFF:
        for is_value in (False, True):
            ln = zm[i]
            if ln < 254:
                i += 1
            else:
                ln = int.from_bytes(zm[i + 1 : i + 5], "little")
                i += 5
            free = zm[i] if is_value else 0
            i += (1 if is_value else 0) + ln + free
        n += 1
    return n


#: per encoding: the bytes of its header, the count the header gives (None: walk the
#: entries), and the walk
Counter = tuple[int, Callable[[bytes, int], int | None], Callable[[bytes], int]]


def _lp_head(head: bytes, size: int) -> int | None:
    if size < 7 or len(head) < 6 or int.from_bytes(head[0:4], "little") != size:
        raise BadBlob(f"a listpack of {size} bytes whose header says otherwise")
    count = int.from_bytes(head[4:6], "little")
    return None if count == 65535 else count


def _zl_head(head: bytes, size: int) -> int | None:
    if size < 11 or len(head) < 10 or int.from_bytes(head[0:4], "little") != size:
        raise BadBlob("a ziplist without its header, or whose header gives another size")
    count = int.from_bytes(head[8:10], "little")
    return None if count == 65535 else count


def _is_head(head: bytes, size: int) -> int | None:
    if len(head) < 8:
        raise BadBlob("an intset without its header")
    width = int.from_bytes(head[0:4], "little")
    count = int.from_bytes(head[4:8], "little")
    if width not in (2, 4, 8) or size != 8 + width * count:
        raise BadBlob(f"an intset of {count} x {width}-byte integers in {size} bytes")
    return count


def _zm_head(head: bytes, size: int) -> int | None:
    if size < 2 or not head:
        raise BadBlob("a zipmap without its length")
    return head[0] if head[0] < 254 else None


LISTPACK: Counter = (6, _lp_head, listpack_count)
ZIPLIST: Counter = (10, _zl_head, ziplist_count)
INTSET: Counter = (8, _is_head, intset_count)
ZIPMAP: Counter = (1, _zm_head, zipmap_count)
