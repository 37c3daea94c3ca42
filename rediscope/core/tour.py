"""The steps of `rediscope demo`'s tour: each command adds itself here."""

from __future__ import annotations

import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

from rediscope.core.bigkeys import bigkeys
from rediscope.core.capacity import report as capacity_report
from rediscope.core.connection import ConnectionSpec
from rediscope.core.health import HealthOptions, health
from rediscope.core.memory import memory
from rediscope.core.pattern_stats import patterns
from rediscope.core.ping import ping
from rediscope.core.scanner import ScanOptions


def _capacity(spec: ConnectionSpec) -> Any:
    # no history yet: the point-in-time view, and how to start recording
    return capacity_report(spec, Path(tempfile.gettempdir()) / "rediscope-demo-none.sqlite")


TOUR: list[tuple[str, Callable[[ConnectionSpec], Any]]] = [
    ("ping", lambda spec: ping(spec, count=5)),
    ("health --window 0", lambda spec: health(spec, HealthOptions(window=0))),
    ("memory --top 10", lambda spec: memory(spec, ScanOptions(), top=10)),
    ("bigkeys --top 10", lambda spec: bigkeys(spec, ScanOptions(), top=10)),
    ("patterns --memory", lambda spec: patterns(spec, ScanOptions(), memory=True)),
    ("capacity report", _capacity),
]
