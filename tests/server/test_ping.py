"""Tiers 2-3: `rediscope ping` and the error boundary against real servers."""

from __future__ import annotations

from pathlib import Path

import pytest

from rediscope.core.connection import ConnectionOptions, resolve
from rediscope.core.health.ping import ping
from rediscope.core.localserver import LocalServer, free_port
from rediscope.exitcodes import ExitStatus
from tests.helpers import (
    ACL_PASSWORD,
    ACL_USER,
    Certs,
    assert_valid_json_output,
    invoke,
    run_cli,
)


def test_ping_plain_server_table_and_json(redis_server: LocalServer) -> None:
    res = invoke("ping", "--url", redis_server.url)
    assert res.exit_code == 0, res.stderr
    server = redis_server.client().info("server")
    product = str(server.get("server_name") or "redis")  # Valkey says server_name:valkey
    assert product in res.stdout
    assert "standalone" in res.stdout
    res = invoke("ping", "-p", str(redis_server.port), "--format", "json", "-c", "4")
    doc = assert_valid_json_output(res, "ping")
    assert doc["complete"] is True
    assert doc["target"]["url"] == f"redis://127.0.0.1:{redis_server.port}/0"
    assert doc["target"]["mode"] == "standalone"
    assert doc["pings"] == 4 and doc["role"] == "primary"
    assert 0 < doc["rtt_min_ms"] <= doc["rtt_avg_ms"] <= doc["rtt_max_ms"]


def test_ping_core_reports_version(redis_server: LocalServer) -> None:
    report = ping(resolve(ConnectionOptions(port=redis_server.port), None, environ={}))
    client = redis_server.client()
    server = client.info("server")
    # Valkey keeps redis_version at 7.2.4 for compatibility and says its own in valkey_version
    assert report.version == server.get("valkey_version", server["redis_version"])
    assert report.server == str(server.get("server_name") or "redis")
    client.close()


def test_acl_user_with_password_from_rediscli_auth(acl_server: LocalServer) -> None:
    env = {"REDISCLI_AUTH": ACL_PASSWORD}
    url = f"redis://{ACL_USER}@127.0.0.1:{acl_server.port}/0"
    for fmt in ("table", "json"):
        res = invoke("ping", "--url", url, "--format", fmt, env=env)
        assert res.exit_code == 0, res.stderr
        assert ACL_PASSWORD not in res.stdout + res.stderr
    doc = res.json()
    assert doc["target"]["url"] == f"redis://{ACL_USER}:***@127.0.0.1:{acl_server.port}/0"


def test_password_in_url_is_redacted_everywhere(acl_server: LocalServer) -> None:
    url = f"redis://{ACL_USER}:{ACL_PASSWORD}@127.0.0.1:{acl_server.port}/0"
    res = run_cli("ping", "--url", url, "--format", "json")
    assert res.exit_code == 0, res.stderr
    assert ACL_PASSWORD not in res.stdout + res.stderr
    assert ":***@" in res.json()["target"]["url"]


def test_password_flag_warns(acl_server: LocalServer) -> None:
    res = invoke("ping", "--user", ACL_USER, "--password", ACL_PASSWORD, "-p", str(acl_server.port))
    assert res.exit_code == 0
    assert "visible to other users" in res.stderr
    assert ACL_PASSWORD not in res.stdout + res.stderr


def test_askpass_prompts(acl_server: LocalServer) -> None:
    res = invoke(
        "ping",
        "--user",
        ACL_USER,
        "--askpass",
        "-p",
        str(acl_server.port),
        input=ACL_PASSWORD + "\n",
    )
    assert res.exit_code == 0, res.stderr
    assert ACL_PASSWORD not in res.stdout


def test_wrong_password_is_one_line_exit_3(acl_server: LocalServer) -> None:
    res = run_cli(
        "ping",
        "--user",
        ACL_USER,
        "-p",
        str(acl_server.port),
        env={"REDISCLI_AUTH": "wrong-" + ACL_PASSWORD},
    )
    assert res.exit_code == ExitStatus.CONNECTION
    assert res.stderr.count("\n") == 1 and res.stderr.startswith("rediscope: error: ")
    assert "authentication failed" in res.stderr
    assert "Traceback" not in res.stderr and ACL_PASSWORD not in res.stderr


def test_no_password_on_protected_server_says_so(acl_server: LocalServer) -> None:
    res = invoke("ping", "-p", str(acl_server.port))
    assert res.exit_code == ExitStatus.CONNECTION
    assert "requires authentication" in res.stderr


def test_tls_with_cacert(tls_server: LocalServer, certs: Certs) -> None:
    res = invoke(
        "ping",
        "--url",
        f"rediss://127.0.0.1:{tls_server.port}",
        "--cacert",
        str(certs.ca),
        "--format",
        "json",
    )
    assert res.exit_code == 0, res.stderr
    assert res.json()["target"]["url"].startswith("rediss://")
    res = invoke("ping", "--tls", "--insecure", "-p", str(tls_server.port))
    assert res.exit_code == 0, res.stderr


