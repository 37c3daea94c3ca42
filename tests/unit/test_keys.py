"""Tier 1: key names are data: escaped like redis-cli when not plain text."""

from __future__ import annotations

import pytest

from rediscope.core.keynames import display_key, json_key, quote_bytes


@pytest.mark.parametrize(
    ("raw", "shown"),
    [
        (b"user:1", "user:1"),
        (b"caf\xc3\xa9", "café"),
        (b"bin:\x00\xff", '"bin:\\x00\\xff"'),
        (b"a\nb", '"a\\nb"'),
        (b"\x1b[2J", '"\\x1b[2J"'),  # ANSI escapes never reach the terminal raw
        (b"", '""'),
        (b'say "hi"', 'say "hi"'),
        (b'"quoted"', '"\\"quoted\\""'),
    ],
)
def test_display_key(raw: bytes, shown: str) -> None:
    assert display_key(raw) == shown


def test_quote_bytes_matches_redis_cli_repr() -> None:
    # redis-cli --bigkeys prints "bin:\x00\xff" for such a key
    assert quote_bytes(b"bin:\x00\xff\t\\") == '"bin:\\x00\\xff\\t\\\\"'


def test_json_key_keeps_utf8_and_flags_escaped() -> None:
    assert json_key(b"k\n1") == ("k\n1", False)
    assert json_key(b"\xff") == ('"\\xff"', True)
