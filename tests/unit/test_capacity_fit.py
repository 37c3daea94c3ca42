"""Capacity's fit and series, from hand-made samples: the least-squares slope and its r2, and a
series cut where the server restarted or was flushed. No server."""

from __future__ import annotations

import pytest

from rediscope.core.capacity.fit import least_squares, segments
from rediscope.core.capacity.history import Sample


def test_least_squares_recovers_slope_and_r2() -> None:
    fit = least_squares([(1_700_000_000 + t, 1000 + 5 * t) for t in range(0, 100, 10)])
    assert fit is not None and abs(fit.slope_per_s - 5) < 1e-9 and fit.r2 == pytest.approx(1)
    assert fit.at(1_700_000_200) == pytest.approx(2000)
    noisy = least_squares([(t, 10 * t + (7 if t % 2 else -7)) for t in range(50)])
    assert noisy is not None and 9.9 < noisy.slope_per_s < 10.1 and noisy.r2 < 1
    assert least_squares([(1, 1)]) is None and least_squares([(1, 1), (1, 2)]) is None


def _s(ts: float, run_id: str, keys: int, dataset: int = 0) -> Sample:
    return Sample(
        ts=ts,
        target="t",
        node="n",
        role="primary",
        run_id=run_id,
        values={"used_memory": keys, "used_memory_dataset": dataset},
        keys={"db0": {"keys": keys, "expires": 0}},
    )


def test_segments_cut_at_restart_and_flush() -> None:
    series = [
        _s(1, "a", 1000),
        _s(2, "a", 1100),
        _s(3, "b", 1200),
        _s(4, "b", 1300),
        _s(5, "b", 10),
        _s(6, "b", 20),
    ]
    cuts = segments(series)
    assert [len(c) for c in cuts] == [2, 2, 2]
