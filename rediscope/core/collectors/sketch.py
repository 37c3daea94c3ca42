"""Size distributions in bounded memory: a log-linear histogram of non-negative integers
(bytes, element counts) whose percentiles are within 0.4% of the exact ones.

Values below 256 have a bin each (exact). Above, every power-of-two octave [2^e, 2^(e+1)) is
cut into 128 bins of equal width, so a bin spans at most 1/128 of its lowest value, and the
midpoint returned for a percentile is within 1/256 (0.39%) of any value in the bin. The bins
also nest in the power-of-two buckets (a bin never straddles a power of two), so the
power-of-two histogram the HTML page draws is exact. State: one counter per bin in use, at most
128 per octave the values span (a few thousand for values from 1 byte to 1 TiB), whatever the
number of keys; merging two sketches adds their counters (nodes, files, folded patterns).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from rediscope.core.collectors.columns import group_rows, known, pick
from rediscope.core.pipeline.records import Batch

_SUB = 7  # 2^7 = 128 bins per octave
_EXACT = 1 << (_SUB + 1)  # below 256, a bin per value


def bin_of(v: int) -> int:
    """The bin of a value: v itself below 256, else (shift, top 8 bits) in order."""
    if v < _EXACT:
        return v
    shift = v.bit_length() - _SUB - 1
    return (shift << _SUB) + (v >> shift)


def bin_range(b: int) -> tuple[int, int]:
    """The lowest and highest value of bin B."""
    if b < _EXACT:
        return b, b
    shift = (b >> _SUB) - 1
    lo = (b - (shift << _SUB)) << shift
    return lo, lo + (1 << shift) - 1


_LUT = [bin_of(v) for v in range(1 << 14)]  # the common sizes, looked up
_TOP = len(_LUT)


def bins(values: Sequence[int]) -> list[int]:
    """bin_of() of each value (non-negative), without a call per value."""
    lut, top = _LUT, _TOP
    return [lut[v] if v < top else ((s := v.bit_length() - 8) << _SUB) + (v >> s) for v in values]


def count_bins(counts: Counter[int], values: Sequence[int], hi: int) -> None:
    """Each value's bin counted in COUNTS (values non-negative, HI the largest of them): by a
    table lookup in C where every value is in the table, the common case."""
    counts.update(map(_LUT.__getitem__, values) if hi < _TOP else bins(values))


@dataclass(frozen=True)
class Distribution:
    """Percentiles of a measured quantity over keys (nearest rank: p90 is the value 90% of the
    keys are at or below), its maximum (exact), and the keys per power-of-two bucket:
    buckets[0] counts zeros, buckets[i] the values in [2^(i-1), 2^i)."""

    count: int
    p50: int
    p90: int
    p99: int
    max: int
    buckets: tuple[int, ...]


class SizeSketch:
    """Counts per bin, the exact minimum and maximum; percentiles from the bins."""

    __slots__ = ("counts", "hi", "lo", "n")

    def __init__(self) -> None:
        self.counts: Counter[int] = Counter()
        self.n = 0
        self.lo = -1  # -1: nothing yet
        self.hi = -1

    def add_many(self, values: Iterable[int | None]) -> None:
        """Values; None (not measured) and negative values are left out."""
        got = (
            known(values)
            if isinstance(values, list | tuple)
            else [v for v in values if v is not None]
        )
        if not got:
            return
        lo = min(got)
        if lo < 0:
            got = [v for v in got if v >= 0]
            if not got:
                return
            lo = min(got)
        hi = max(got)
        count_bins(self.counts, got, hi)
        self._extend(len(got), lo, hi)

    def _extend(self, n: int, lo: int, hi: int) -> None:
        self.n += n
        self.lo = lo if self.lo < 0 else min(self.lo, lo)
        self.hi = max(self.hi, hi)

    def merge(self, other: SizeSketch) -> None:
        if other is self or not other.n:
            return
        self.counts.update(other.counts)
        self.n += other.n
        self.lo = other.lo if self.lo < 0 else min(self.lo, other.lo)
        self.hi = max(self.hi, other.hi)

    def quantile(self, q: float) -> int:
        """The value at rank ceil(q * n) (1-based) of the values in order, within 0.39%."""
        if not self.n:
            return 0
        per_10k = round(q * 10_000)
        rank = max(1, -(-per_10k * self.n // 10_000))  # ceil(q * n), in integers
        seen = 0
        for b in sorted(self.counts):
            seen += self.counts[b]
            if seen >= rank:
                lo, hi = bin_range(b)
                return min(max((lo + hi + 1) // 2, self.lo), self.hi)
        return self.hi

    def pow2(self) -> tuple[int, ...]:
        """Keys per power-of-two bucket (index: the values' bit length), trailing zeros cut."""
        out: list[int] = []
        for b, n in self.counts.items():
            i = bin_range(b)[0].bit_length()
            if i >= len(out):
                out.extend([0] * (i + 1 - len(out)))
            out[i] += n
        return tuple(out)

    def distribution(self) -> Distribution | None:
        """The summary a report carries (None: nothing was measured)."""
        if not self.n:
            return None
        return Distribution(
            count=self.n,
            p50=self.quantile(0.5),
            p90=self.quantile(0.9),
            p99=self.quantile(0.99),
            max=self.hi,
            buckets=self.pow2(),
        )


class SizesByType:
    """A bytes sketch and an elements sketch per type (a collector's per-type distributions)."""

    __slots__ = ("bytes", "elements")

    def __init__(self) -> None:
        self.bytes: dict[str, SizeSketch] = {}
        self.elements: dict[str, SizeSketch] = {}

    def add(
        self, types: list[bytes], memory: list[int | None] | None, lengths: list[int | None] | None
    ) -> None:
        """One batch's sizes. Values are sizes (never negative); None (not measured) is left
        out."""
        self.add_groups(group_rows(types), memory, lengths)

    def add_groups(
        self,
        groups: dict[bytes, list[int]],
        memory: list[int | None] | None,
        lengths: list[int | None] | None,
    ) -> None:
        """One batch, its rows grouped by type (group_rows): each column's values of a type
        picked out (itemgetter), binned and counted."""
        for column, sketches in ((memory, self.bytes), (lengths, self.elements)):
            if column is None:
                continue
            for t, idx in groups.items():
                values = known(pick(column, idx))
                if not values:
                    continue
                name = t.decode()
                sketch = sketches.get(name)
                if sketch is None:
                    sketch = sketches[name] = SizeSketch()
                hi = max(values)
                count_bins(sketch.counts, values, hi)
                sketch._extend(len(values), min(values), hi)

    def merge(self, other: SizesByType) -> None:
        for mine, theirs in ((self.bytes, other.bytes), (self.elements, other.elements)):
            for name, sketch in theirs.items():
                mine.setdefault(name, SizeSketch()).merge(sketch)

    def of(self, name: str) -> tuple[Distribution | None, Distribution | None]:
        """(bytes, elements) distributions of one type."""
        b, e = self.bytes.get(name), self.elements.get(name)
        return (b.distribution() if b else None), (e.distribution() if e else None)

    def rows(self) -> tuple[TypeSizeDists, ...]:
        """Every type measured, the most keys first: its keys measured and distributions."""
        names = set(self.bytes) | set(self.elements)

        def measured(name: str) -> int:
            return max(s.n for s in (self.bytes.get(name), self.elements.get(name)) if s)

        ordered = sorted(names, key=lambda n: (-measured(n), n))
        return tuple(TypeSizeDists(n, measured(n), *self.of(n)) for n in ordered)


@dataclass(frozen=True)
class TypeSizeDists:
    """How the keys of one type are sized: p50/p90/p99/max of bytes and of elements."""

    type: str
    keys: int  # keys of this type measured
    bytes_dist: Distribution | None
    elements_dist: Distribution | None


class TypeSizesCollector:
    """Only the per-type distributions (patterns' `sizes`): what BigKeysCollector keeps
    beside its top lists, without them."""

    needs: frozenset[str] = frozenset({"memory", "length"})

    def __init__(self) -> None:
        self.sizes = SizesByType()

    def add(self, batch: Batch) -> None:
        self.sizes.add(batch.types, batch.memory, batch.lengths)

    def merge(self, other: TypeSizesCollector) -> None:
        if other is not self:
            self.sizes.merge(other.sizes)
