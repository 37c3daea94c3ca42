"""Module types without a server (issue 37, item 3): the live length replies, and the offline
models on hand-made module values (the server tests check them against MEMORY USAGE)."""

from __future__ import annotations

import io

import hiredis

from rediscope.core.pipeline.modtypes import label, module_length, readable
from rediscope.core.rdbfile.modules import module_value
from rediscope.core.rdbfile.stream import ByteStream
from tests.test_rdb import _len, _str


def test_length_replies_of_each_module() -> None:
    assert module_length([2000]) == 2000  # VCARD, BF.CARD
    assert module_length([[5], [None]]) == 5  # JSON.OBJLEN $, JSON.ARRLEN $ of an object
    assert module_length([[None], [300]]) == 300  # ... of an array
    assert module_length([[None], [None]]) is None  # a scalar root
    info = [b"Size", 1080, b"Number of buckets", 512, b"Number of items inserted", 59]
    assert module_length([info]) == 59  # CF.INFO
    assert module_length([hiredis.ReplyError("NOPERM no permissions")]) is None


def test_readable_names_sit_beside_the_raw_type() -> None:
    assert label("ReJSON-RL") == "ReJSON-RL (json)" and readable("vectorset") == "vector set"
    assert label("string") == "string" and readable("MYMODTYPE") is None


def _value(*fields: bytes) -> ByteStream:
    return ByteStream(io.BytesIO(b"".join(fields) + _len(0)))


def uint(n: int) -> bytes:
    return _len(2) + _len(n)


def string(data: bytes) -> bytes:
    return _len(5) + _str(data)


def test_a_bloom_filter_is_its_bit_arrays_and_a_header_per_filter() -> None:
    bloom = _value(
        uint(500),
        uint(2),
        uint(5),
        uint(2),
        uint(10000),
        string(b"\x00" * 100),
        string(b"\x00" * 300),
    )
    assert module_value(bloom, "MBbloom--", 4) == (400 + 24 + 64 * 2, 500)


def test_an_unknown_type_or_version_is_unknown_never_a_guess() -> None:
    assert module_value(_value(uint(7), string(b"x" * 1000)), "TSDB-TYPE", 4) == (None, None)
    assert module_value(_value(uint(500), uint(1), string(b"x")), "MBbloom--", 9) == (None, None)
    s = _value(uint(1), string(b"x" * 10))
    module_value(s, "OTHERTYPE", 0)
    assert s.at_end()  # the value was passed over exactly


def lzf_literals(data: bytes) -> bytes:
    """DATA as an LZF stream of literal runs only (valid, if not smaller)."""
    return b"".join(
        bytes([len(c) - 1]) + c for c in (data[i : i + 32] for i in range(0, len(data), 32))
    )


def test_a_compressed_json_document_is_read_whole_and_counted() -> None:
    doc = b'{"a":[' + b"1," * 200 + b'1],"b":"' + b"x" * 300 + b'"}'
    packed = lzf_literals(doc)
    compressed = _len(5) + b"\xc3" + _len(len(packed)) + _len(len(doc)) + packed
    plain = module_value(_value(string(doc)), "ReJSON-RL", 3)
    assert module_value(_value(compressed), "ReJSON-RL", 3) == plain
    assert plain[1] == 2 and plain[0] is not None and plain[0] > len(doc)
