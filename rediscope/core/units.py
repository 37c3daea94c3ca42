"""Parsing of sizes (10MB, 512KiB) and durations (10s, 26h, 7d) given by people."""

from __future__ import annotations

import re
from fractions import Fraction

from rediscope.errors import UsageError

MIB = 1024 * 1024
#: below this used_memory a fragmentation ratio is noise (the allocator's own overhead
#: dominates): health and memory ignore it, capacity does not warn of it
FRAGMENTATION_MIN_USED = 100 * MIB

_SIZE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([kmgtp]?)(i?)(b?)\s*$", re.IGNORECASE)
_POWERS = {"": 0, "k": 1, "m": 2, "g": 3, "t": 4, "p": 5}
_DURATION = re.compile(r"(\d+(?:\.\d+)?)\s*(ms|s|m|h|d|w|y)?", re.IGNORECASE)
_SECONDS = {"ms": 0.001, "s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800, "y": 31536000}


def parse_size(text: str, option: str = "size") -> int:
    """Bytes from '1500', '10KB' (x1000), '10KiB' (x1024), '1.5GB', '512k' (x1000)."""
    match = _SIZE.match(text)
    if not match or (match.group(3) and not match.group(2)):
        raise UsageError(f"{option}: {text!r} is not a size", "use e.g. 100, 10KB, 512KiB, 1.5GB")
    number, unit, binary, _ = match.groups()
    base = 1024 if binary else 1000
    return int(Fraction(number) * base ** _POWERS[unit.lower()])  # exact, no float rounding


def parse_duration(text: str, option: str = "duration") -> float:
    """Seconds from '10s', '1h30m', '7d', '250ms', or a bare number of seconds."""
    stripped = text.strip()
    pos, total = 0, 0.0
    for match in _DURATION.finditer(stripped):
        if match.start() != pos or not match.group(0):
            break
        total += float(match.group(1)) * _SECONDS[(match.group(2) or "s").lower()]
        pos = match.end()
    if not stripped or pos != len(stripped):
        raise UsageError(f"{option}: {text!r} is not a duration", "use e.g. 30s, 5m, 26h, 7d")
    return total


def plural(count: int, word: str, many: str | None = None) -> str:
    """`count` and the word, singular for exactly one (`many` where adding "s" is wrong):
    "1 check", "2 checks", "1 sorted set is" needs plural(n, "sorted set is", "sorted sets are")."""
    return f"{count:,} {word if count == 1 else (many or word + 's')}"


def short_duration(seconds: float) -> str:
    """A duration in its largest whole unit, one decimal: "45 s", "3.2 min", "26.0 h", "2.1 d"."""
    for unit, size in (("d", 86400), ("h", 3600), ("min", 60)):
        if seconds >= size:
            return f"{seconds / size:.1f} {unit}"
    return f"{seconds:.0f} s"


def bytes_text(n: float) -> str:
    """Bytes for a sentence, in binary units: "512 B", "808.7 KiB", "1.2 GiB" (JSON keeps the
    raw number; this is for messages, which are read by people)."""
    for unit in ("B", "KiB", "MiB", "GiB", "TiB"):
        if abs(n) < 1024 or unit == "TiB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1024
    return f"{n:.1f} TiB"
