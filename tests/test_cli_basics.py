"""Tier 3: version, help, the error boundary's exit codes, demo."""

from __future__ import annotations

import os
import re
from pathlib import Path

import redis

from rediscope import __version__
from rediscope.exitcodes import ExitStatus
from tests.conftest import assert_valid_json_output, invoke, require_binary, run_cli


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


def _running(pid: int) -> bool:
    """The process exists and is not a zombie (an orphan waits for an init that may not reap)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat.rsplit(")", 1)[1].split()[0] != "Z"


def test_demo_small_scale_runs_and_stops_its_server() -> None:
    require_binary("redis-server")
    res = run_cli("demo", "--scale", "0.02")
    assert res.exit_code == 0, res.stderr
    assert "loaded" in res.stderr and "keys" in res.stderr
    pid = int(res.stderr.split("(pid ", 1)[1].split(")", 1)[0])
    # the demo waited for its server to exit before it did
    assert not _running(pid), "demo left its redis-server running"


def test_demo_json_is_one_document_holding_every_step() -> None:
    require_binary("redis-server")
    res = run_cli("demo", "--scale", "0.02", "--format", "json")
    assert res.exit_code == 0, res.stderr
    doc = assert_valid_json_output(res, "demo")  # one document, each step valid as its own
    steps = [s["step"].split()[0] for s in doc["steps"]]
    assert steps == ["ping", "health", "memory", "bigkeys", "patterns", "clients", "capacity"]
    assert doc["keys_loaded"] > 4000
    # --help's "about N keys" at scale 1 is what the loader makes (it scales linearly)
    said = re.search(
        r"1\.0 = about (\d+)k keys", " ".join(run_cli("demo", "--help").stdout.split())
    )
    assert said is not None
    assert (
        abs(int(said.group(1)) * 1000 - doc["keys_loaded"] / 0.02)
        < 0.05 * int(said.group(1)) * 1000
    )
    assert doc["steps"][3]["report"]["scan"]["keys_scanned"] == doc["keys_loaded"]


def test_demo_serve_leaves_a_server_that_demo_stop_removes() -> None:
    require_binary("redis-server")
    res = run_cli("demo", "--scale", "0.02", "--serve")
    assert res.exit_code == 0, res.stderr
    url = next(
        line.split("=", 1)[1]
        for line in res.stdout.splitlines()
        if line.startswith("export REDISCOPE_URL=")
    )
    pid = int(res.stderr.split("left running (pid ", 1)[1].split(",")[0])
    data = res.stderr.split("data in ", 1)[1].split(")")[0]
    assert "rediscope demo --stop" in res.stderr
    try:
        client = redis.Redis.from_url(url)
        assert client.dbsize() > 4000
        client.close()
        res = run_cli("ping", "--format", "json", env={"REDISCOPE_URL": url})
        assert res.exit_code == 0 and res.json()["target"]["url"] == url
    finally:
        stopped = run_cli("demo", "--stop")
    assert stopped.exit_code == 0, stopped.stderr
    assert f"pid {pid}" in stopped.stderr
    assert not _running(pid)
    assert not os.path.exists(data), "demo --stop left the data dir behind"
