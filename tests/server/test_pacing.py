"""A paced scan (--rate, --gentle) gives way to the application: each request stays small even
when the rate asked is out of reach, the process takes the lowest CPU priority, and a rate it
could not keep is said, not hidden."""

from __future__ import annotations

import os
import signal
import subprocess
import sys

import pytest

from rediscope.core.connection import ConnectionSpec
from rediscope.core.localserver import LocalServer
from rediscope.core.resp import RawConnection
from rediscope.core.scan.pace import BUDGET_US, MIN_PER_KEY_US, Pacer
from tests.helpers import invoke, scan_started, wait_until
from tests.helpers.scans import comparable, every_command_logged, mixed, paced_scan, report

#: client-side behaviour: the matrix runs it on the distribution's server only (.ci/matrix)
pytestmark = pytest.mark.once


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


def test_a_paced_scan_without_time_keeps_its_report(plain: LocalServer) -> None:
    """An ACL user without TIME: the paced scan sizes its requests from round trips instead,
    each request still small, and reports what an unpaced scan reports."""
    c = plain.client()
    mixed(c, 300)
    flat = report(plain.port, "bigkeys")
    c.execute_command("ACL", "SETUSER", "notime", "on", ">N0-Time-Passw0rd", "~*", "+@all", "-time")  # fmt: skip
    try:
        c.execute_command("ACL", "LOG", "RESET")
        env = {"REDISCLI_AUTH": "N0-Time-Passw0rd"}
        url = f"redis://notime@127.0.0.1:{plain.port}/0"
        with every_command_logged(c):
            res = invoke("bigkeys", "--url", url, "--format", "json", "--rate", "5000", env=env)
            log = [e["command"].split()[0].upper() for e in c.slowlog_get(100_000)]
        assert res.exit_code == 0, res.stderr
        assert log.count(b"SCAN") > 10  # small requests
        assert b"TIME" not in log
        denied = [e for e in c.acl_log() if e["username"] == "notime"]
        assert [e["object"] for e in denied] == ["time"]  # asked once, refused
        paced = {k: v for k, v in comparable(res.json()).items() if k != "target"}  # the user
        assert paced == {k: v for k, v in comparable(flat).items() if k != "target"}
    finally:
        c.execute_command("ACL", "DELUSER", "notime")
        c.close()


def test_paced_requests_are_timed_by_the_server(plain: LocalServer) -> None:
    """Each paced request starts and ends with TIME, with one SCAN step inside: the server's own
    clock says what it cost."""
    c = plain.client()
    mixed(c, 300)
    with every_command_logged(c):
        assert report(plain.port, "bigkeys", "--rate", "5000")["complete"]
        log = list(reversed(c.slowlog_get(100_000)))  # oldest first
    c.close()
    scanner = {e["client_address"] for e in log if e["command"].upper() == b"TIME"}
    assert len(scanner) == 1  # the walk's connection (one db)
    names = [e["command"].split()[0].upper() for e in log if e["client_address"] in scanner]
    first = names.index(b"TIME") + 1  # after the probe's commands and the pacer's lone TIME
    requests, current = [], []
    for name in names[first:]:
        current.append(name)
        if name == b"TIME" and len(current) > 1:
            requests.append(current)
            current = []
    assert len(requests) > 10 and not current
    assert all(r[0] == b"TIME" and r.count(b"TIME") == 2 for r in requests)
    assert all(r.count(b"SCAN") <= 1 for r in requests)
    assert sum(r.count(b"SCAN") for r in requests) == names[first:].count(b"SCAN")


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
