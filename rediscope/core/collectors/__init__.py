"""Collectors: bounded state fed by record batches (core/pipeline/records.py).

A collector knows nothing of where a batch came from (a live scan, an RDB file, a test): it
has `needs` (the per-key fields it reads), `add(batch)` and `merge(other)` (one collector per
node, merged at the end). They share one bounded TopN of named KeyEntry values.
"""
