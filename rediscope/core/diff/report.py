"""The diff report: each side as read, per pattern / type / db figures with their deltas, the
keys that grew most, and the CI gates."""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from rediscope.core.report import Outcome
from rediscope.core.target import Target
from rediscope.exitcodes import ExitStatus

#: the least time between the sides for a growth per day (under it: null, "unknown")
RATES_MIN_SECONDS = 3600.0

#: --sort: what the pattern rows are ordered by (largest first; name: A to Z)
SORTS = ("bytes-added", "keys-added", "growth", "bytes", "keys", "name")


@dataclass(frozen=True, kw_only=True)
class Side:
    """One side as read: what it was, when it was taken, its totals."""

    given: str  # as given on the command line ("live" for the live target)
    kind: str  # rdb | backup | stdin | report | live
    files: tuple[str, ...]  # the RDB files read, or the report file
    time: str | None  # when it was taken (UTC, RFC 3339); None: unknown
    time_source: (
        str  # rdb-ctime | file-mtime | backup-manifest | report | report-source | now | unknown
    )
    keys: int
    bytes: int | None  # None: the side does not say (a patterns report without --memory)
    bytes_model: str  # rdb-estimate | memory-usage | report
    sampled: bool  # keys and bytes extrapolated from a sample
    complete: bool
    notes: tuple[str, ...] = ()


@dataclass(frozen=True)
class Figures:
    """One pattern (or type, or db) on one side."""

    keys: int
    bytes: int | None
    ttl_share: float | None  # keys with a TTL / keys (None: not known)
    mean_elements: float | None  # mean element count (a string's: its length)


@dataclass(frozen=True, kw_only=True)
class PatternDelta:
    pattern: str
    status: str  # new | vanished | grown | shrunk | unchanged
    old: Figures
    new: Figures
    keys_delta: int
    bytes_delta: int | None
    growth_pct: float | None  # of bytes (of keys when bytes are unknown); None when OLD had none
    keys_growth_pct: float | None
    bytes_per_day: float | None


@dataclass(frozen=True, kw_only=True)
class GroupDelta:
    """A total, a type or a db on both sides."""

    name: str
    old_keys: int
    new_keys: int
    keys_delta: int
    old_bytes: int | None
    new_bytes: int | None
    bytes_delta: int | None
    growth_pct: float | None


@dataclass(frozen=True, kw_only=True)
class KeyGrowth:
    """A key among NEW's biggest: one that grew (in both sides) or a new one (not in OLD)."""

    key: bytes
    db: int
    type: str
    old_bytes: int | None  # None: the key is not in OLD (keys_new)
    new_bytes: int
    bytes_delta: int  # exact (a new key: its bytes in NEW)
    exact: bool
    old_elements: int | None
    new_elements: int | None


@dataclass(frozen=True)
class KeysBound:
    """How the key comparison was bounded."""

    top: int  # keys kept per side, the biggest by bytes
    old_floor: int | None  # the smallest of OLD's list when it was full (None: it held every key)
    new_floor: int | None
    how: str


@dataclass(frozen=True)
class GrowthGate:
    option: str  # fail-if-grown | fail-if-pattern-grown
    threshold_pct: float
    value_pct: float | None  # the total's growth, or the largest pattern growth
    tripped: bool
    patterns: tuple[str, ...] = ()  # the patterns over the threshold
    message: str | None = None


@dataclass(frozen=True, kw_only=True)
class DiffReport:
    command: ClassVar[str] = "diff"
    target: Target
    complete: bool
    old: Side
    new: Side
    seconds_between: float | None
    days_between: float | None
    separators: str
    sort: str
    totals: GroupDelta
    bytes_per_day: float | None
    keys_per_day: float | None
    patterns: tuple[PatternDelta, ...]
    new_patterns: tuple[str, ...]
    vanished_patterns: tuple[str, ...]
    movers: tuple[str, ...]  # the patterns that added the most bytes, biggest first
    by_type: tuple[GroupDelta, ...]
    by_db: tuple[GroupDelta, ...]
    keys_grown: tuple[KeyGrowth, ...] | None  # in both sides, by growth; None: a side is a report
    keys_bound: KeysBound | None
    gates: tuple[GrowthGate, ...]
    errors: tuple[str, ...] = ()
    notes: tuple[str, ...] = ()
    #: NEW's biggest keys that are not in OLD, biggest first (None as keys_grown)
    keys_new: tuple[KeyGrowth, ...] | None = None
    #: sides closer than this give no rate per day (null): seconds extrapolated to a day
    rates_min_seconds: float = RATES_MIN_SECONDS

    def outcome(self) -> Outcome:
        """Exit 1 when a gate tripped or a side could not be read in full."""
        why = tuple(g.message for g in self.gates if g.tripped and g.message)
        failed = bool(why) or bool(self.errors) or not self.complete
        return Outcome(ExitStatus.ERROR if failed else ExitStatus.OK, (*self.errors, *why))
