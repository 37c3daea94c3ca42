"""Collectors: bounded state fed by record batches (core/scan/options.py's Batch).

A collector knows nothing of where a batch came from (a live scan, an RDB file, a test): it
has `needs` (the per-key fields it reads), `add(batch)` and `merge(other)` (one collector per
node, merged at the end). They share one bounded TopN of named KeyEntry values.
"""

from rediscope.core.collectors.bigkeys import BigKeysCollector
from rediscope.core.collectors.freq import FreqCollector
from rediscope.core.collectors.memory import MemoryCollector
from rediscope.core.collectors.patterns import PatternCollector
from rediscope.core.collectors.topn import KeyEntry, TopN

__all__ = [
    "BigKeysCollector",
    "FreqCollector",
    "KeyEntry",
    "MemoryCollector",
    "PatternCollector",
    "TopN",
]
