"""One node's INFO (twice, a window apart), its pings, and the Checker that makes results."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import redis

from rediscope.core.connection import ConnectionSpec, client
from rediscope.core.failures import describe_error, is_denied
from rediscope.core.health.model import (
    CHECKS,
    OK,
    Check,
    HealthOptions,
    Status,
    declare,
    level,
)
from rediscope.errors import RediscopeError


class NodeProbe:
    """INFO twice (window apart), pings, and the commands the checks need, for one node."""

    def __init__(self, spec: ConnectionSpec, label: str | None) -> None:
        self.spec = spec
        self.label = label
        self.conn: redis.Redis | None = None
        self.before: dict[str, Any] = {}
        self.after: dict[str, Any] = {}
        self.error: RediscopeError | None = None
        self.rtts: list[float] = []
        #: what a check that gave no result here has to say about it (the report's notes)
        self.notes: list[str] = []

    def first(self) -> None:
        try:
            self.conn = client(self.spec)
            self.conn.ping()
            self.before = self.conn.info()
        except (redis.RedisError, OSError) as exc:
            self.error = describe_error(exc, self.spec)

    def second(self, pings: int, window: float) -> None:
        if self.conn is None or self.error is not None:
            return
        try:
            for _ in range(pings):
                start = time.perf_counter()
                self.conn.ping()
                self.rtts.append((time.perf_counter() - start) * 1000)
            self.after = self.conn.info() if window > 0 else self.before
        except (redis.RedisError, OSError) as exc:
            self.error = describe_error(exc, self.spec)

    def call(self, *args: Any) -> Any:
        assert self.conn is not None
        return self.conn.execute_command(*args)

    def close(self) -> None:
        if self.conn is not None:
            self.conn.close()


def denied_reason(exc: BaseException, what: str) -> str:
    text = str(exc)
    if is_denied(text) and "unknown command" not in text.lower():
        return f"{what} is denied to this user (ACL)"
    if "unknown command" in text.lower():
        return f"{what} is not available (renamed or disabled)"
    return f"{what} failed: {text}"


class Checker:
    def __init__(self, opts: HealthOptions) -> None:
        self.opts = opts

    def graded(
        self,
        check_id: str,
        value: float | None,
        message: Callable[[float], str],
        absent: str,
        node: str | None,
        hint: str | None = None,
    ) -> Check:
        """A check graded by its thresholds (higher is worse): UNKNOWN saying ABSENT when the
        value could not be read; the hint only when the status is not OK."""
        warn, crit = self.opts.thresholds(check_id)
        status = level(value, warn, crit)
        text = absent if value is None else message(value)
        return self.make(
            check_id, status, value, text, hint=hint if status != OK else None, node=node
        )

    def make(
        self,
        check_id: str,
        status: Status,
        value: float | None,
        message: str,
        hint: str | None = None,
        node: str | None = None,
        warn: float | None = None,
        crit: float | None = None,
        use_defaults: bool = True,
    ) -> Check:
        w, c = self.opts.thresholds(check_id) if use_defaults else (warn, crit)
        return Check(
            id=check_id,
            status=status,
            value=None if value is None else round(value, 4),
            unit=CHECKS[check_id].unit,
            warn=w,
            crit=c,
            message=message,
            hint=hint,
            node=node,
        )


declare("connection", None, None, "", "connect, AUTH and PING")
