"""A closed pipe ends a command quietly (as cat does): `rediscope top | head -1`."""

from __future__ import annotations

import os
import re
import subprocess
import sys

from rediscope.core.localserver import LocalServer
from rediscope.exitcodes import ExitStatus


def test_a_reader_that_closes_the_pipe_ends_top_quietly(plain: LocalServer) -> None:
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "rediscope",
            "top",
            "-p",
            str(plain.port),
            "--count",
            "100",
            "--interval",
            "0.1",
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert proc.stdout is not None and proc.stderr is not None
        assert proc.stdout.readline().startswith("time")  # the header: it is running
        proc.stdout.close()  # as head does after its lines
        err = proc.stderr.read()
        assert proc.wait(timeout=60) == ExitStatus.CLOSED_PIPE, err
        assert err == ""
    finally:
        proc.kill()
        proc.wait()


def test_top_once_at_80_columns_has_no_key_hints_and_no_wrapped_values(plain: LocalServer) -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "rediscope", "top", "-p", str(plain.port), "--once"],
        capture_output=True,
        text=True,
        timeout=60,
        env={**os.environ, "COLUMNS": "80"},
    )
    assert proc.returncode == 0, proc.stderr
    lines = proc.stdout.splitlines()
    assert "s: sort" not in proc.stdout and "q quit" not in proc.stdout  # no keys to press
    assert all(len(line) <= 80 for line in lines)
    for label in ("expired/s", "evicted/s", "clients", "keys"):  # each value beside its label
        line = next(line for line in lines if label in line)
        assert re.search(rf"{label} [\d.,-]", line), line
