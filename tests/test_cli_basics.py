"""Tier 3: version, help, the error boundary's exit codes, demo."""

from __future__ import annotations

import os
import signal
import time

import redis

from rediscope import __version__
from rediscope.exitcodes import ExitStatus
from tests.conftest import invoke, require_binary, run_cli


def test_version_module_and_entry_point() -> None:
    res = run_cli("--version")
    assert res.exit_code == 0 and res.stdout.strip() == f"rediscope {__version__}"


def test_no_arguments_shows_help() -> None:
    res = invoke()
    assert "Usage" in res.stdout + res.stderr


def test_bad_option_is_usage_exit_2() -> None:
    res = run_cli("ping", "--count", "0")
    assert res.exit_code == ExitStatus.USAGE
    res = run_cli("ping", "--format", "yaml")
    assert res.exit_code == ExitStatus.USAGE


def test_unknown_profile_is_usage_exit_2(tmp_path: object) -> None:
    res = run_cli("ping", "--profile", "nope")
    assert res.exit_code == ExitStatus.USAGE
    assert "does not exist" in res.stderr or "no profile named" in res.stderr


def test_demo_small_scale_runs_and_stops_its_server() -> None:
    require_binary("redis-server")
    res = run_cli("demo", "--scale", "0.02")
    assert res.exit_code == 0, res.stderr
    assert "loaded" in res.stderr and "keys" in res.stderr
    pid = int(res.stderr.split("(pid ", 1)[1].split(")", 1)[0])
    time.sleep(0.2)
    try:
        os.kill(pid, 0)
        alive = True
    except ProcessLookupError:
        alive = False
    assert not alive, "demo left its redis-server running"


def test_demo_serve_leaves_a_server_to_use() -> None:
    require_binary("redis-server")
    res = run_cli("demo", "--scale", "0.02", "--serve")
    assert res.exit_code == 0, res.stderr
    url = next(
        line.split("=", 1)[1]
        for line in res.stdout.splitlines()
        if line.startswith("export REDISCOPE_URL=")
    )
    pid = int(res.stderr.split("kill ", 1)[1].split()[0])
    try:
        client = redis.Redis.from_url(url)
        assert client.dbsize() > 4000
        client.close()
        res = run_cli("ping", "--format", "json", env={"REDISCOPE_URL": url})
        assert res.exit_code == 0 and res.json()["target"]["url"] == url
    finally:
        os.kill(pid, signal.SIGTERM)
