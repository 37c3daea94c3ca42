"""Tier 3: `rediscope top` against real servers: exact counts of a load of known hits and
misses, a cluster's rows and totals, the live screen in a pseudo-terminal (keys, resize,
leaving the screen as it was), and a server that dies while it watches."""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import pty
import re
import select
import signal
import struct
import subprocess
import sys
import termios
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from rediscope.core.localserver import LocalServer
from tests.helpers import (
    load_json,
    run_cli,
    start_server,
    stopped_at_exit,
    three_primaries,
    wait_until,
)

LEAVE_SCREEN = b"\x1b[?1049l"  # the alternate screen's end: the terminal as it was


@pytest.fixture
def watched(tmp_path: Path) -> Iterator[LocalServer]:
    server = start_server(LocalServer(dir=tmp_path))
    try:
        yield server
    finally:
        server.cleanup()


def _top(*args: str, stdout: int = subprocess.PIPE) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "rediscope", "top", *args],
        stdout=stdout,
        stderr=subprocess.PIPE,
        text=True,
    )


def _sleeping_after_first_sample(server: LocalServer) -> bool:
    """top's connection has sent its first sample's last command (COMMAND INFO)."""
    c = server.client()
    try:
        return any(
            x.get("name") == "rediscope" and str(x.get("cmd", "")).startswith("command")
            for x in c.client_list()
        )
    finally:
        c.close()


def test_a_load_of_known_hits_and_misses_is_counted_exactly(watched: LocalServer) -> None:
    c = watched.client()
    c.mset({f"k{i}": i for i in range(100)})
    proc = _top("-p", str(watched.port), "--once", "--interval", "3", "--format", "json")
    wait_until("top's first sample", lambda: _sleeping_after_first_sample(watched))
    pipe = c.pipeline(transaction=False)
    for i in range(1000):
        pipe.get(f"k{i % 100}")  # hits
    for i in range(500):
        pipe.get(f"missing{i}")  # misses
    pipe.execute()
    out, err = proc.communicate(timeout=60)
    assert proc.returncode == 0, err
    doc = load_json(out)
    (node,) = doc["nodes"]
    assert node["hits"] == 1000 and node["misses"] == 500
    assert doc["totals"]["hit_ratio"] == pytest.approx(1000 / 1500)
    top = doc["commands"][0]
    assert top["name"] == "get" and top["calls"] == 1500 and top["kind"] == "read"
    assert node["ops"] >= 1500 and node["ops_per_s"] == pytest.approx(
        node["ops"] / node["interval_s"]
    )
    assert node["reads_per_s"] >= top["calls_per_s"]


def test_every_node_of_a_cluster_has_its_row_and_the_totals_are_their_sums(
    cluster: list[LocalServer],
) -> None:
    r = run_cli(
        "top", "-p", str(cluster[0].port), "--once", "--interval", "0.5", "--format", "json"
    )
    assert r.exit_code == 0, r.stderr
    doc = load_json(r.stdout)
    nodes = doc["nodes"]
    assert {n["address"] for n in nodes} == {f"127.0.0.1:{s.port}" for s in cluster}
    t = doc["totals"]
    assert t["ops"] == sum(n["ops"] for n in nodes)
    assert t["used_memory"] == sum(n["used_memory"] for n in nodes)
    assert t["keys"] == sum(d["keys"] for n in nodes for d in n["keys"].values())
    assert doc["cluster_state"] == "ok"


def test_piped_lines_arrive_one_by_one_and_each_parses(watched: LocalServer) -> None:
    proc = _top("-p", str(watched.port), "--interval", "0.2", "--format", "json")
    assert proc.stdout is not None
    seqs = []
    for _ in range(3):  # each line is read as it is written: no block buffering
        line = proc.stdout.readline()
        seqs.append(load_json(line)["seq"])
    proc.send_signal(signal.SIGINT)
    proc.communicate(timeout=30)
    assert seqs == [1, 2, 3] and proc.returncode == 0
    r = run_cli("top", "-p", str(watched.port), "--count", "2", "--interval", "0.2")
    lines = r.stdout.splitlines()
    assert r.exit_code == 0 and len(lines) == 3 and lines[0].startswith("time")


def test_a_killed_server_ends_a_piped_top_with_exit_3(tmp_path: Path) -> None:
    server = start_server(LocalServer(dir=tmp_path))
    try:
        proc = _top(
            "-p", str(server.port), "--interval", "0.2", "--timeout", "1", "--format", "json"
        )
        with stopped_at_exit(proc):
            assert proc.stdout is not None
            json.loads(proc.stdout.readline())
            server.cleanup()
            out, err = proc.communicate(timeout=60)
    finally:
        server.cleanup()
    assert proc.returncode == 3, err
    assert "Traceback" not in err and "answered" in err
    for line in out.splitlines():
        json.loads(line)


def _winsize(fd: int, rows: int, cols: int) -> None:
    fcntl.ioctl(fd, termios.TIOCSWINSZ, struct.pack("HHHH", rows, cols, 0, 0))


