"""A forward-only byte stream over an RDB: buffered reads that know their offset, lengths and
strings in the RDB's own encodings, and skips that never hold a value they only measure.

A length field is never trusted for an allocation: strings the reader needs whole are capped
(MAX_NEEDED), everything else is skipped through in chunks, so a hostile length ends in a
"truncated" error at the end of the data, never in a huge allocation."""

from __future__ import annotations

import struct
from typing import IO

from rediscope.core.rdbfile.check import RdbError, crc64
from rediscope.core.rdbfile.lzf import lzf_decompress

CHUNK = 1 << 20
MAX_NEEDED = 64 << 20  # the longest string read whole (listpacks, ziplists, module names)
_q = struct.Struct("<q")
_I = struct.Struct("<I")

ENC_INT8, ENC_INT16, ENC_INT32, ENC_LZF = 0, 1, 2, 3


class Truncated(RdbError):
    """The data ended inside a record."""


class Malformed(RdbError):
    """A field holds what no server writes."""


class ByteStream:
    """Reads from FH; `offset` is the position in the uncompressed RDB."""

    def __init__(self, fh: IO[bytes]) -> None:
        self.fh = fh
        self.buf = b""
        self.pos = 0
        self.base = 0  # offset of buf[0]
        self.eof = False
        self.crc = 0  # CRC-64 of every byte before buf
        #: the writer keeps a one-node list as a plain listpack (Redis 7.2+, Valkey)
        self.listpack_lists = False
        #: the writer is Valkey (MEMORY USAGE counts an intset's exact bytes there)
        self.valkey = False
        #: the writer's MEMORY USAGE counts a stream's trees by their allocations (Valkey 8.1+)
        #: rather than by Redis's estimate of 244 bytes a node
        self.rax_allocated = False
        #: the writer's jemalloc has an 8-byte quantum (24, 40, 56-byte classes): hashtable
        #: elements are rounded to those (memest.size_class_8)
        self.small_classes = False
        self._packed: tuple[bytes, int] = (b"", 0)
        self._cap: list[bytes] | None = None  # capture(): the bytes consumed since
        self._cap_at = 0

    def capture(self) -> None:
        """Start keeping every byte consumed from here on (a value's own bytes, for RESTORE)."""
        self._cap, self._cap_at = [], self.pos

    def captured(self) -> bytes:
        """The bytes consumed since capture(), and stop keeping them."""
        return b"".join(self.captured_parts())

    def captured_parts(self) -> list[bytes]:
        """The bytes consumed since capture(), in the pieces they were read in (no copy of a
        big value made to join them), and stop keeping them."""
        parts = self._cap or []
        self._cap = None
        parts.append(self.buf[self._cap_at : self.pos])
        return parts

    def _keep(self, upto: int) -> None:
        if self._cap is not None:
            self._cap.append(self.buf[self._cap_at : upto])
            self._cap_at = 0

    def crc_so_far(self) -> int:
        """The CRC-64 of every byte consumed up to the current offset."""
        return crc64(self.buf[: self.pos], self.crc)

    @property
    def offset(self) -> int:
        return self.base + self.pos

    def _fill(self, n: int) -> None:
        """Make at least N bytes available at pos (Truncated when the data ends first)."""
        rest = self.buf[self.pos :]
        self._keep(self.pos)
        self.crc = crc64(self.buf[: self.pos], self.crc)
        self.base += self.pos
        parts = [rest]
        have = len(rest)
        while have < n and not self.eof:
            chunk = self.fh.read(max(CHUNK, n - have))
            if not chunk:
                self.eof = True
                break
            parts.append(chunk)
            have += len(chunk)
        self.buf = b"".join(parts)
        self.pos = 0
        if have < n:
            raise Truncated(f"truncated: the data ends {n - have} byte(s) short")

    def read(self, n: int) -> bytes:
        if n > MAX_NEEDED:
            raise Malformed(f"a field claims {n:,} bytes, more than any value this reader needs")
        end = self.pos + n
        if end > len(self.buf):
            self._fill(n)
            end = n
        out = self.buf[self.pos : end]
        self.pos = end
        return out

    def skip(self, n: int) -> None:
        """Pass over N bytes without holding them."""
        left = len(self.buf) - self.pos
        if n <= left:
            self.pos += n
            return
        n -= left
        self._keep(len(self.buf))
        self.crc = crc64(self.buf, self.crc)
        self.base += len(self.buf)
        self.buf, self.pos = b"", 0
        while n > 0:
            chunk = self.fh.read(CHUNK)
            if not chunk:
                self.eof = True
                raise Truncated(f"truncated: the data ends {n:,} byte(s) short")
            if len(chunk) > n:  # the skip ends inside this chunk: keep the rest
                self.buf, self.pos = chunk, n
                return
            if self._cap is not None:
                self._cap.append(chunk)
            self.crc = crc64(chunk, self.crc)
            self.base += len(chunk)
            n -= len(chunk)

    def byte(self) -> int:
        if self.pos >= len(self.buf):
            self._fill(1)
        b = self.buf[self.pos]
        self.pos += 1
        return b

    def at_end(self) -> bool:
        if self.pos < len(self.buf):
            return False
        if self.eof:
            return True
        try:
            self._fill(1)
        except Truncated:
            return True
        return False

    def length(self) -> int:
        """A length; Malformed for a special (encoded) one."""
        value, encoded = self.length_or_encoding()
        if encoded:
            raise Malformed(f"a length was expected, found string encoding {value}")
        return value

    def length_or_encoding(self) -> tuple[int, bool]:
        buf, pos = self.buf, self.pos
        if pos + 9 <= len(buf):  # the fast path: the whole field is in the buffer
            first = buf[pos]
            kind = first >> 6
            if kind == 0:
                self.pos = pos + 1
                return first, False
            if kind == 1:
                self.pos = pos + 2
                return ((first & 0x3F) << 8) | buf[pos + 1], False
            if kind == 3:
                self.pos = pos + 1
                return first & 0x3F, True
        first = self.byte()
        kind = first >> 6
        if kind == 0:
            return first & 0x3F, False
        if kind == 1:
            return ((first & 0x3F) << 8) | self.byte(), False
        if kind == 3:
            return first & 0x3F, True
        if first == 0x80:
            return int.from_bytes(self.read(4), "big"), False
        if first == 0x81:
            return int.from_bytes(self.read(8), "big"), False
        raise Malformed(f"unknown length encoding 0x{first:02x}")

    def string(self) -> bytes:
        """A string as the server would hold it (integers as their decimal text)."""
        buf, pos = self.buf, self.pos
        if pos + 2 < len(buf):  # the fast path: a short plain string inside the buffer
            first = buf[pos]
            if first < 0x40:
                end = pos + 1 + first
                if end <= len(buf):
                    self.pos = end
                    return buf[pos + 1 : end]
            elif first < 0x80:
                end = pos + 2 + (((first & 0x3F) << 8) | buf[pos + 1])
                if end <= len(buf):
                    self.pos = end
                    return buf[pos + 2 : end]
        n, encoded = self.length_or_encoding()
        if not encoded:
            pos = self.pos
            end = pos + n
            if end <= len(self.buf):
                self.pos = end
                return self.buf[pos:end]
            return self.read(n)
        if n == ENC_INT8:
            return str(int.from_bytes(self.read(1), "little", signed=True)).encode()
        if n == ENC_INT16:
            return str(int.from_bytes(self.read(2), "little", signed=True)).encode()
        if n == ENC_INT32:
            return str(int.from_bytes(self.read(4), "little", signed=True)).encode()
        if n == ENC_LZF:
            clen, ulen = self.length(), self.length()
            if ulen > MAX_NEEDED:
                raise Malformed(f"a compressed string claims {ulen:,} bytes")
            return lzf_decompress(self.read(clen), ulen)
        raise Malformed(f"unknown string encoding {n}")

    def string_size(self) -> tuple[int, bool]:
        """Pass over a string; (its length as the server holds it, whether it is an integer)."""
        buf, pos = self.buf, self.pos
        if pos + 2 < len(buf):  # the fast path: a short plain string inside the buffer
            first = buf[pos]
            if first < 0x40:
                end = pos + 1 + first
                if end <= len(buf):
                    self.pos = end
                    return first, False
            elif first < 0x80:
                n = ((first & 0x3F) << 8) | buf[pos + 1]
                if pos + 2 + n <= len(buf):
                    self.pos = pos + 2 + n
                    return n, False
        n, encoded = self.length_or_encoding()
        if not encoded:
            end = self.pos + n
            if end <= len(self.buf):
                self.pos = end
            else:
                self.skip(n)
            return n, False
        if n == ENC_INT8:
            v = int.from_bytes(self.read(1), "little", signed=True)
        elif n == ENC_INT16:
            v = int.from_bytes(self.read(2), "little", signed=True)
        elif n == ENC_INT32:
            v = int.from_bytes(self.read(4), "little", signed=True)
        elif n == ENC_LZF:
            clen, ulen = self.length(), self.length()
            self.skip(clen)
            return ulen, False
        else:
            raise Malformed(f"unknown string encoding {n}")
        return len(str(v)), True

    def blob_head(self, head: int) -> tuple[bytes, int, bytes | None]:
        """A string holding a compact encoding: (its first HEAD bytes at least, its length,
        the whole blob or None). A compressed blob is decompressed only as far as its head,
        which is enough to count its elements; whole() below gets the rest when needed."""
        n, encoded = self.length_or_encoding()
        if encoded and n == ENC_LZF:
            clen, ulen = self.length(), self.length()
            if ulen > MAX_NEEDED:
                raise Malformed(f"a compressed string claims {ulen:,} bytes")
            packed = self.read(clen)
            self._packed = (packed, ulen)
            return lzf_decompress(packed, ulen, limit=head), ulen, None
        blob = self._encoded_int(n) if encoded else self.read(n)
        return blob, len(blob), blob

    def whole(self) -> bytes:
        """The blob of the last blob_head() in full."""
        packed, ulen = self._packed
        return lzf_decompress(packed, ulen)

    def _encoded_int(self, n: int) -> bytes:
        width = {ENC_INT8: 1, ENC_INT16: 2, ENC_INT32: 4}.get(n)
        if width is None:
            raise Malformed(f"unknown string encoding {n}")
        return str(int.from_bytes(self.read(width), "little", signed=True)).encode()

    def ms_time(self) -> int:
        return int(_q.unpack(self.read(8))[0])

    def s_time(self) -> int:
        return int(_I.unpack(self.read(4))[0])

    def text_double(self) -> None:
        """An RDB 1-7 sorted-set score: a length byte (253-255: nan/inf) and its text."""
        n = self.byte()
        if n < 253:
            self.skip(n)
