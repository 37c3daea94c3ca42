"""The checks that read a bounded sample of values or members after the scan: the first bytes
of the biggest strings (big_json_string), a random sample of a tag set's members
(tag_dangling). Never a whole value; on a cluster each key is asked of its own primary."""

from __future__ import annotations

import contextlib
import re
import time
from dataclasses import replace
from typing import Any

import redis

from rediscope.core.audit.checks import Finding, Pattern
from rediscope.core.connection import ConnectionSpec, client
from rediscope.core.keynames import display_key
from rediscope.core.resp import pairs, text
from rediscope.core.restore.target import RestoreTarget
from rediscope.errors import RediscopeError

#: bytes of a big string read to tell JSON (GETRANGE 0 PREFIX-1)
PREFIX = 64
#: members sampled per tag set (SRANDMEMBER / ZRANDMEMBER), and the share missing that counts
MEMBERS = 50
DANGLING_SHARE = 0.2
MIN_CHECKED = 10


class Router:
    """A connection to the primary that owns each key (the target itself, standalone)."""

    def __init__(self, spec: ConnectionSpec) -> None:
        self.spec = spec
        try:
            route: RestoreTarget | None = RestoreTarget(spec)
        except RediscopeError:
            route = None  # a replica (--replica): its own keys are read there
        self.route = route if route is not None and route.cluster else None
        self.conns: dict[int, redis.Redis] = {}

    def conn(self, key: bytes) -> redis.Redis:
        i = self.route.node_of(key) if self.route is not None else 0
        conn = self.conns.get(i)
        if conn is None:
            node = self.route.primaries[i].spec if self.route is not None else self.spec
            conn = self.conns[i] = client(node)
        return conn

    def call(self, key: bytes, *args: Any) -> Any:
        """A command about KEY on its primary (None when it fails: gone, denied, moved)."""
        try:
            return self.conn(key).execute_command(*args)
        except (redis.RedisError, OSError):
            return None

    def close(self) -> None:
        for c in self.conns.values():
            with contextlib.suppress(Exception):
                c.close()


def sampled_findings(
    spec: ConnectionSpec, patterns: list[Pattern], separators: str, found: list[Finding]
) -> list[Finding]:
    """The sampled checks' findings; FOUND's stream queue_backlog findings gain the streams'
    own evidence (oldest entry age, consumer group lag)."""
    router = Router(spec)
    try:
        by_name = {p.name: p for p in patterns}
        for i, item in enumerate(found):
            q = by_name.get(item.pattern)
            if item.id == "queue_backlog" and q is not None and q.types.get("stream"):
                extra = _stream_evidence(router, q)
                found[i] = replace(item, evidence={**item.evidence, **extra})
        out = [f for p in patterns if (f := _json_strings(router, p)) is not None]
        looks_like_key = re.compile(rb"[" + re.escape(separators.encode()) + rb"]")
        out += [f for p in patterns if (f := _dangling(router, p, looks_like_key)) is not None]
        out += [f for p in patterns if (f := _drift(router, p)) is not None]
        _old_windows(router, patterns, found, out)
        return out
    finally:
        router.close()


def _json_strings(router: Router, p: Pattern) -> Finding | None:
    """big_json_string: the first PREFIX bytes of the pattern's biggest strings."""
    heads = []
    for size, key in p.agg.strings.items:
        head = router.call(key, "GETRANGE", key, 0, PREFIX - 1)
        if isinstance(head, bytes) and head.lstrip()[:1] in (b"{", b"["):
            heads.append((size, key, head))
    if not heads:
        return None
    return Finding(
        id="big_json_string",
        severity="warning",
        pattern=p.name,
        role=p.role,
        keys=len(heads),
        bytes=sum(s for s, _, _ in heads),
        evidence={
            "strings_sampled": len(p.agg.strings.items),
            "sizes": [s for s, _, _ in heads],
            "prefix": heads[0][2].decode("utf-8", "replace"),
        },
        examples=tuple(display_key(k) for _, k, _ in heads),
        fix="Every update rewrites the whole JSON value (and every read fetches it): keep the "
        "object's fields in a hash (HSET/HGET), or split it.",
    )


def _dangling(router: Router, p: Pattern, looks_like_key: re.Pattern[bytes]) -> Finding | None:
    """tag_dangling: a sample of the biggest tag sets' members that name keys, and how many
    of those keys are gone."""
    if p.role != "tag_index":
        return None
    checked = missing = 0
    worst: list[tuple[float, bytes]] = []
    for _n, key in p.agg.longest.items:
        kind = "ZRANDMEMBER" if p.types.get("zset") and not p.types.get("set") else "SRANDMEMBER"
        members = router.call(key, kind, key, MEMBERS) or []
        names = [m for m in members if isinstance(m, bytes) and looks_like_key.search(m)]
        gone = sum(1 for m in names if router.call(m, "EXISTS", m) == 0)
        checked, missing = checked + len(names), missing + gone
        if names:
            worst.append((gone / len(names), key))
    if checked < MIN_CHECKED or missing / checked < DANGLING_SHARE:
        return None
    worst.sort(reverse=True)
    return Finding(
        id="tag_dangling",
        severity="warning",
        pattern=p.name,
        role=p.role,
        keys=len(worst),
        bytes=None,
        evidence={
            "sets_sampled": len(p.agg.longest.items),
            "members_sampled": checked,
            "members_missing": missing,
            "share_missing": round(missing / checked, 4),
        },
        examples=tuple(display_key(k) for _, k in worst),
        fix="Tag or index sets still name keys that were deleted or expired (invalidation that "
        "forgot the index): remove the member when its key goes (SREM in the same MULTI), or "
        "give the index the TTL of what it points at.",
    )


