"""Tier 3: replication-stream reads that end (issue 31, items 14-15): keepalive newlines are
not progress (--timeout without RDB bytes), --max-time bounds the whole transfer, and a SYNC
the server refuses (an ACL user without +sync, a server still loading) is named."""

from __future__ import annotations

import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from rediscope.core.localserver import LocalServer
from rediscope.errors import RediscopeError
from tests.conftest import _start, run_cli, setuser, wait_until


def filled(server: LocalServer, keys: int) -> LocalServer:
    c = server.client()
    for start in range(0, keys, 5000):
        c.mset({f"k:{i}": "v" * 20 for i in range(start, min(keys, start + 5000))})
    c.close()
    return server


@pytest.fixture
def slow_disk_save(tmp_path: Path) -> Iterator[LocalServer]:
    """A server that saves to disk before it sends (repl-diskless-sync no), 0.1 s per key: a
    SYNC gets only keepalive newlines for minutes."""
    (tmp_path / "srv").mkdir()
    config = {"repl-diskless-sync": "no", "rdb-key-save-delay": "100000"}
    server = _start(LocalServer(dir=tmp_path / "srv", config=config))
    yield filled(server, 2000)
    server.cleanup()


@pytest.fixture
def slow_stream(tmp_path: Path) -> Iterator[LocalServer]:
    """A diskless server whose RDB comes out at 1 ms per key: a 20 s transfer."""
    (tmp_path / "srv").mkdir()
    config = {"repl-diskless-sync": "yes", "rdb-key-save-delay": "1000"}
    server = _start(LocalServer(dir=tmp_path / "srv", config=config))
    yield filled(server, 20_000)
    server.cleanup()


def one_line(stderr: str) -> None:
    assert "Traceback" not in stderr and "internal error" not in stderr, stderr
    assert stderr.count("error:") == 1, stderr


def test_keepalives_alone_give_up_after_the_timeout(
    slow_disk_save: LocalServer, tmp_path: Path
) -> None:
    dest = tmp_path / "backups"
    dest.mkdir()
    port = str(slow_disk_save.port)
    r = run_cli("backup", "run", str(dest), "-p", port, "--timeout", "1", timeout=60)
    assert r.exit_code == 1, r.stderr
    one_line(r.stderr)
    assert "no RDB data for 1s (--timeout), only keepalive newlines" in r.stderr
    assert {p.name for p in dest.iterdir()} <= {".rediscope.lock"}  # nothing half-written
    r = run_cli("memory", "--sync", "-p", port, "--timeout", "1", timeout=60)
    assert r.exit_code == 1 and "only keepalive newlines" in r.stderr, r.stderr
    one_line(r.stderr)


def test_max_time_bounds_the_whole_transfer(slow_stream: LocalServer, tmp_path: Path) -> None:
    port = str(slow_stream.port)
    args = ["--timeout", "30", "--max-time", "2"]
    r = run_cli("backup", "run", str(tmp_path), "-p", port, *args, timeout=60)
    assert r.exit_code == 1, r.stderr
    one_line(r.stderr)
    assert "gave up after --max-time 2s" in r.stderr
    r = run_cli("memory", "--sync", "-p", port, *args, timeout=60)
    assert r.exit_code == 1 and "gave up after --max-time 2s" in r.stderr, r.stderr
    r = run_cli("memory", "-p", port, "--max-time", "2")
    assert r.exit_code == 2 and "--sync" in r.stderr


def test_a_user_without_sync_is_told_so_and_what_to_do(tmp_path: Path) -> None:
    with LocalServer(dir=tmp_path) as server:
        filled(server, 100)
        admin = server.client()
        setuser(admin, "nosync", "on >pw ~* &* +@all -sync -psync")
        admin.close()
        url = f"redis://nosync:pw@127.0.0.1:{server.port}"
        r = run_cli("memory", "--sync", "--url", url)
    assert r.exit_code != 0
    one_line(r.stderr)
    assert "denied SYNC" in r.stderr and "NOPERM" in r.stderr and "truncated" not in r.stderr
    assert "without --sync" in r.stderr and "--method bgsave" not in r.stderr


def test_a_server_still_loading_is_named(tmp_path: Path) -> None:
    config = {"key-load-delay": "2000", "loading-process-events-interval-bytes": "1024"}
    try:  # answering while loading a small file needs the interval setting (7.0+)
        server = _start(LocalServer(dir=tmp_path, config=config))
    except RediscopeError as exc:
        if "loading-process-events-interval-bytes" not in str(exc):
            raise
        pytest.skip("this server has no loading-process-events-interval-bytes (7.0+)")
    try:
        filled(server, 20_000)
        server.client().save()
        binary = server.process.args[0]  # type: ignore[union-attr]
        server.stop()
        server.process = subprocess.Popen(  # started again: 40 s of loading the file
            [binary, str(tmp_path / "redis.conf")],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            start_new_session=True,
        )
        wait_until(
            "the server to load its file",
            lambda: server.client(socket_timeout=1).info("persistence")["loading"] == 1,
        )
        r = run_cli("memory", "--sync", "-p", str(server.port), "--timeout", "2")
    finally:
        server.cleanup()
    assert r.exit_code != 0
    one_line(r.stderr)
    assert "loading" in r.stderr.lower() and "truncated" not in r.stderr
