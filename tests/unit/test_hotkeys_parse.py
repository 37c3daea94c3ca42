"""MONITOR lines parsed robustly (quoting, binary, truncation). No server."""

from __future__ import annotations

from rediscope.core.hotkeys import parse_line


def test_parse_monitor_lines_robustly() -> None:
    ev = parse_line(
        b'1700000000.123456 [3 127.0.0.1:51234] "SET" "key with space" '
        b'"va\\"lue\\\\" "line\\nbreak" "\\x00\\xff"'
    )
    assert ev is not None and ev.db == 3 and ev.client == "127.0.0.1:51234"
    assert ev.args == (b"SET", b"key with space", b'va"lue\\', b"line\nbreak", b"\x00\xff")
    lua = parse_line(b'1700000000.5 [0 lua] "get" "k"')
    assert lua is not None and lua.client == "lua" and lua.args == (b"get", b"k")
    unix = parse_line(b'1700000000.5 [0 unix:/tmp/r.sock] "ping"')
    assert unix is not None and unix.client == "unix:/tmp/r.sock"
    assert parse_line(b"OK") is None
    assert parse_line(b'1.0 [0 1.2.3.4:5] ""').args == (b"",)  # type: ignore[union-attr]