class Screen:
    """rediscope top in a pseudo-terminal of ROWS x COLS."""

    def __init__(self, port: int, rows: int, cols: int) -> None:
        self.master, slave = pty.openpty()
        _winsize(slave, rows, cols)
        env = {k: v for k, v in os.environ.items() if k not in ("COLUMNS", "LINES")}
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "rediscope", "top", "-p", str(port), "--interval", "0.3"],
            stdin=slave,
            stdout=slave,
            stderr=slave,
            env={**env, "TERM": "xterm-256color"},
            start_new_session=True,
        )
        os.close(slave)
        self.seen = b""

    def wait_for(self, text: bytes, timeout: float = 30.0) -> None:
        start = len(self.seen)

        def more() -> bool:
            ready, _, _ = select.select([self.master], [], [], 0.1)
            if ready:
                with contextlib.suppress(OSError):
                    self.seen += os.read(self.master, 65536)
            return text in self.seen[start:]

        wait_until(f"{text!r} on the screen", more, timeout)

    def press(self, key: bytes) -> None:
        os.write(self.master, key)

    def finish(self) -> int:
        code = self.proc.wait(timeout=30)
        try:
            while select.select([self.master], [], [], 0.1)[0]:
                self.seen += os.read(self.master, 65536)
        except OSError:
            pass
        os.close(self.master)
        return code


@pytest.mark.parametrize("rows,cols", [(24, 80), (50, 200)])
def test_the_live_screen_answers_keys_and_gives_the_terminal_back(
    watched: LocalServer, rows: int, cols: int
) -> None:
    screen = Screen(watched.port, rows, cols)
    screen.wait_for(b"commands (by calls")
    screen.press(b"s")
    screen.wait_for(b"commands (by cpu")
    screen.press(b"p")
    screen.wait_for(b"PAUSED")
    screen.press(b"q")
    assert screen.finish() == 0
    assert screen.seen.rstrip().endswith(LEAVE_SCREEN) or LEAVE_SCREEN in screen.seen
    frames = screen.seen.decode().replace("\x1b[H", "\n")  # each redraw starts at home
    visible = re.sub(r"\x1b\[[0-9;?]*[A-Za-z]|\x1b[()][A-Z0-9]", "", frames)
    lines = re.split(r"[\r\n]", visible)
    assert max(len(line) for line in lines) <= cols  # drawn for the terminal's own width


def test_ctrl_c_and_a_dead_server_on_the_live_screen(tmp_path: Path) -> None:
    server = start_server(LocalServer(dir=tmp_path))
    try:
        screen = Screen(server.port, 24, 80)
        with stopped_at_exit(screen.proc):
            screen.wait_for(b"commands (by calls")
            server.stop()
            screen.wait_for(b"DOWN")
            server.start()  # the same port: top connects again by itself
            screen.wait_for(b"primary  up")  # the header names the role only of a node that answers
            os.killpg(screen.proc.pid, signal.SIGINT)
            assert screen.finish() == 0 and LEAVE_SCREEN in screen.seen
    finally:
        server.cleanup()


@pytest.fixture
def cluster_to_pause() -> Iterator[list[LocalServer]]:
    yield from three_primaries()


def _stopped(pid: int) -> bool:
    """The kernel has stopped PID (SIGSTOP taken: state T)."""
    return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] == "T"


class Lines:
    """A piped `top --format json`'s documents, each read as it comes, waited for as events."""

    def __init__(self, proc: subprocess.Popen[str]) -> None:
        assert proc.stdout is not None
        self.out, self.docs = proc.stdout, []

    def until(self, what: str, check: Any) -> dict[str, Any]:
        def arrived() -> bool:
            while select.select([self.out], [], [], 0.1)[0]:
                line = self.out.readline()
                if not line:
                    raise AssertionError("top ended")
                self.docs.append(load_json(line))
                if check(self.docs[-1]):
                    return True
            return False

        wait_until(what, arrived, timeout=60)
        return self.docs[-1]


def _node(doc: dict[str, Any], address: str) -> dict[str, Any]:
    return next(n for n in doc["nodes"] if n["address"] == address)


def test_a_paused_cluster_node_is_unknown_never_zero_and_the_totals_say_partial(
    cluster_to_pause: list[LocalServer],
) -> None:
    first, paused = cluster_to_pause[0], cluster_to_pause[2]
    address = f"127.0.0.1:{paused.port}"
    args = ("-p", str(first.port), "--interval", "0.3", "--timeout", "1")
    proc = _top(*args, "--format", "json")
    try:
        with stopped_at_exit(proc):
            lines = Lines(proc)
            lines.until("every node read", lambda d: not d["totals"]["partial"])
            os.kill(paused.pid, signal.SIGSTOP)
            wait_until("the node stopped", lambda: _stopped(paused.pid))
            doc = lines.until("the paused node down", lambda d: not _node(d, address)["up"])
            node, t = _node(doc, address), doc["totals"]
            assert node["used_memory"] is None and node["ops"] is None and node["keys"] is None
            assert t["partial"] is True and t["missing"] == [address]
            assert t["used_memory"] == sum(n["used_memory"] or 0 for n in doc["nodes"])
            assert doc["complete"] is False

            screen = run_cli("top", *args, "--once", env={"COLUMNS": "80"})
            assert screen.exit_code == 0, screen.stderr
            assert "unknown" in screen.stdout and "total of 2/3" in screen.stdout
            assert "totals are of 2 of 3 nodes" in screen.stdout
            assert "q quit" not in screen.stdout and "n: hide" not in screen.stdout
            assert max(len(line) for line in screen.stdout.splitlines()) <= 80

            os.kill(paused.pid, signal.SIGCONT)
            doc = lines.until("the node back", lambda d: _node(d, address)["up"])
            node = _node(doc, address)  # one sample: its gauges, no rates yet
            assert node["used_memory"] > 0 and node["ops"] is None
            assert doc["totals"]["partial"] is True
            doc = lines.until("its rates", lambda d: _node(d, address)["ops"] is not None)
            assert doc["totals"]["partial"] is False and doc["totals"]["missing"] == []
            assert doc["totals"]["used_memory"] == sum(n["used_memory"] for n in doc["nodes"])
    finally:
        os.kill(paused.pid, signal.SIGCONT)
