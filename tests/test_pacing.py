"""A paced scan (--rate, --gentle) gives way to the application: each request stays small even
when the rate asked is out of reach, the process takes the lowest CPU priority, and a rate it
could not keep is said, not hidden."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

from rediscope.core.connection import ConnectionSpec
from rediscope.core.localserver import LocalServer
from rediscope.core.resp import RawConnection
from rediscope.core.scan.pace import BUDGET_US, MIN_PER_KEY_US, Pacer
from tests.conftest import invoke, scan_started, wait_until
from tests.test_scan_types import comparable, mixed, paced_scan, report


def test_a_rate_out_of_reach_keeps_each_request_small(plain: LocalServer) -> None:
    """--rate far above what any client reaches: requests do not grow to keep up, each stays
    within BUDGET_US of the server's time (before, they grew to the whole 1000-key SCAN
    batch)."""
    c = plain.client()
    mixed(c, 600)
    flat = report(plain.port, "bigkeys")
    paced, counts = paced_scan(plain, c, "--rate", "10000000")
    assert len(counts) > 20
    assert max(counts) <= BUDGET_US / MIN_PER_KEY_US
    assert comparable(paced) == comparable(flat)
    c.close()


def _paced(port: int, nice: str | None) -> subprocess.Popen[str]:
    env = {k: v for k, v in os.environ.items() if k != "REDISCOPE_NICE"}
    if nice is not None:
        env["REDISCOPE_NICE"] = nice
    argv = ["bigkeys", "-p", str(port), "--format", "json", "--rate", "100", "--scan-count", "10"]
    return subprocess.Popen(
        [sys.executable, "-m", "rediscope", *argv],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )


def test_a_paced_scan_takes_the_lowest_cpu_priority(plain: LocalServer) -> None:
    """By default a paced scan runs at nice 19; REDISCOPE_NICE=0 leaves its priority as it was
    started. Either way Ctrl-C ends it with its partial report."""
    c = plain.client()
    mixed(c, 300)
    mine = os.getpriority(os.PRIO_PROCESS, 0)
    for nice, expected in ((None, 19), ("0", mine)):
        c.config_resetstat()
        proc = _paced(plain.port, nice)
        try:
            wait_until("the paced scan to start", lambda: scan_started(plain, 3))
            assert os.getpriority(os.PRIO_PROCESS, proc.pid) == expected
        finally:
            proc.send_signal(signal.SIGINT)
            out, err = proc.communicate(timeout=60)
        assert proc.returncode == 130, err
        assert '"interrupted": true' in out
    c.close()


def test_an_invalid_nice_is_a_usage_error(plain: LocalServer) -> None:
    res = invoke("bigkeys", "-p", str(plain.port), "--rate", "100", env={"REDISCOPE_NICE": "low"})
    assert res.exit_code == 2
    assert "REDISCOPE_NICE must be a whole number from 0 to 19" in res.stderr
    assert "Traceback" not in res.stderr


def test_a_rate_not_kept_is_reported() -> None:
    pacer = Pacer(rate=1000, gentle=False, max_count=1000)
    pacer.keys = 5000
    later = time.monotonic() + 10  # 5000 keys in 10 s: 500 keys/s of the 1000 asked
    short = pacer.shortfall(now=later)
    assert short is not None and short[0] == 1000 and 450 < short[1] <= 500
    pacer.keys = 9500  # 950 keys/s: kept
    assert pacer.shortfall(now=later) is None
    assert Pacer(rate=None, gentle=True, max_count=1000).shortfall(now=later) is None


def test_gentle_without_info_keeps_its_careful_rate(plain: LocalServer) -> None:
    """A user the server refuses INFO: --gentle has no figures of the server's, so it keeps its
    starting rate (1000 keys/s) rather than reading the refusal as a server with time to spare
    (before, the empty figures gave the least cost per key and a 100,000 keys/s rate)."""
    admin = plain.client()
    admin.execute_command("ACL", "SETUSER", "noinfo", "on", ">N0-Info-Passw0rd", "~*", "+@all", "-info")  # fmt: skip
    conn = RawConnection(ConnectionSpec(port=plain.port, username="noinfo", password="N0-Info-Passw0rd"))  # fmt: skip
    try:
        pacer = Pacer(rate=None, gentle=True, max_count=1000)
        pacer.start(conn)
        pacer._read_load(conn, done=5000)  # a second read, 5000 keys later
        assert pacer.server_us_per_key is None
        assert pacer.current_rate() == 1000.0
    finally:
        conn.close()
        admin.execute_command("ACL", "DELUSER", "noinfo")
        admin.close()
