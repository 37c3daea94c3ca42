"""`clients` under the safety rules every command keeps: the password appears nowhere, a wrong
user or a paused server is one line with the documented exit code."""

from __future__ import annotations

from pathlib import Path

from rediscope.core.localserver import LocalServer
from rediscope.exitcodes import ExitStatus
from tests.conftest import run_cli

SECRET = "S3cret-Clients-Passw0rd"


def test_the_password_appears_nowhere(tmp_path: Path) -> None:
    with LocalServer(dir=tmp_path, password=SECRET) as server:
        ways = [
            ({"REDISCLI_AUTH": SECRET}, ["-p", str(server.port)]),
            ({}, ["--url", f"redis://:{SECRET}@127.0.0.1:{server.port}/0"]),
        ]
        outputs = []
        for env, where in ways:
            for fmt in ("table", "json", "jsonl"):
                res = run_cli(
                    "--traceback", "clients", *where, "--window", "0", "--format", fmt, env=env
                )
                assert res.exit_code == 0, (fmt, res.stderr)  # not trivially "nowhere"
                outputs.append(res.stdout + res.stderr)
        wrong = run_cli(
            "clients", "--url", f"redis://:{SECRET}x@127.0.0.1:{server.port}/0", "--window", "0"
        )
    assert wrong.exit_code == ExitStatus.CONNECTION
    assert wrong.stderr.count("\n") == 1 and "Traceback" not in wrong.stderr
    for text in [*outputs, wrong.stdout + wrong.stderr]:
        assert SECRET not in text


def test_a_paused_server_times_out_in_one_line(plain: LocalServer) -> None:
    admin = plain.client()
    admin.client_pause(5000)
    try:
        res = run_cli("clients", "-p", str(plain.port), "--timeout", "1", "--window", "0")
    finally:
        admin.client_unpause()
        admin.close()
    assert res.exit_code == ExitStatus.CONNECTION, res.stderr
    assert "timed out after 1s" in res.stderr and res.stderr.count("\n") == 1
