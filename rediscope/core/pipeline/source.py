"""Where a scanning command's keys come from, as the commands see it: a KeySource (a live
server in core/scan, RDB files or a replication stream in core/rdbfile) scans with the
collectors it is given and returns a ScanResult."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol, TypeVar

from rediscope.core.connection import ConnectionSpec
from rediscope.core.pipeline.options import ScanOptions
from rediscope.core.pipeline.records import Collector, KeyRef, ProgressFn, ScanSummary, SourceInfo
from rediscope.core.target import Target

C = TypeVar("C")


@dataclass(frozen=True)
class ScanResult:
    """What a scan of any source returns: the target it scanned, the summary, and the merged
    collectors, one of each kind the command asked for."""

    target: Target
    summary: ScanSummary
    collectors: tuple[Collector, ...]

    def collector(self, kind: type[C]) -> C:
        """The merged collector of this kind (the command made it, so it is there)."""
        for c in self.collectors:
            if isinstance(c, kind):
                return c
        raise TypeError(f"the scan ran no {kind.__name__}")


class KeySource(Protocol):
    #: the live server; None when the keys come from files
    spec: ConnectionSpec | None
    #: a server whose values a check may sample: the live one, or the primary whose
    #: replication stream --sync reads; None for files
    server: ConnectionSpec | None

    def scan(
        self,
        opts: ScanOptions,
        make_collectors: Callable[[], list[Collector]],
        progress: ProgressFn | None = None,
    ) -> ScanResult: ...

    def describe(
        self, target: Target, refs: list[KeyRef]
    ) -> dict[KeyRef, tuple[str | None, int | None]]:
        """(encoding, TTL in ms) of listed keys."""
        ...

    def source_info(self) -> SourceInfo: ...

    def access(self) -> str | None:
        """What the keys' access data is: lfu (LFU counters), idletime, or None (none)."""
        ...
