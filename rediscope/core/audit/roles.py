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
#: a word is a run of letters (a capital starts a new one: camelCase), or of digits
_WORD = re.compile(r"[A-Z]+(?![a-z])|[A-Z]?[a-z]+|[0-9]+")


def _singular(word: str) -> str:
    if word.endswith("ies") and len(word) > 4:
        return word[:-3] + "y"
    if word.endswith(("sses", "xes", "ches", "shes")):
        return word[:-2]
    if word.endswith("s") and not word.endswith("ss") and len(word) > 3:
        return word[:-1]
    return word


def words_of(pattern: str) -> set[str]:
    """The words of a pattern's name, lower-cased, each also in its singular: split on every
    separator (`:`, `_`, `-`, `.`, ...), at camelCase humps and around digits, so that
    `user_sessions:*`, `userSessions:*` and `user-session:*` all hold `session`."""
    words = {w.lower() for w in _WORD.findall(pattern)}
    return words | {_singular(w) for w in words}


def classify(pattern: str, types: dict[str, int]) -> str:
    """The role of PATTERN (`cache:page:*` is a cache) whose keys have TYPES."""
    words = words_of(pattern)
    for role, names in _WORDS:
        if words & names:
            if role == "queue" and not types.keys() & {"list", "stream", "zset"}:
                continue
            return role
    if types.get("stream", 0) and len(types) == 1:
        return "queue"
    return "unknown"
