"""Where a scanning command's keys come from, as the commands see it: a KeySource (a live
server in core/scan, RDB files or a replication stream in core/rdbfile) scans with the
collectors it is given and returns a ScanResult."""

from __future__ import annotations

from collections.abc import Callable
from typing import Protocol

from rediscope.core.connection import ConnectionSpec
from rediscope.core.pipeline.options import ScanOptions
from rediscope.core.pipeline.records import Collector, KeyRef, ProgressFn, ScanSummary, SourceInfo
from rediscope.core.target import Target


class KeySource(Protocol):
    #: the live server; None when the keys come from files
    spec: ConnectionSpec | None

    def scan(
        self,
        opts: ScanOptions,
        make_collectors: Callable[[], list[Collector]],
        progress: ProgressFn | None = None,
    ) -> tuple[Target, ScanSummary, list[Collector]]: ...

    def describe(
        self, target: Target, refs: list[KeyRef]
    ) -> dict[KeyRef, tuple[str | None, int | None]]:
        """(encoding, TTL in ms) of listed keys."""
        ...

    def source_info(self) -> SourceInfo: ...

    def access(self) -> str | None:
        """What the keys' access data is: lfu (LFU counters), idletime, or None (none)."""
        ...
