"""MONITOR output parsed: one line into its time, db, client and arguments."""

from __future__ import annotations

import re
from dataclasses import dataclass

_LINE = re.compile(rb"^(\d+\.\d+) \[(\d+) ([^\]]*)\] (.*)$", re.DOTALL)


_UNESCAPE = {
    ord("n"): b"\n",
    ord("r"): b"\r",
    ord("t"): b"\t",
    ord("a"): b"\a",
    ord("b"): b"\b",
    ord('"'): b'"',
    ord("\\"): b"\\",
}


@dataclass(frozen=True)
class MonitorEvent:
    ts: float
    db: int
    client: str  # "127.0.0.1:5555", "unix:/path", "lua"
    args: tuple[bytes, ...]


def parse_args(text: bytes) -> tuple[bytes, ...]:
    """MONITOR's quoted arguments: `"set" "k\\"ey" "\\x00\\xff"` -> (b'set', b'k"ey', ...)."""
    out: list[bytes] = []
    i, n = 0, len(text)
    while i < n:
        while i < n and text[i] == 0x20:
            i += 1
        if i >= n:
            break
        if text[i] != 0x22:  # not quoted: up to the next space (never emitted by Redis)
            j = text.find(b" ", i)
            j = n if j < 0 else j
            out.append(text[i:j])
            i = j
            continue
        i += 1
        buf = bytearray()
        while i < n:
            c = text[i]
            if c == 0x5C and i + 1 < n:  # backslash
                nxt = text[i + 1]
                if nxt == ord("x") and i + 3 < n:
                    try:
                        buf.append(int(text[i + 2 : i + 4], 16))
                        i += 4
                        continue
                    except ValueError:
                        pass
                buf += _UNESCAPE.get(nxt, bytes([nxt]))
                i += 2
                continue
            if c == 0x22:
                i += 1
                break
            buf.append(c)
            i += 1
        out.append(bytes(buf))
    return tuple(out)


def parse_line(line: bytes) -> MonitorEvent | None:
    """One MONITOR line; None for anything that is not a command (e.g. the initial OK)."""
    m = _LINE.match(line)
    if not m:
        return None
    return MonitorEvent(
        ts=float(m.group(1)),
        db=int(m.group(2)),
        client=m.group(3).decode(errors="replace"),
        args=parse_args(m.group(4)),
    )
