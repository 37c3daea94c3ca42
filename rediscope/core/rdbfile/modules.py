"""Module values in an RDB (type 7): passed over field by field, and for the module types known
here, their memory estimated from what the serialized value tells (docs/memory.md, "Module
types"). The figures follow what MEMORY USAGE answers on Redis 8.2 with RedisJSON 2.8 and
RedisBloom 2.8 (the key's own cost is added by the reader, as for every key); a type or a
serialization version not known here is unknown (None), never a guess.

A module value is a run of typed fields (the module's RDB save calls) up to an EOF field:
1 signed and 2 unsigned integers, 3 floats, 4 doubles, 5 strings."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field

from rediscope.core.rdbfile.lzf import lzf_decompress
from rediscope.core.rdbfile.stream import (
    ENC_INT8,
    ENC_INT16,
    ENC_INT32,
    ENC_LZF,
    MAX_NEEDED,
    ByteStream,
    Malformed,
)

OP_EOF, OP_SINT, OP_UINT, OP_FLOAT, OP_DOUBLE, OP_STRING = 0, 1, 2, 3, 4, 5
KEPT = 8  # the first integers and string sizes kept per value (the headers the models read)
JSON_TEXT_MAX = MAX_NEEDED  # a JSON document longer than this is passed over: unknown


@dataclass
class Fields:
    """What a module value's fields say, in bounded state."""

    ints: list[int] = field(default_factory=list)  # the first KEPT integers
    strings: list[int] = field(default_factory=list)  # the first KEPT string sizes
    n_ints: int = 0
    n_strings: int = 0
    string_bytes: int = 0
    text: bytes | None = None  # a JSON value: the document (its only field)


def read_fields(s: ByteStream, keep_text: bool) -> Fields:
    """Every field up to the value's EOF; with KEEP_TEXT, the first string field (a JSON
    document) is kept whole when it is not too long."""
    f = Fields()
    while True:
        op = s.length()
        if op == OP_EOF:
            return f
        if op in (OP_SINT, OP_UINT):
            v = s.length()
            if f.n_ints < KEPT:
                f.ints.append(v)
            f.n_ints += 1
        elif op == OP_FLOAT:
            s.skip(4)
        elif op == OP_DOUBLE:
            s.skip(8)
        elif op == OP_STRING:
            n = _string(s, f, keep_text)
            if f.n_strings < KEPT:
                f.strings.append(n)
            f.n_strings += 1
            f.string_bytes += n
        else:
            raise Malformed(f"unknown module opcode {op}")


def _string(s: ByteStream, f: Fields, keep_text: bool) -> int:
    if not (keep_text and f.n_strings == 0):
        return s.string_size()[0]
    n, encoded = s.length_or_encoding()
    if encoded and n == ENC_LZF:
        clen, ulen = s.length(), s.length()
        if ulen > JSON_TEXT_MAX:
            s.skip(clen)
        else:
            f.text = lzf_decompress(s.read(clen), ulen)
        return ulen
    if encoded:
        width = {ENC_INT8: 1, ENC_INT16: 2, ENC_INT32: 4}.get(n)
        if width is None:
            raise Malformed(f"unknown string encoding {n}")
        f.text = str(int.from_bytes(s.read(width), "little", signed=True)).encode()
        return len(f.text)
    if n > JSON_TEXT_MAX:
        s.skip(n)
    else:
        f.text = s.read(n)
    return n


# --- the models, per type name and serialization version (the module id's low 10 bits) ---


def _bloom(f: Fields) -> tuple[int | None, int | None]:
    """MBbloom-- (encver 4): [items, filters, ...] then each filter's bit array as a string;
    in memory the arrays, 64 bytes a filter and 24 for the chain."""
    if len(f.ints) < 2 or f.n_strings != f.ints[1]:
        return None, None
    return f.string_bytes + 24 + 64 * f.n_strings, f.ints[0]


def _cuckoo(f: Fields) -> tuple[int | None, int | None]:
    """MBbloomCF (encver 4): [filters, buckets, items (deletions taken off), deleted, ...] then
    each filter's buckets as a string; in memory the buckets, 16 bytes a filter and 32 for
    the chain."""
    if len(f.ints) < 4 or f.n_strings != f.ints[0]:
        return None, None
    return f.string_bytes + 32 + 16 * f.n_strings, f.ints[2]


def _cms(f: Fields) -> tuple[int | None, int | None]:
    """CMSk-TYPE (encver 0): [width, depth, count] then the counters as one string; MEMORY
    USAGE counts them twice (the module's own report)."""
    if f.n_strings != 1:
        return None, None
    return 2 * f.string_bytes, None


def _topk(f: Fields) -> tuple[int | None, int | None]:
    """TopK-TYPE (encver 0): [k, width, depth], the decay, the buckets and the heap as strings,
    then the heap's items; in memory the buckets, the heap and the decay table (2,080 bytes)."""
    if f.n_strings < 2 or len(f.ints) < 3:
        return None, None
    return f.strings[0] + f.strings[1] + 2080, None