def _stream_evidence(router: Router, p: Pattern) -> dict[str, Any]:
    """The longest stream's oldest entry age and its consumer groups' lag and pending."""
    key = p.agg.longest.items[0][1]
    out: dict[str, Any] = {}
    raw = router.call(key, "XINFO", "STREAM", key)
    first = pairs(raw).get("first-entry") if isinstance(raw, list | dict) else None
    if isinstance(first, list | tuple) and first and isinstance(first[0], bytes):
        ms = int(first[0].split(b"-")[0])
        out["oldest_entry_age_s"] = max(0, int(time.time() - ms / 1000))
    groups = router.call(key, "XINFO", "GROUPS", key)
    if isinstance(groups, list):
        parsed = [pairs(g) for g in groups if isinstance(g, list | dict)]
        out["groups"] = [
            {"name": text(g.get("name")), "pending": g.get("pending"), "lag": g.get("lag")}
            for g in parsed  # lag: 7.0+ (None before)
        ]
    return out


_COPY = re.compile(rb"^(.*?)(\d+)$")
#: copies of one hot key looked for (key:copy:0 .. key:copy:N-1)
COPIES = 16


def _copy_state(router: Router, key: bytes) -> tuple[int, bytes, int] | None:
    """(length, first bytes, TTL s) of one copy; None when it does not exist."""
    length = router.call(key, "STRLEN", key)
    if not isinstance(length, int) or length == 0:
        return None
    head = router.call(key, "GETRANGE", key, 0, PREFIX - 1) or b""
    ttl = router.call(key, "TTL", key)
    return length, head, ttl if isinstance(ttl, int) else -1


def _drift(router: Router, p: Pattern) -> Finding | None:
    """hot_copy_drift: copies of a hot key (`key:copy:N`) whose values or TTLs differ; each
    copy is compared by its length, its first bytes and its TTL (never read whole)."""
    if p.role != "hot_copy" or not p.types.get("string"):
        return None
    groups: dict[bytes, dict[bytes, tuple[int, bytes, int]]] = {}
    for key in p.agg.sample:
        m = _COPY.match(key)
        if m is None or m.group(1) in groups:
            continue
        copies = {}
        for i in range(COPIES):
            name = m.group(1) + str(i).encode()
            state = _copy_state(router, name)
            if state is not None:
                copies[name] = state
        groups[m.group(1)] = copies
    differ = {base: c for base, c in groups.items() if len({v[:2] for v in c.values()}) > 1}
    ttl_spread = {
        base: max(v[2] for v in c.values()) - min(v[2] for v in c.values())
        for base, c in groups.items()
        if len(c) > 1 and min(v[2] for v in c.values()) >= 0
    }
    ttl_differ = {b: s for b, s in ttl_spread.items() if s > 60}
    if not differ and not ttl_differ:
        return None
    bases = sorted(set(differ) | set(ttl_differ))
    return Finding(
        id="hot_copy_drift",
        severity="warning",
        pattern=p.name,
        role=p.role,
        keys=sum(len(groups[b]) for b in bases),
        bytes=None,
        evidence={
            "groups_checked": len(groups),
            "values_differ": len(differ),
            "ttls_differ": len(ttl_differ),
            "max_ttl_spread_s": max(ttl_spread.values(), default=0),
        },
        examples=tuple(display_key(b + b"*") for b in bases),
        fix="The copies of a hot key are written one by one and have drifted apart (readers see "
        "different values): write every copy in one MULTI (or pipeline) with the same TTL.",
    )


#: a rate-limit window whose oldest member is older than this has outlived any window
WINDOW_S = 86_400


def _epoch_s(score: float) -> float | None:
    """A sorted-set score read as a time: epoch milliseconds or seconds (None: neither)."""
    if 1e12 <= score < 1e14:
        return score / 1000
    if 1e9 <= score < 1e11:
        return score
    return None


def _oldest_age(router: Router, p: Pattern) -> tuple[int, bytes] | None:
    """The oldest member's age (s) among the pattern's longest sorted sets, and its key."""
    best: tuple[int, bytes] | None = None
    for _n, key in p.agg.longest.items:
        reply = router.call(key, "ZRANGE", key, 0, 0, "WITHSCORES")
        if not isinstance(reply, list) or len(reply) < 2:
            continue
        try:
            at = _epoch_s(float(reply[1]))
        except (TypeError, ValueError):
            continue
        if at is not None:
            age = int(time.time() - at)
            if best is None or age > best[0]:
                best = (age, key)
    return best


def _old_windows(
    router: Router, patterns: list[Pattern], found: list[Finding], out: list[Finding]
) -> None:
    """rate_limit_unbounded for sorted-set windows whose oldest member (ZRANGE 0 0) is older
    than any window: the window is never trimmed. Added to a finding the pattern has."""
    for p in patterns:
        if p.role != "rate_limit" or not p.types.get("zset"):
            continue
        oldest = _oldest_age(router, p)
        if oldest is None or oldest[0] < WINDOW_S:
            continue
        evidence = {"oldest_member_age_s": oldest[0], "window_limit_s": WINDOW_S}
        for i, f in enumerate(found):
            if f.id == "rate_limit_unbounded" and f.pattern == p.name:
                found[i] = replace(f, evidence={**f.evidence, **evidence})
                break
        else:
            out.append(
                Finding(
                    id="rate_limit_unbounded",
                    severity="warning",
                    pattern=p.name,
                    role=p.role,
                    keys=p.agg.keys,
                    bytes=p.agg.bytes,
                    evidence=evidence,
                    examples=(display_key(oldest[1]),),
                    fix="The window's old members are never removed: trim it with every request "
                    "(ZREMRANGEBYSCORE key -inf now-window) before counting.",
                )
            )
