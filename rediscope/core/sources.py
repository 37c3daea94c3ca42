"""Where a scanning command's keys come from: a live server (the pipelined SCAN walk) or RDB
files (rediscope.core.rdbfile). Both feed the same collectors with the same record batches."""

from __future__ import annotations

from collections.abc import Callable
from typing import Protocol

from rediscope.core.connection import ConnectionSpec, client
from rediscope.core.failures import translate_errors
from rediscope.core.info import info
from rediscope.core.keyinfo import KeyRef, describe_keys
from rediscope.core.scan import Collector, ProgressFn, ScanOptions, ScanSummary, run_scan
from rediscope.core.scan.options import SourceInfo
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


class LiveSource:
    def __init__(self, spec: ConnectionSpec) -> None:
        self.spec: ConnectionSpec | None = spec
        self._spec = spec

    def scan(
        self,
        opts: ScanOptions,
        make_collectors: Callable[[], list[Collector]],
        progress: ProgressFn | None = None,
    ) -> tuple[Target, ScanSummary, list[Collector]]:
        return run_scan(self._spec, opts, make_collectors, progress)

    def describe(
        self, target: Target, refs: list[KeyRef]
    ) -> dict[KeyRef, tuple[str | None, int | None]]:
        return describe_keys(self._spec, target, refs)

    def source_info(self) -> SourceInfo:
        return SourceInfo()

    def access(self) -> str | None:
        return "lfu" if "lfu" in eviction_policy(self._spec) else "idletime"


def eviction_policy(spec: ConnectionSpec) -> str:
    """maxmemory-policy from INFO memory (no CONFIG needed)."""
    conn = client(spec)
    try:
        with translate_errors(spec, "INFO memory"):
            return str(info(conn, "memory").get("maxmemory_policy", "noeviction"))
    finally:
        conn.close()


def as_source(source: ConnectionSpec | KeySource) -> KeySource:
    return LiveSource(source) if isinstance(source, ConnectionSpec) else source
