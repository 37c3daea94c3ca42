"""Rows of a record batch kept or cut, as the live scan's SCAN MATCH/TYPE and --sample
would: applied to the batches an RDB file yields."""

from __future__ import annotations

import fnmatch
import re
from collections.abc import Callable
from typing import Any

from rediscope.core.pipeline.options import ScanOptions
from rediscope.core.pipeline.records import Batch


def match_filter(opts: ScanOptions) -> Callable[[Batch], Batch] | None:
    """--match, --type and -n/--db applied to a batch, as SCAN MATCH/TYPE would."""
    if opts.match is None and opts.type is None:
        return None
    glob = re.compile(fnmatch.translate(opts.match).encode()) if opts.match else None
    want = opts.type.encode() if opts.type else None

    def apply(b: Batch) -> Batch:
        keep = [
            i
            for i, (k, t) in enumerate(zip(b.keys, b.types, strict=True))
            if (glob is None or glob.match(k)) and (want is None or t == want)
        ]
        if len(keep) == len(b.keys):
            return b
        return rows(b, lambda values: [values[i] for i in keep])

    return apply


def head(b: Batch, n: int) -> Batch:
    return rows(b, lambda values: values[:n])


_COLUMNS = (
    "keys",
    "types",
    "memory",
    "lengths",
    "ttl_ms",
    "encoding",
    "idle",
    "freq",
    "serialized",
)


def rows(b: Batch, take: Callable[[list[Any]], list[Any]]) -> Batch:
    """A batch of some of B's rows: TAKE applied to every column."""
    columns: list[Any] = [getattr(b, name) for name in _COLUMNS]
    return Batch(b.node, b.db, *(None if c is None else take(c) for c in columns))  # type: ignore[arg-type]
