"""COMMANDLOG in health (issue 37, item 4): on Valkey 8.1 the largest request and reply of the
window, named, rediscope's own entries left out; not applicable on a server without it. The
Valkey tests need ../shared (skipped with one line where absent, failed in CI)."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import redis

from rediscope.core.localserver import LocalServer
from tests.conftest import _start, invoke, load_json
from tests.test_modules_live import SHARED, need

VALKEY_81 = SHARED / "servers" / "valkey-8.1.8" / "bin" / "valkey-server"
CHECKS = ("--checks", "commandlog_large_request,commandlog_large_reply")
BIG = 2_000_000  # over COMMANDLOG's default 1 MiB thresholds


@pytest.fixture
def valkey81(tmp_path: Path) -> Iterator[LocalServer]:
    server = _start(LocalServer(dir=tmp_path, binary=need(VALKEY_81)))
    try:
        yield server
    finally:
        server.cleanup()


def health(server: LocalServer, *extra: str) -> tuple[int, dict[str, Any]]:
    r = invoke("health", "-p", str(server.port), "--window", "0", *extra, "--format", "json")
    assert "Traceback" not in r.stderr
    return r.exit_code, load_json(r.stdout)


def test_the_largest_request_and_reply_are_named_and_ours_left_out(
    valkey81: LocalServer,
) -> None:
    app = valkey81.client(client_name="app")
    app.set("blob", b"x" * BIG)
    app.get("blob")
    ours = valkey81.client(client_name="rediscope")
    ours.get("blob")  # a large reply of rediscope's own: counted apart
    ours.set("ours", b"y" * (BIG * 2))  # bigger than the app's, but not counted
    code, doc = health(valkey81, *CHECKS)
    assert code == 0 and doc["status"] == "OK"  # 2 MB is under the 10 MiB warning
    checks = {c["id"]: c for c in doc["checks"]}
    request, reply = checks["commandlog_large_request"], checks["commandlog_large_reply"]
    assert BIG < request["value"] < BIG + 100 and request["unit"] == "bytes"
    assert "SET blob" in request["message"] and "1 more from rediscope" in request["message"]
    assert BIG < reply["value"] < BIG + 100
    assert "GET blob" in reply["message"] and "1 more from rediscope" in reply["message"]
    assert any("COMMANDLOG" in n for n in doc["notes"])
    nagios = invoke(
        "health", "-p", str(valkey81.port), "--window", "0", *CHECKS, "--format", "nagios"
    )
    assert (
        f"'commandlog_large_request'={int(request['value'])}B;10485760;104857600;;" in nagios.stdout
    )
    code, doc = health(valkey81, *CHECKS, "--warn", "commandlog_large_reply=1000000")
    assert code == 1 and doc["status"] == "WARNING"
    warned = next(c for c in doc["checks"] if c["status"] == "WARNING")
    assert warned["id"] == "commandlog_large_reply" and warned["hint"]


def test_denied_it_is_left_out_with_a_note_unless_asked_for(valkey81: LocalServer) -> None:
    """An ACL made before COMMANDLOG existed keeps a healthy server OK; named, UNKNOWN."""
    rules = "on >pw ~* -@all +ping +info +client|setname +slowlog|get +config|get"
    valkey81.client().execute_command("ACL", "SETUSER", "old", *rules.split())
    env = {"REDISCLI_AUTH": "pw"}
    args = ("health", "--user", "old", "-p", str(valkey81.port), "--window", "0")
    slack = ("--warn", "latency=1000", "--crit", "latency=2000", "--format", "json")
    r = invoke(*args, *slack, env=env)
    doc = load_json(r.stdout)
    assert r.exit_code == 0 and doc["status"] == "OK", r.stdout
    assert not any(c["id"].startswith("commandlog") for c in doc["checks"])
    assert any("commandlog_large_reply left out" in n and "denied" in n for n in doc["notes"])
    r = invoke(*args, *CHECKS, "--format", "json", env=env)
    named = load_json(r.stdout)
    assert r.exit_code == 3 and {c["status"] for c in named["checks"]} == {"UNKNOWN"}
    assert all("+commandlog|get" in (c["hint"] or "") for c in named["checks"])


def test_a_quiet_log_is_ok_with_no_value(valkey81: LocalServer) -> None:
    valkey81.client().set("small", "v")
    code, doc = health(valkey81, *CHECKS)
    assert code == 0 and {c["value"] for c in doc["checks"]} == {0}
    assert all("0 large" in c["message"] for c in doc["checks"])


def test_a_server_without_commandlog_does_not_apply(plain: LocalServer) -> None:
    c = plain.client()
    with contextlib.suppress(redis.ResponseError):  # unknown command: what this is about
        c.execute_command("COMMANDLOG", "LEN", "large-reply")
        pytest.skip("this server has COMMANDLOG (REDISCOPE_SERVER_BIN is Valkey 8.1+)")
    code, doc = health(plain, *CHECKS)
    assert code == 3 and doc["status"] == "UNKNOWN" and doc["checks"] == []
    reasons = {n["id"]: n["reason"] for n in doc["not_applicable"]}
    assert "no COMMANDLOG" in reasons["commandlog_large_reply"]
    code, doc = health(plain, "--warn", "latency=1000", "--crit", "latency=2000")
    assert not any(ch["id"].startswith("commandlog") for ch in doc["checks"])
    assert not doc["notes"]
