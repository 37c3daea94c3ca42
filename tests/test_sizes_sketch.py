"""Tier 1: the size sketch's percentiles against exact ones (nearest rank) on synthetic data."""

from __future__ import annotations

import random

import pytest

from rediscope.core.collectors.sketch import SizeSketch, bin_of, bin_range

QS = (0.5, 0.9, 0.99, 1.0)


def exact(ordered: list[int], q: float) -> int:
    """Nearest rank: the value at 1-based rank ceil(q * n) of the values in order."""
    rank = max(1, -(-round(q * 10_000) * len(ordered) // 10_000))
    return ordered[rank - 1]


def within(got: int, want: int, rel: float = 0.01) -> bool:
    return abs(got - want) <= rel * want


DATA = {
    "lognormal bytes": lambda r: int(r.lognormvariate(7, 2.5)),
    "uniform small": lambda r: r.randrange(0, 300),
    "pareto heavy tail": lambda r: int(50 * r.paretovariate(1.1)),
    "bimodal": lambda r: r.choice((r.randrange(40, 90), r.randrange(1 << 20, 1 << 24))),
    "huge values": lambda r: r.randrange(1 << 40, 1 << 50),
}


@pytest.mark.parametrize("name", sorted(DATA))
def test_percentiles_within_one_percent_of_exact(name: str) -> None:
    r = random.Random(name)
    values = [DATA[name](r) for _ in range(100_000)]
    sketch = SizeSketch()
    for i in range(0, len(values), 1000):  # in batches, as a scan delivers them
        sketch.add_many(values[i : i + 1000])
    ordered = sorted(values)
    for q in QS:
        assert within(sketch.quantile(q), exact(ordered, q)), (name, q)
    dist = sketch.distribution()
    assert dist is not None and dist.max == max(values) and dist.count == len(values)


def test_merged_sketches_equal_one_sketch_of_everything() -> None:
    r = random.Random(7)
    parts = [[int(r.lognormvariate(5, 2)) for _ in range(5000)] for _ in range(4)]
    whole, merged = SizeSketch(), SizeSketch()
    for part in parts:
        whole.add_many(part)
        node = SizeSketch()
        node.add_many(part)
        merged.merge(node)
    assert merged.distribution() == whole.distribution()


def test_power_of_two_buckets_are_exact_and_none_is_left_out() -> None:
    values = [0, 0, 1, 2, 3, 4, 255, 256, 257, 511, 512, 1 << 30, (1 << 30) - 1, None]
    sketch = SizeSketch()
    sketch.add_many(values)
    want: dict[int, int] = {}
    for v in values:
        if v is not None:
            want[v.bit_length()] = want.get(v.bit_length(), 0) + 1
    got = sketch.pow2()
    assert {i: n for i, n in enumerate(got) if n} == want
    assert sketch.n == len(values) - 1


def test_bins_hold_their_values_and_never_straddle_a_power_of_two() -> None:
    r = random.Random(3)
    for v in [*range(5000), *(r.randrange(1 << 60) for _ in range(20_000))]:
        lo, hi = bin_range(bin_of(v))
        assert lo <= v <= hi and lo.bit_length() == hi.bit_length()
        assert hi - lo <= max(lo, 1) / 128


def test_state_is_bounded_by_the_range_not_the_count() -> None:
    sketch = SizeSketch()
    r = random.Random(1)
    for _ in range(50):
        sketch.add_many([r.randrange(1, 1 << 20) for _ in range(10_000)])
    assert len(sketch.counts) <= 256 + 128 * 13  # exact below 256, 128 bins per octave above


def test_per_type_sketches_of_batches_equal_one_sketch_per_type() -> None:
    from rediscope.core.collectors.sketch import SizesByType

    r = random.Random(5)
    kinds = [b"string", b"hash", b"list"]
    sizes = SizesByType()
    whole: dict[str, list[int]] = {}
    lengths: dict[str, list[int]] = {}
    for _ in range(30):
        types = [r.choice(kinds) for _ in range(500)]
        memory = [None if r.random() < 0.05 else int(r.lognormvariate(6, 2)) for _ in types]
        elements = [r.randrange(0, 5000) for _ in types]
        sizes.add(types, memory, elements)
        for t, m, e in zip(types, memory, elements, strict=True):
            if m is not None:
                whole.setdefault(t.decode(), []).append(m)
            lengths.setdefault(t.decode(), []).append(e)
    for name, values in whole.items():
        one = SizeSketch()
        one.add_many(values)
        assert sizes.of(name)[0] == one.distribution()
        ref = SizeSketch()
        ref.add_many(lengths[name])
        assert sizes.of(name)[1] == ref.distribution()
