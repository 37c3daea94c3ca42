"""What every report is, and the exit status it implies (cli/_run.py's finish() asks the
report instead of probing its attributes)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar, Protocol

from rediscope.core.pipeline.records import ScanSummary
from rediscope.core.target import Target
from rediscope.exitcodes import ExitStatus


@dataclass(frozen=True)
class Outcome:
    """How a run ended: the exit status, and the lines that say why on stderr."""

    status: int  # an ExitStatus (health: a HealthExit)
    errors: tuple[str, ...] = ()
    interrupted: bool = False


class ReportBase:
    """What a report that implies no failure by itself inherits: exit 0."""

    def outcome(self) -> Outcome:
        return Outcome(ExitStatus.OK)


class Report(Protocol):
    """A command's result: frozen, raw units; its renderers and finish() need only this."""

    command: ClassVar[str]

    @property
    def target(self) -> Target: ...

    @property
    def complete(self) -> bool: ...

    @property
    def notes(self) -> tuple[str, ...]: ...

    def outcome(self) -> Outcome: ...


def scan_outcome(
    scan: ScanSummary | None, interrupted: bool = False, errors: tuple[str, ...] = ()
) -> Outcome:
    """A scanning report's end: 130 when interrupted, 1 when a node failed or slots kept
    moving (what it had is still reported, marked incomplete), else 0."""
    if scan is not None:
        errors = (*errors, *(n.error for n in scan.nodes if n.error))
        interrupted = interrupted or scan.interrupted
    if interrupted:
        return Outcome(ExitStatus.INTERRUPTED, errors, True)
    if errors or (scan is not None and not scan.complete):
        return Outcome(ExitStatus.ERROR, errors)
    return Outcome(ExitStatus.OK)
