"""A closed pipe ends a command quietly (as cat does): `rediscope top | head -1`."""

from __future__ import annotations

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
