"""The steps of `rediscope demo`'s tour: each command adds itself here."""

from __future__ import annotations

import tempfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar

from rediscope.core.bigkeys.command import bigkeys
from rediscope.core.capacity.command import report as capacity_report
from rediscope.core.clients import ClientsOptions, clients
from rediscope.core.connection import ConnectionSpec
from rediscope.core.health import HealthOptions, health
from rediscope.core.health.ping import ping
from rediscope.core.memory.command import memory
from rediscope.core.patterns.command import patterns
from rediscope.core.pipeline.options import ScanOptions
from rediscope.core.report import ReportBase
from rediscope.core.target import Target


def _capacity(spec: ConnectionSpec) -> Any:
    # no history yet: the point-in-time view, and how to start recording
    return capacity_report(spec, Path(tempfile.gettempdir()) / "rediscope-demo-none.sqlite")


TOUR: list[tuple[str, Callable[[ConnectionSpec], Any]]] = [
    ("ping", lambda spec: ping(spec, count=5)),
    ("health --window 0", lambda spec: health(spec, HealthOptions(window=0))),
    ("memory --top 10", lambda spec: memory(spec, ScanOptions(), top=10)),
    ("bigkeys --top 10", lambda spec: bigkeys(spec, ScanOptions(), top=10)),
    ("patterns --memory", lambda spec: patterns(spec, ScanOptions(), memory=True)),
    ("clients --window 0", lambda spec: clients(spec, ClientsOptions(window=0))),
    ("capacity report", _capacity),
]


@dataclass(frozen=True)
class TourStep:
    """One command of the tour (`step` as typed after `rediscope`) and its report."""

    step: str
    report: Any


@dataclass(frozen=True)
class DemoReport(ReportBase):
    """The whole tour as one report: `--format json` writes it as one document."""

    command: ClassVar[str] = "demo"
    target: Target
    complete: bool
    keys_loaded: int
    patterns_loaded: int
    steps: tuple[TourStep, ...]
    notes: tuple[str, ...] = ()


def tour(spec: ConnectionSpec) -> Iterator[TourStep]:
    """Run the tour's commands one by one against the demo server."""
    for title, step in TOUR:
        yield TourStep(title, step(spec))
