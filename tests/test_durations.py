"""Every option that takes a time accepts a number of seconds or a duration (`1s`, `500ms`)."""

from __future__ import annotations

from rediscope.core.localserver import LocalServer
from tests.conftest import invoke


def test_top_interval_and_timeout_take_durations(plain: LocalServer) -> None:
    port = str(plain.port)
    for interval in ("0.2", "200ms", "1s"):
        r = invoke("top", "-p", port, "--count", "1", "--interval", interval, "--timeout", "2s")
        assert r.exit_code == 0, (interval, r.stderr)
    bad = invoke("top", "-p", port, "--once", "--interval", "1x")
    assert bad.exit_code == 2 and "not a duration" in bad.stderr
    short = invoke("top", "-p", port, "--once", "--interval", "10ms")
    assert short.exit_code == 2 and "between 0.1s and 3600s" in short.stderr
