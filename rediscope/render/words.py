"""Words for numbers in what people read: "1 check", "2 checks"."""

from __future__ import annotations


def plural(count: int, word: str, many: str | None = None) -> str:
    """`count` and the word, singular for exactly one (`many` where adding "s" is wrong)."""
    return f"{count:,} {word if count == 1 else (many or word + 's')}"