def test_tls_wrong_ca_is_one_line_exit_3(tls_server: LocalServer, certs: Certs) -> None:
    res = run_cli(
        "ping", "--url", f"rediss://127.0.0.1:{tls_server.port}", "--cacert", str(certs.other_ca)
    )
    assert res.exit_code == ExitStatus.CONNECTION
    assert "certificate verification failed" in res.stderr
    assert res.stderr.count("\n") == 1 and "Traceback" not in res.stderr


def test_plaintext_to_tls_server_is_one_line(tls_server: LocalServer) -> None:
    res = run_cli("ping", "-p", str(tls_server.port), "--timeout", "2")
    assert res.exit_code == ExitStatus.CONNECTION
    assert res.stderr.count("\n") == 1 and "Traceback" not in res.stderr


def test_unix_socket(redis_server: LocalServer) -> None:
    assert redis_server.dir is not None
    sock = redis_server.dir / "redis.sock"
    res = invoke("ping", "--url", f"unix://{sock}?db=0", "--format", "json")
    assert res.exit_code == 0, res.stderr
    assert res.json()["target"]["url"] == f"unix://{sock}?db=0"


@pytest.mark.cluster
def test_cluster_node_reports_cluster_mode_and_all_nodes(cluster: list[LocalServer]) -> None:
    res = invoke("ping", "-p", str(cluster[1].port), "--format", "json")
    doc = assert_valid_json_output(res, "ping")
    assert doc["mode"] == "cluster" and doc["target"]["mode"] == "cluster"
    addresses = {n["address"] for n in doc["target"]["nodes"]}
    assert addresses == {f"127.0.0.1:{s.port}" for s in cluster}
    slots = sorted(tuple(r) for n in doc["target"]["nodes"] for r in n["slots"])
    covered = sum(hi - lo + 1 for lo, hi in slots)
    assert covered == 16384
    res = invoke("ping", "-p", str(cluster[0].port))
    assert "cluster nodes" in res.stdout


def test_refused_port_one_line_exit_3() -> None:
    port = free_port()
    res = run_cli("ping", "-p", str(port))
    assert res.exit_code == ExitStatus.CONNECTION
    assert res.stderr == (
        f"rediscope: error: connection refused to 127.0.0.1:{port} — "
        "is redis-server running? use --url or --host/--port\n"
    )


def test_unknown_host_one_line_exit_3() -> None:
    res = run_cli("ping", "--host", "no-such-host.invalid", "--timeout", "2")
    assert res.exit_code == ExitStatus.CONNECTION
    assert "unknown host" in res.stderr and res.stderr.count("\n") == 1


def test_bad_url_exit_2() -> None:
    res = run_cli("ping", "--url", "http://u:pw123@h")
    assert res.exit_code == ExitStatus.USAGE
    assert "invalid URL" in res.stderr and "pw123" not in res.stderr


def test_malformed_config_exit_2_names_line(tmp_path: Path) -> None:
    cfg = tmp_path / "bad.yaml"
    cfg.write_text("profiles:\n  prod:\n    port: 'x'\n")
    res = run_cli("ping", "--config", str(cfg), "--profile", "prod")
    assert res.exit_code == ExitStatus.USAGE
    assert f"{cfg}:3: port must be a int" in res.stderr
    assert res.stderr.count("\n") == 1 and "Traceback" not in res.stderr


def test_profile_connection_and_command_defaults(redis_server: LocalServer, tmp_path: Path) -> None:
    cfg = tmp_path / "xdg-config" / "rediscope" / "config.yaml"
    cfg.parent.mkdir(parents=True)
    cfg.write_text(
        f"profiles:\n  local:\n    port: {redis_server.port}\n"
        "    ping:\n      count: 7\n      format: json\n"
    )
    res = invoke("ping", "--profile", "local")
    assert res.exit_code == 0, res.stderr
    assert res.json()["pings"] == 7
    res = invoke("ping", "--profile", "local", "-c", "2")  # the flag wins
    assert res.json()["pings"] == 2
    cfg.write_text(
        f"profiles:\n  local:\n    port: {redis_server.port}\n    ping:\n      colour: red\n"
    )
    res = invoke("ping", "--profile", "local")
    assert res.exit_code == ExitStatus.USAGE and "has no option 'colour'" in res.stderr


def test_traceback_flag_shows_stack(tmp_path: Path) -> None:
    port = free_port()
    res = run_cli("--traceback", "ping", "-p", str(port))
    assert res.exit_code == ExitStatus.CONNECTION
    assert "Traceback" in res.stderr


def test_timeout_on_unresponsive_server(plain: LocalServer) -> None:
    import signal

    plain_pid = plain.pid
    import os

    os.kill(plain_pid, signal.SIGSTOP)
    try:
        res = run_cli("ping", "-p", str(plain.port), "--timeout", "1")
    finally:
        os.kill(plain_pid, signal.SIGCONT)
    assert res.exit_code == ExitStatus.CONNECTION
    assert "timed out after 1s" in res.stderr  # the timeout fired, and the error names it
