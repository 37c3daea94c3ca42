"""Rows of `--format jsonl|csv`: one per key, the key written as the JSON output writes it
(UTF-8 verbatim; anything else in redis-cli's quoted form with key_escaped true). Pure: a batch
in, text out."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterator
from typing import Any

from rediscope.core.keynames import json_key
from rediscope.core.pipeline.records import Batch

#: the columns, in order (docs/json.md, docs/schema/key-row.json)
COLUMNS = (
    "key",
    "key_escaped",
    "db",
    "type",
    "encoding",
    "bytes",
    "elements",
    "ttl",
    "idle",
    "freq",
    "node",
)

#: patterns' rows: the same, then the pattern the key was folded into
PATTERN_COLUMNS = (*COLUMNS, "pattern")


def _seconds(ms: int | None) -> float | None:
    """A PTTL as seconds (ms precision); None for no expiry (-1), gone (-2) or unmeasured."""
    return None if ms is None or ms < 0 else ms / 1000


def row_values(batch: Batch, patterns: list[str] | None = None) -> Iterator[tuple[Any, ...]]:
    """Each key's values in COLUMNS order (None where not measured); with PATTERNS, each
    key's pattern last (PATTERN_COLUMNS)."""
    n = len(batch.keys)
    none: list[Any] = [None] * n
    columns = zip(
        batch.keys,
        batch.types,
        batch.encoding or none,
        batch.memory or none,
        batch.lengths or none,
        batch.ttl_ms or none,
        batch.idle or none,
        batch.freq or none,
        strict=True,
    )
    node, db = batch.node, batch.db
    named = iter(patterns) if patterns is not None else None
    for key, t, enc, mem, length, ttl, idle, freq in columns:
        text, escaped = json_key(key)
        row = (
            text,
            escaped,
            db,
            t.decode(),
            enc.decode() if enc is not None else None,
            mem,
            length,
            _seconds(ttl),
            idle,
            freq,
            node,
        )
        yield row if named is None else (*row, next(named))


def jsonl_rows(batch: Batch, patterns: list[str] | None = None) -> str:
    """One JSON object a line, every column in every row (null where not measured)."""
    dumps = json.JSONEncoder(ensure_ascii=False, separators=(",", ":")).encode
    names = COLUMNS if patterns is None else PATTERN_COLUMNS
    return "".join(
        dumps(dict(zip(names, row, strict=True))) + "\n" for row in row_values(batch, patterns)
    )


def csv_header(patterns: bool = False) -> str:
    return ",".join(PATTERN_COLUMNS if patterns else COLUMNS) + "\n"


def csv_rows(batch: Batch, patterns: list[str] | None = None) -> str:
    """RFC 4180 fields (a key with a comma, quote or newline is quoted), lines end in \\n;
    empty where not measured; key_escaped as true/false."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    for row in row_values(batch, patterns):
        writer.writerow(
            [
                "true" if v is True else "false" if v is False else "" if v is None else v
                for v in row
            ]
        )
    return out.getvalue()
