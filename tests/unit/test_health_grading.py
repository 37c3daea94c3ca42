"""Health's grading from values and thresholds, and the roll-up to one status. No server."""

from __future__ import annotations

import pytest

from rediscope.core.health.model import CRITICAL, OK, RANK, UNKNOWN, WARNING, level, worst


@pytest.mark.parametrize(
    ("value", "warn", "crit", "status"),
    [
        (50, 80, 95, OK),
        (80, 80, 95, OK),  # at the threshold is not over it
        (80.01, 80, 95, WARNING),
        (95, 80, 95, WARNING),
        (96, 80, 95, CRITICAL),
        (96, None, 95, CRITICAL),
        (96, 80, None, WARNING),
        (10**9, None, None, OK),  # a check without thresholds only reports
        (None, 80, 95, UNKNOWN),  # not measured: cannot tell
        (0, 0, None, OK),
        (0.001, 0, None, WARNING),  # --warn x=0: anything at all warns
    ],
)
def test_a_value_over_a_threshold_takes_its_level(
    value: float | None, warn: float | None, crit: float | None, status: str
) -> None:
    assert level(value, warn, crit) == status


def test_the_worst_status_wins_and_unknown_ranks_between_ok_and_warning() -> None:
    assert worst([]) == OK
    assert worst([OK, OK]) == OK
    assert worst([OK, UNKNOWN]) == UNKNOWN
    assert worst([UNKNOWN, WARNING, OK]) == WARNING
    assert worst([WARNING, CRITICAL, UNKNOWN]) == CRITICAL
    assert sorted(RANK, key=RANK.__getitem__) == [OK, UNKNOWN, WARNING, CRITICAL]
