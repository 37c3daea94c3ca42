"""The scan pipeline's shared types: key source -> record batches -> collectors -> report.

`options` is what a scan is asked for; `records` the typed record batch every source delivers,
the Collector protocol and the per-node and whole-scan summaries; `source` the KeySource
protocol and the ScanResult a source returns. Live sources live in core/scan, file and
replication sources in core/rdbfile, collectors in core/collectors.
"""
