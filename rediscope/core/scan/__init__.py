"""The scan pipeline: key sources -> record batches -> collectors.

`options` holds what every part shares (ScanOptions, the Batch of records, the Collector
protocol, the summaries); `live` is the live source (a pipelined SCAN walk per node), `pool`
runs it on every node, `cluster` keeps a cluster scan exact while slots move; the collectors
live in `rediscope.core.collectors`, and know nothing of where a batch came from.
"""

from rediscope.core.scan.options import (
    LENGTH_COMMANDS,
    NEEDS,
    TYPES,
    Batch,
    Collector,
    NodeScan,
    ProgressFn,
    ScanOptions,
    ScanSummary,
)
from rediscope.core.scan.pool import run_scan, scan_nodes

__all__ = [
    "LENGTH_COMMANDS",
    "NEEDS",
    "TYPES",
    "Batch",
    "Collector",
    "NodeScan",
    "ProgressFn",
    "ScanOptions",
    "ScanSummary",
    "run_scan",
    "scan_nodes",
]
