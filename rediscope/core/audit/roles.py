"""A pattern's role in the application's caching design, from the words of its name and the
type of its keys (a rules file may name the role outright)."""

from __future__ import annotations

import re

ROLES = (
    "lock",
    "session",
    "rate_limit",
    "tag_index",
    "queue",
    "hot_copy",
    "counter",
    "cache",
    "unknown",
)

#: the words that name each role (a pattern's segments, lower-cased), in the order tried
_WORDS: tuple[tuple[str, frozenset[str]], ...] = (
    ("lock", frozenset({"lock", "locks", "mutex", "lease", "leases", "semaphore", "redlock"})),
    ("session", frozenset({"session", "sessions", "sess", "sid"})),
    (
        "rate_limit",
        frozenset({"rate", "ratelimit", "rate_limit", "ratelimiter", "throttle", "limit", "rl"}),
    ),
    ("tag_index", frozenset({"tag", "tags", "index", "idx", "tagged", "members"})),
    ("queue", frozenset({"queue", "queues", "jobs", "job", "tasks", "inbox", "outbox"})),
    ("hot_copy", frozenset({"copy", "copies", "replica", "mirror"})),
    (
        "counter",
        frozenset({"counter", "counters", "count", "views", "version", "ver", "seq", "hits"}),
    ),
    ("cache", frozenset({"cache", "cached", "page", "pages", "fragment", "memo", "response"})),
)
_SPLIT = re.compile(r"[^a-z0-9_]+")


def classify(pattern: str, types: dict[str, int]) -> str:
    """The role of PATTERN (`cache:page:*` is a cache) whose keys have TYPES."""
    words = {w for w in _SPLIT.split(pattern.lower()) if w and w != "*"}
    for role, names in _WORDS:
        if words & names:
            if role == "queue" and not types.keys() & {"list", "stream", "zset"}:
                continue
            return role
    if types.get("stream", 0) and len(types) == 1:
        return "queue"
    return "unknown"