def _tdigest(f: Fields) -> tuple[int | None, int | None]:
    """TDIS-TYPE (encver 0): compression, min, max, then [capacity, ...]: in memory the
    centroids' means and weights, 16 bytes each of the capacity."""
    if not f.ints:
        return None, None
    return 16 * f.ints[0], None


def _vectorset(f: Fields) -> tuple[int | None, int | None]:
    """vectorset (Redis 8, encver 0): [dim, count, flags (M << 8 | quantization), ...] then
    per element its name, attributes and vector as strings and its links: in memory about
    390 + 18.5 M bytes a node with its links' capacity, the strings, and 3 KB for the set."""
    if len(f.ints) < 3:
        return None, None
    count, m = f.ints[1], f.ints[2] >> 8
    if not 2 <= m <= 4096:
        return None, count
    return round(3020 + count * (390 + 18.5 * m) + f.string_bytes), count


def _json(f: Fields) -> tuple[int | None, int | None]:
    """ReJSON-RL (encver 3): the document as JSON text, its only field."""
    if f.text is None or f.n_strings != 1 or f.n_ints:
        return None, None
    return json_estimate(f.text)


_STR = re.compile(rb'"(?:[^"\\]|\\.)*"')
_NUM = re.compile(rb"-?\d[\d.eE+-]*")
_INNER = re.compile(rb"\{[^{}\[\]]*\}|\[[^{}\[\]]*\]")  # a container with none inside
#: the JSON model's bytes: per document, member (key), string value, string byte, number by
#: kind, literal (true/false/null), object and array (least squares over 900 documents of
#: nine shapes, checked on 900 others: each shape within 11%, all within 1%)
_J_DOC, _J_KEY, _J_STR, _J_BYTE, _J_FLOAT = 140, 9.4, 20.4, 0.91, 34.3
_J_SMALL, _J_MID, _J_BIG, _J_LIT, _J_OBJ, _J_ARR = 17.9, 25.1, 34.2, 12.9, 62.5, 11.7
_NOT_INT = frozenset(b".eE")


def json_estimate(text: bytes) -> tuple[int, int | None]:
    """A JSON document's bytes in RedisJSON's memory (ijson), and its root's member count or
    length (JSON.OBJLEN/ARRLEN; None for a scalar root). Strings, brackets and literals are
    counted by the regex engine and bytes.count; only numbers are looked at one by one."""
    strings = _STR.findall(text)
    str_bytes = sum(map(len, strings)) - 2 * len(strings)
    bare = _STR.sub(b'""', text)  # no string content left to look like a number or bracket
    keys = bare.count(b'"":')  # RedisJSON writes compact JSON: a key is followed by its colon
    floats = small = mid = big = 0
    for num in _NUM.findall(bare):
        if not _NOT_INT.isdisjoint(num):
            floats += 1
        else:
            digits = len(num) - (num[0] == 45)
            if digits <= 3:  # about -128..383: no allocation of its own
                small += 1
            elif digits <= 7:  # 24 bits
                mid += 1
            else:
                big += 1
    total = (
        _J_DOC
        + _J_KEY * keys
        + _J_STR * (len(strings) - keys)
        + _J_BYTE * str_bytes
        + _J_FLOAT * floats
        + _J_SMALL * small
        + _J_MID * mid
        + _J_BIG * big
        + _J_LIT * (bare.count(b"true") + bare.count(b"false") + bare.count(b"null"))
        + _J_OBJ * bare.count(b"{")
        + _J_ARR * bare.count(b"[")
    )
    return round(total), _root_count(bare.strip())


def _root_count(bare: bytes) -> int | None:
    """The root's members or elements: its commas once every inner container is gone."""
    if len(bare) < 2 or bare[:1] not in (b"{", b"["):
        return None
    inner, n = bare[1:-1], 1
    while n:
        inner, n = _INNER.subn(b"x", inner)
    return inner.count(b",") + 1 if inner.strip() else 0


Model = Callable[[Fields], tuple[int | None, int | None]]

#: (type name, encver) -> the model
MODELS: dict[tuple[str, int], Model] = {
    ("ReJSON-RL", 3): _json,
    ("MBbloom--", 4): _bloom,
    ("MBbloomCF", 4): _cuckoo,
    ("CMSk-TYPE", 0): _cms,
    ("TopK-TYPE", 0): _topk,
    ("TDIS-TYPE", 0): _tdigest,
    ("vectorset", 0): _vectorset,
}


def module_value(s: ByteStream, name: str, encver: int) -> tuple[int | None, int | None]:
    """Pass over a module value; its (estimated bytes without the key, element count), each
    None where unknown."""
    model = MODELS.get((name, encver))
    fields = read_fields(s, keep_text=model is _json)
    if model is None:
        return None, None
    return model(fields)
