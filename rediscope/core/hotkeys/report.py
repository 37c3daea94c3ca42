"""The hotkeys report, its options, the bounded counter and the hot-key flags."""

from __future__ import annotations

import heapq
from dataclasses import dataclass, field
from typing import Any, ClassVar

from rediscope.core.pipeline.records import ScanSummary
from rediscope.core.report import Outcome, scan_outcome
from rediscope.core.target import Target
from rediscope.errors import UsageError

LFU_INIT = 5  # a new key's LFU counter


class Hits:
    """One key's (or pattern's) commands seen: all of them, reads, writes."""

    __slots__ = ("hits", "reads", "writes")

    def __init__(self) -> None:
        self.hits = self.reads = self.writes = 0

    def merge(self, other: Hits) -> None:
        self.hits += other.hits
        self.reads += other.reads
        self.writes += other.writes


class TopCounter:
    """Counts with bounded memory: past `capacity` entries, the least counted half is dropped
    (their counts become the error bound `dropped_max`); heavy hitters survive."""

    def __init__(self, capacity: int = 20_000) -> None:
        self.capacity = capacity
        self.counts: dict[Any, Hits] = {}
        self.dropped_max = 0

    def add(self, key: Any, write: bool) -> None:
        slot = self.counts.get(key)
        if slot is None:
            if len(self.counts) >= 2 * self.capacity:
                self._shrink()
            slot = self.counts[key] = Hits()
        slot.hits += 1
        if write:
            slot.writes += 1
        else:
            slot.reads += 1

    def _shrink(self) -> None:
        ordered = sorted(self.counts.items(), key=lambda kv: kv[1].hits)
        cut = len(ordered) - self.capacity
        self.dropped_max = max(self.dropped_max, ordered[cut - 1][1].hits)
        self.counts = dict(ordered[cut:])

    def merge(self, other: TopCounter) -> None:
        for key, hits in other.counts.items():
            self.counts.setdefault(key, Hits()).merge(hits)
        self.dropped_max = max(self.dropped_max, other.dropped_max)

    def top(self, n: int) -> list[tuple[Any, Hits]]:
        return heapq.nlargest(n, self.counts.items(), key=lambda kv: (kv[1].hits, str(kv[0])))


@dataclass(frozen=True, kw_only=True)
class HotKey:
    key: bytes
    db: int
    node: str
    hits: int | None
    reads: int | None
    writes: int | None
    share: float | None
    freq: int | None = None  # LFU counter (method lfu)
    pattern: str | None = None


@dataclass(frozen=True)
class HotPattern:
    pattern: str
    hits: int
    reads: int
    writes: int
    share: float


@dataclass(frozen=True)
class CallShare:
    name: str
    calls: int
    share: float


@dataclass(frozen=True)
class Flag:
    key: bytes  # a key name: JSON writes it as every other key (text, or escaped)
    share: float
    hints: tuple[str, ...]


@dataclass(frozen=True)
class SlotTraffic:
    """A cluster slot that takes the traffic (hotkeys/slots.py)."""

    slot: int
    node: str | None  # the primary that serves it (None: not known)
    hot_keys: int  # keys of the report in this slot
    hits: int | None  # their hits summed (None: the method counts no hits)
    cpu_usec: int | None  # the server's own CPU time for the slot (SLOT-STATS), else None
    keys: int | None  # keys the slot holds (SLOT-STATS), else None


@dataclass(frozen=True, kw_only=True)
class HotkeysReport:
    command: ClassVar[str] = "hotkeys"
    target: Target
    complete: bool
    method: str
    reason: str
    window_s: float
    commands_seen: int
    ops_per_s: float | None
    keys: tuple[HotKey, ...]
    patterns: tuple[HotPattern, ...]
    commands: tuple[CallShare, ...]
    clients: tuple[CallShare, ...]
    flagged: tuple[Flag, ...]
    scan: ScanSummary | None = None
    notes: tuple[str, ...] = ()
    lfu: dict[str, Any] = field(default_factory=dict)
    interrupted: bool = False
    errors: tuple[str, ...] = ()  # nodes that failed during the window
    #: on a cluster, the slots that take the traffic (hotkeys/slots.py), hottest first
    hot_slots: tuple[SlotTraffic, ...] = ()

    def outcome(self) -> Outcome:
        """A MONITOR window with failed nodes or Ctrl-C, or an LFU scan's own end."""
        return scan_outcome(self.scan, self.interrupted, self.errors)


HINTS = (
    "cache it client-side (RESP3 CLIENT TRACKING keeps the copies fresh)",
    "read it from replicas (--replica / READONLY) to spread the reads",
    "split it into N keys (key:{0..N-1}) and pick one per request",
)


@dataclass(frozen=True)
class HotkeysOptions:
    method: str = "auto"
    duration: float = 10.0
    max_commands: int | None = None
    top: int = 20
    warn_share: float = 0.10
    min_freq: int = LFU_INIT + 1
    separators: str = ":"

    def validate(self) -> None:
        if self.method not in ("auto", "lfu", "server", "monitor"):
            raise UsageError("--method must be auto, lfu, server or monitor")
        if not 0 < self.duration <= 3600:
            raise UsageError("--duration must be between 0 and 1 hour")
        if self.max_commands is not None and self.max_commands < 1:
            raise UsageError("--max-commands must be at least 1")
        if not 0 < self.warn_share <= 1:
            raise UsageError("--warn-share must be between 0 and 1 (e.g. 0.1 for 10%)")


def flags(keys: list[HotKey], warn_share: float) -> tuple[Flag, ...]:
    return tuple(
        Flag(k.key, k.share, HINTS) for k in keys if k.share is not None and k.share > warn_share
    )
