"""The pacer's arithmetic, from hand-made replies and clocks: the server's TIME sizes the next
request, and a rate not kept is reported. No server."""

from __future__ import annotations

import time

import hiredis

from rediscope.core.scan.pace import BUDGET_US, Pacer


def _timed(at_us: int) -> list[bytes]:
    return [str(at_us // 1_000_000).encode(), str(at_us % 1_000_000).encode()]


def test_the_server_clock_sizes_the_next_request() -> None:
    """A timed request's cost is the difference of its two TIME replies, per key it carried;
    the next request carries what fits BUDGET_US at the median of the recent ones; the TIME
    replies are not handed on as the scan's replies."""
    pacer = Pacer(rate=50_000, gentle=False, max_count=1000)
    pacer.active = pacer.timed = True
    t = 1_700_000_000_999_990  # the microseconds wrap into the next second inside a request
    for cost in (40, 60, 60):  # 10 keys each: 4, 6 and 6 us per key
        replies = pacer.answered(10, [_timed(t), b"7", [b"k"], 12, _timed(t + cost)])
        assert replies == [b"7", [b"k"], 12]
        t += 1000
    assert pacer.per_key_us == 6.0
    assert pacer.count() == int(BUDGET_US / 6.0)
    assert pacer.keys == 30
    refused = pacer.answered(
        10, [hiredis.ReplyError("NOPERM"), b"0", [], hiredis.ReplyError("NOPERM")]
    )
    assert refused == [b"0", []]  # TIME refused mid-scan: no measure, the size stays
    assert pacer.count() == int(BUDGET_US / 6.0) and pacer.keys == 40


def test_a_rate_not_kept_is_reported() -> None:
    pacer = Pacer(rate=1000, gentle=False, max_count=1000)
    pacer.keys = 5000
    later = time.monotonic() + 10  # 5000 keys in 10 s: 500 keys/s of the 1000 asked
    short = pacer.shortfall(now=later)
    assert short is not None and short[0] == 1000 and 450 < short[1] <= 500
    pacer.keys = 9500  # 950 keys/s: kept
    assert pacer.shortfall(now=later) is None
    assert Pacer(rate=None, gentle=True, max_count=1000).shortfall(now=later) is None
