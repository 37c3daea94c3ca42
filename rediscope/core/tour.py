"""The steps of `rediscope demo`'s tour: each command adds itself here."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from rediscope.core.bigkeys import bigkeys
from rediscope.core.connection import ConnectionSpec
from rediscope.core.memory import memory
from rediscope.core.pattern_stats import patterns
from rediscope.core.ping import ping
from rediscope.core.scanner import ScanOptions

TOUR: list[tuple[str, Callable[[ConnectionSpec], Any]]] = [
    ("ping", lambda spec: ping(spec, count=5)),
    ("memory --top 10", lambda spec: memory(spec, ScanOptions(), top=10)),
    ("bigkeys --top 10", lambda spec: bigkeys(spec, ScanOptions(), top=10)),
    ("patterns --memory", lambda spec: patterns(spec, ScanOptions(), memory=True)),
]
