"""The live key source: the pipelined SCAN walk of every node (core/scan/pool.py), and the
few per-key details a report asks for afterwards."""

from __future__ import annotations

from collections.abc import Callable

from rediscope.core.connection import ConnectionSpec, connect
from rediscope.core.failures import translate_errors
from rediscope.core.info import info
from rediscope.core.pipeline.options import ScanOptions
from rediscope.core.pipeline.records import Collector, KeyRef, ProgressFn, SourceInfo
from rediscope.core.pipeline.source import KeySource, ScanResult
from rediscope.core.scan.describe import describe_keys
from rediscope.core.scan.pool import run_scan
from rediscope.core.target import Target


class LiveSource:
    def __init__(self, spec: ConnectionSpec) -> None:
        self.spec: ConnectionSpec | None = spec
        self.server: ConnectionSpec | None = spec
        self._spec = spec

    def scan(
        self,
        opts: ScanOptions,
        make_collectors: Callable[[], list[Collector]],
        progress: ProgressFn | None = None,
    ) -> ScanResult:
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
    """maxmemory-policy from INFO memory (no CONFIG needed). Connected as every command
    connects: a db the server does not have is named as such."""
    conn = connect(spec)
    try:
        with translate_errors(spec, "INFO memory"):
            return str(info(conn, "memory").get("maxmemory_policy", "noeviction"))
    finally:
        conn.close()


def as_source(source: ConnectionSpec | KeySource) -> KeySource:
    return LiveSource(source) if isinstance(source, ConnectionSpec) else source
