"""LZF decompression (liblzf's format, as rdbcompression writes it), pure Python."""

from __future__ import annotations

from rediscope.core.rdbfile.check import RdbError


def lzf_decompress(data: bytes, expected: int, limit: int | None = None) -> bytes:
    """Decompress DATA to EXPECTED bytes; with LIMIT, stop once LIMIT bytes are out (the head
    of a listpack is enough to count its elements)."""
    out = bytearray()
    want = expected if limit is None else min(limit, expected)
    i, n = 0, len(data)
    try:
        while i < n and len(out) < want:
            ctrl = data[i]
            i += 1
            if ctrl < 32:  # a literal run of ctrl + 1 bytes
                out += data[i : i + ctrl + 1]
                i += ctrl + 1
                continue
            length = ctrl >> 5
            if length == 7:
                length += data[i]
                i += 1
            ref = len(out) - ((ctrl & 0x1F) << 8) - data[i] - 1
            i += 1
            if ref < 0:
                raise RdbError("corrupt LZF data: a back reference before the start")
            length += 2
            if ref + length <= len(out):
                out += out[ref : ref + length]
            else:
                for k in range(length):
                    out.append(out[ref + k])
    except IndexError:
        raise RdbError("corrupt LZF data: it ends inside a sequence") from None
    if limit is None and len(out) != expected:
        raise RdbError(f"corrupt LZF data: {len(out)} bytes out, the header says {expected}")
    return bytes(out)
