"""`rediscope ping`: who answers, what it is, and how fast."""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import ClassVar

from rediscope.core.connection import ConnectionSpec
from rediscope.core.failures import translate_errors
from rediscope.core.report import ReportBase
from rediscope.core.target import Target, discover


@dataclass(frozen=True, kw_only=True)
class PingReport(ReportBase):
    command: ClassVar[str] = "ping"
    target: Target
    complete: bool
    server: str  # redis | valkey
    version: str
    mode: str
    role: str
    pings: int
    rtt_min_ms: float
    rtt_avg_ms: float
    rtt_max_ms: float
    notes: tuple[str, ...] = ()


def ping(spec: ConnectionSpec, count: int = 3) -> PingReport:
    rtts = []
    with discover(spec) as (target, ident, conn), translate_errors(spec, "PING"):
        for _ in range(count):
            start = time.perf_counter()
            conn.ping()
            rtts.append((time.perf_counter() - start) * 1000.0)
    return PingReport(
        target=target,
        complete=True,
        server=ident.name,
        version=ident.version,
        mode=target.mode,
        role=ident.role_name,
        pings=count,
        rtt_min_ms=round(min(rtts), 3),
        rtt_avg_ms=round(sum(rtts) / len(rtts), 3),
        rtt_max_ms=round(max(rtts), 3),
    )
