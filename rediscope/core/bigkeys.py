"""`rediscope bigkeys`: the biggest keys by bytes and by element count, per-type totals."""

from __future__ import annotations

import heapq
import itertools
from dataclasses import dataclass
from typing import ClassVar

from rediscope.core.connection import ConnectionSpec
from rediscope.core.keyinfo import describe_keys
from rediscope.core.scan import (
    Batch,
    Collector,
    ProgressFn,
    ScanOptions,
    ScanSummary,
    run_scan,
)
from rediscope.core.target import Target

# heap entries: (measure, tiebreak, key, db, node, type, bytes, elements)
_Entry = tuple[int, int, bytes, int, str, str, "int | None", "int | None"]
_seq = itertools.count()


@dataclass(frozen=True)
class BigKey:
    key: bytes
    db: int
    node: str
    type: str
    encoding: str | None
    bytes: int | None
    elements: int | None
    ttl_s: float | None  # None: no expiry


@dataclass(frozen=True)
class TypeSummary:
    type: str
    keys: int
    bytes: int
    elements: int
    avg_bytes: float
    avg_elements: float
    share: float  # of the bytes of all keys scanned
    biggest: BigKey | None  # most elements (for strings: longest)
    estimated: bool


@dataclass(frozen=True)
class BigKeysReport:
    command: ClassVar[str] = "bigkeys"
    target: Target
    complete: bool
    scan: ScanSummary
    keys: tuple[BigKey, ...]  # top N by bytes
    top_by_elements: tuple[BigKey, ...]  # top N per type by element count
    by_type: tuple[TypeSummary, ...]
    top: int  # --top: keys listed by bytes, and per type by elements
    min_bytes: int | None
    min_elements: int | None
    over_threshold: int  # keys above --min-bytes or --min-elements
    over_threshold_keys: tuple[BigKey, ...]  # all of them, biggest first (up to MAX_OFFENDERS)
    notes: tuple[str, ...]


def _push(heap: list[_Entry], size: int, entry: _Entry) -> None:
    if len(heap) < size:
        heapq.heappush(heap, entry)
    elif entry[0] > heap[0][0]:
        heapq.heapreplace(heap, entry)


class BigKeysCollector:
    """Top N by bytes, top N per type by elements, per-type totals, threshold offenders."""

    needs: frozenset[str] = frozenset({"memory", "length"})
    MAX_OFFENDERS = 10_000  # keys over a threshold kept for the report (bounded memory)

    def __init__(
        self, top: int = 20, min_bytes: int | None = None, min_elements: int | None = None
    ) -> None:
        self.top = top
        self.min_bytes = min_bytes
        self.min_elements = min_elements
        self.by_bytes: list[_Entry] = []
        self.by_elements: dict[str, list[_Entry]] = {}
        # type -> [keys, bytes, elements]
        self.totals: dict[str, list[int]] = {}
        self.offenders: list[_Entry] = []
        self.over = 0

    def add(self, batch: Batch) -> None:
        top, by_bytes, totals = self.top, self.by_bytes, self.totals
        node, db = batch.node, batch.db
        memory = batch.memory or [None] * len(batch.keys)
        lengths = batch.lengths or [None] * len(batch.keys)
        min_b, min_e = self.min_bytes, self.min_elements
        floor = by_bytes[0][0] if len(by_bytes) >= top else -1
        for key, raw_type, mem, length in zip(
            batch.keys, batch.types, memory, lengths, strict=True
        ):
            tname = raw_type.decode()
            t = totals.get(tname)
            if t is None:
                t = totals[tname] = [0, 0, 0]
                self.by_elements[tname] = []
            t[0] += 1
            if mem is not None:
                t[1] += mem
                if mem > floor:
                    _push(by_bytes, top, (mem, next(_seq), key, db, node, tname, mem, length))
                    floor = by_bytes[0][0] if len(by_bytes) >= top else -1
            if length is not None:
                t[2] += length
                heap = self.by_elements[tname]
                if len(heap) < top or length > heap[0][0]:
                    _push(heap, top, (length, next(_seq), key, db, node, tname, mem, length))
            if (min_b is not None and mem is not None and mem >= min_b) or (
                min_e is not None and length is not None and length >= min_e
            ):
                self.over += 1
                if len(self.offenders) < self.MAX_OFFENDERS:
                    self.offenders.append((mem or 0, next(_seq), key, db, node, tname, mem, length))

    def merge(self, other: BigKeysCollector) -> None:
        if other is self:
            return
        for entry in other.by_bytes:
            _push(self.by_bytes, self.top, entry)
        for tname, heap in other.by_elements.items():
            mine = self.by_elements.setdefault(tname, [])
            for entry in heap:
                _push(mine, self.top, entry)
        for tname, (k, b, e) in other.totals.items():
            t = self.totals.setdefault(tname, [0, 0, 0])
            t[0] += k
            t[1] += b
            t[2] += e
        self.over += other.over
        room = self.MAX_OFFENDERS - len(self.offenders)
        self.offenders.extend(other.offenders[:room])


def bigkeys(
    spec: ConnectionSpec,
    opts: ScanOptions,
    top: int = 20,
    min_bytes: int | None = None,
    min_elements: int | None = None,
    progress: ProgressFn | None = None,
) -> BigKeysReport:
    def make() -> list[Collector]:
        return [BigKeysCollector(top, min_bytes, min_elements)]

    target, scan, collectors = run_scan(spec, opts, make, progress)
    col = collectors[0]
    assert isinstance(col, BigKeysCollector)
    factor = scan.extrapolation
    by_bytes = sorted(col.by_bytes, key=lambda e: (-e[0], e[2]))
    by_elements = sorted(
        (e for h in col.by_elements.values() for e in h), key=lambda e: (e[5], -e[0], e[2])
    )
    offenders = sorted(col.offenders, key=lambda e: (-e[0], e[2]))
    wanted = {(e[4], e[3], e[2]) for e in [*by_bytes, *by_elements, *offenders]}
    details = describe_keys(spec, target, sorted(wanted))

    def big(e: _Entry) -> BigKey:
        encoding, ttl_ms = details.get((e[4], e[3], e[2]), (None, None))
        return BigKey(
            key=e[2],
            db=e[3],
            node=e[4],
            type=e[5],
            encoding=encoding,
            bytes=e[6],
            elements=e[7],
            ttl_s=None if ttl_ms is None or ttl_ms < 0 else ttl_ms / 1000,
        )

    total_bytes = sum(t[1] for t in col.totals.values()) or 1
    summaries = []
    for tname, (k, b, e) in sorted(col.totals.items(), key=lambda kv: -kv[1][1]):
        heap = col.by_elements.get(tname) or []
        best = max(heap, key=lambda x: (x[0], x[2])) if heap else None
        summaries.append(
            TypeSummary(
                type=tname,
                keys=round(k * factor),
                bytes=round(b * factor),
                elements=round(e * factor),
                avg_bytes=round(b / k, 1) if k else 0.0,
                avg_elements=round(e / k, 1) if k else 0.0,
                share=round(b / total_bytes, 4),
                biggest=big(best) if best else None,
                estimated=scan.sampled,
            )
        )
    return BigKeysReport(
        target=target,
        complete=scan.complete,
        scan=scan,
        keys=tuple(big(e) for e in by_bytes),
        top_by_elements=tuple(big(e) for e in by_elements),
        by_type=tuple(summaries),
        top=top,
        min_bytes=min_bytes,
        min_elements=min_elements,
        over_threshold=col.over,
        over_threshold_keys=tuple(big(e) for e in offenders),
        notes=scan.notes,
    )
