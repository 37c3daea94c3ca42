"""Realistic key-naming schemes, each with the pattern a person would name."""

from __future__ import annotations

import hashlib
import random
import uuid

RNG = random.Random(3)


def schemes(n: int = 300) -> dict[str, list[bytes]]:
    """A dozen realistic naming schemes, each with the pattern a person would name."""
    words = ["shoes", "hats", "bags", "coats"]
    return {
        "user:*": [f"user:{i}".encode() for i in range(n)],
        "session:*": [f"session:{uuid.UUID(int=RNG.getrandbits(128))}".encode() for _ in range(n)],
        "cache:page:*": [
            f"cache:page:{hashlib.sha1(bytes([i % 256, i // 256])).hexdigest()}".encode()
            for i in range(n)
        ],
        "events:*:count": [
            f"events:{2000 + i // 336}-{1 + i % 12:02d}-{1 + i // 12 % 28:02d}:count".encode()
            for i in range(n)
        ],
        "daily:*": [f"daily:{20260101 + i}".encode() for i in range(n)],
        "rate:*": [f"rate:10.{i // 256 % 256}.{i % 256}.{i % 7}".encode() for i in range(n)],
        "rate6:*": [f"rate6:2001:db8::{i:x}".encode() for i in range(n)],
        "mail:*:prefs": [
            f"mail:{w}{i}@example.com:prefs".encode() for i in range(n) for w in ["bob"]
        ],
        "search?q=*&page=*": [f"search?q={words[i % 4]}&page={i}".encode() for i in range(n)],
        "post#*#comments": [f"post#{i}#comments".encode() for i in range(n)],
        "{user:*}:cart": [f"{{user:{i}}}:cart".encode() for i in range(n)],
        "bin:*": [b"bin:\x00\xff" + i.to_bytes(2, "big") for i in range(n)],
        "api:v2:order:*": [f"api:v2:order:{i}".encode() for i in range(n)],
        "tok:*": [
            f"tok:{hashlib.sha256(str(i).encode()).hexdigest()[:8]}Ab9x{i:06d}Zq".encode()
            for i in range(n)
        ],
    }
