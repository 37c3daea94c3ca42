"""Every key as a row, streamed: a collector that hands each batch's keys (filtered by size) to
a sink as the batch arrives, and keeps nothing but counts (flat memory at any keyspace size).
What a row looks like on the page (JSONL, CSV) is the sink's business (render/rows.py)."""

from __future__ import annotations

from typing import Protocol, TypeVar

from rediscope.core.collectors.rowpatterns import LOOKAHEAD, RowPatterns
from rediscope.core.pipeline.records import Batch

#: the per-key fields a row carries (idle or freq where the source measures them)
ROW_NEEDS = frozenset({"memory", "length", "ttl", "encoding"})


class KeyRowSink(Protocol):
    """Where rows go. One sink serves every node's collector: nodes are scanned in parallel
    threads, so write() must be safe to call from several at once."""

    def write(self, batch: Batch, patterns: list[str] | None = None) -> None:
        """The batch's keys as rows; PATTERNS (patterns' export): each key's pattern."""


T = TypeVar("T")


def _pick(column: list[T] | None, keep: list[int]) -> list[T] | None:
    return None if column is None else [column[i] for i in keep]


def filtered(batch: Batch, keep: list[int]) -> Batch:
    """The rows KEEP of BATCH (every column that is there)."""
    return Batch(
        node=batch.node,
        db=batch.db,
        keys=[batch.keys[i] for i in keep],
        types=[batch.types[i] for i in keep],
        memory=_pick(batch.memory, keep),
        lengths=_pick(batch.lengths, keep),
        ttl_ms=_pick(batch.ttl_ms, keep),
        encoding=_pick(batch.encoding, keep),
        idle=_pick(batch.idle, keep),
        freq=_pick(batch.freq, keep),
    )


class RowCollector:
    """Writes each key of each batch to the sink; with thresholds, only the keys of at least
    MIN_BYTES bytes or MIN_ELEMENTS elements (either: bigkeys' rule). With NAMER (patterns'
    export), each row carries its key's pattern: rows are then held back (at most LOOKAHEAD
    of them) while the folds are learned from every key scanned, and finish() writes the rest
    named by the final folds."""

    #: its sink writes as the batches come: it runs in this process, never in a worker
    in_process = True

    def __init__(
        self,
        sink: KeyRowSink,
        min_bytes: int | None = None,
        min_elements: int | None = None,
        needs: frozenset[str] = ROW_NEEDS,
        namer: RowPatterns | None = None,
    ) -> None:
        self.sink = sink
        self.namer = namer
        self.held: list[tuple[Batch, list[str]]] = []  # rows not written yet (with a namer)
        self.held_rows = 0
        self.min_bytes = min_bytes
        self.min_elements = min_elements
        self.needs = needs
        self.rows = 0  # rows written
        self.seen = 0  # keys seen

    def add(self, batch: Batch) -> None:
        self.seen += len(batch.keys)
        patterns = self.namer.infer(batch.keys) if self.namer is not None else None
        if self.min_bytes is not None or self.min_elements is not None:
            keep = self._over(batch)
            if not keep:
                return
            if len(keep) < len(batch.keys):
                batch = filtered(batch, keep)
                patterns = [patterns[i] for i in keep] if patterns is not None else None
        if not batch.keys:
            return
        self.rows += len(batch.keys)
        if patterns is None:
            self.sink.write(batch)
            return
        self.held.append((batch, patterns))
        self.held_rows += len(batch.keys)
        if self.held_rows > LOOKAHEAD:
            self._release()

    def _release(self) -> None:
        """Mid-scan: the rows held back, named by every fold seen so far, except those of
        patterns still rare (a fold of theirs may be learned later), which wait while they
        are fewer than LOOKAHEAD / 2 (the oldest go first past that)."""
        assert self.namer is not None
        namer = self.namer
        namer.fold()
        held, self.held, self.held_rows = self.held, [], 0
        waiting: list[tuple[Batch, list[str]]] = []
        for batch, patterns in held:
            names = namer.name(patterns)
            rare = [i for i, name in enumerate(names) if namer.rare(name)]
            if not rare:
                self.sink.write(batch, names)
                continue
            if len(rare) < len(names):
                skip = set(rare)
                sure = [i for i in range(len(names)) if i not in skip]
                self.sink.write(filtered(batch, sure), [names[i] for i in sure])
            if rare:
                waiting.append((filtered(batch, rare), [patterns[i] for i in rare]))
        waited = sum(len(b.keys) for b, _ in waiting)
        while waiting and waited > LOOKAHEAD // 2:
            batch, patterns = waiting.pop(0)
            self.sink.write(batch, namer.name(patterns))
            waited -= len(batch.keys)
        self.held, self.held_rows = waiting, waited

    def finish(self) -> None:
        """The rows held back, named by every fold the keys scanned show (at the end: the
        report's)."""
        if self.namer is None:
            return
        self.namer.fold()
        held, self.held, self.held_rows = self.held, [], 0
        for batch, patterns in held:
            self.sink.write(batch, self.namer.name(patterns))

    def _over(self, batch: Batch) -> list[int]:
        n = len(batch.keys)
        memory = batch.memory or [None] * n
        lengths = batch.lengths or [None] * n
        min_b, min_e = self.min_bytes, self.min_elements
        return [
            i
            for i, (mem, length) in enumerate(zip(memory, lengths, strict=True))
            if (min_b is not None and mem is not None and mem >= min_b)
            or (min_e is not None and length is not None and length >= min_e)
        ]

    def merge(self, other: RowCollector) -> None:
        if other is not self:
            self.rows += other.rows
            self.seen += other.seen
            if self.namer is not None and other.namer is not None:
                self.namer.merge(other.namer)
                self.held += other.held
                self.held_rows += other.held_rows
