"""Tiers 2-3: `rediscope health` on real servers: statuses, exit codes, formats."""

from __future__ import annotations

import os
import pty
import re
import socket
import subprocess
import sys
import threading
from pathlib import Path

from rediscope.core.localserver import LocalServer, free_port
from rediscope.exitcodes import HealthExit
from tests.helpers import (
    ACL_PASSWORD,
    ADMIN_PASSWORD,
    SLACK,
    assert_valid_json_output,
    invoke,
    run_cli,
    wait_until,
)

FAST = ("--window", "0", "--pings", "2")


def _checks(doc: dict[str, object]) -> dict[str, dict[str, object]]:
    return {c["id"]: c for c in doc["checks"]}  # type: ignore[attr-defined,index]


def test_healthy_server_exits_0_with_every_check_documented(plain: LocalServer) -> None:
    res = invoke("health", "-p", str(plain.port), "--window", "0.2s", *SLACK, "--format", "json")
    assert res.exit_code == HealthExit.OK, res.stdout
    doc = assert_valid_json_output(res, "health")
    assert doc["status"] == "OK" and doc["exit_code"] == 0
    ids = set(_checks(doc))
    assert {
        "connection",
        "latency",
        "memory",
        "fragmentation",
        "evictions",
        "clients",
        "rejected_connections",
        "replication",
        "persistence",
        "slowlog",
    } <= ids
    table = invoke("health", "-p", str(plain.port), *FAST, *SLACK)
    assert table.exit_code == 0 and "overall OK" in table.stdout


def test_memory_at_95_percent_is_critical(tmp_path: Path) -> None:
    with LocalServer(
        dir=tmp_path, config={"maxmemory": "20mb", "maxmemory-policy": "noeviction"}
    ) as server:
        c = server.client()
        i = 0
        while c.info("memory")["used_memory"] < 0.95 * 20 * 1024 * 1024:
            c.set(f"k{i}", "x" * 20_000)
            i += 1
        res = invoke("health", "-p", str(server.port), *FAST, "--format", "json")
        assert res.exit_code == HealthExit.CRITICAL
        memory = _checks(res.json())["memory"]
        assert memory["status"] == "CRITICAL" and memory["value"] >= 95  # type: ignore[operator]
        # thresholds from the command line move the verdict
        res = invoke(
            "health",
            "-p",
            str(server.port),
            *FAST,
            "--warn",
            "memory=97",
            "--crit",
            "memory=99",
            "--checks",
            "memory",
        )
        assert res.exit_code == HealthExit.OK
        res = invoke(
            "health", "-p", str(server.port), *FAST, "--checks", "memory", "--crit", "memory=99"
        )
        assert res.exit_code == HealthExit.WARNING
        res = invoke(
            "health",
            "-p",
            str(server.port),
            *FAST,
            "--checks",
            "memory",
            "--crit",
            "memory=99",
            "--fail-on",
            "critical",
        )
        assert res.exit_code == HealthExit.OK and "WARNING" in res.stdout
        c.close()


def test_replica_whose_primary_is_gone_is_critical(tmp_path: Path) -> None:
    (tmp_path / "p").mkdir()
    (tmp_path / "r").mkdir()
    primary = LocalServer(dir=tmp_path / "p").start()
    replica = LocalServer(dir=tmp_path / "r", config={"replicaof": f"127.0.0.1 {primary.port}"})
    try:
        replica.start()
        rc = replica.client()
        link = lambda: rc.info("replication").get("master_link_status")  # noqa: E731
        wait_until("the replica to link", lambda: link() == "up")
        res = invoke("health", "-p", str(replica.port), *FAST, "--format", "json")
        assert _checks(res.json())["replication"]["status"] == "OK"
        res = invoke(
            "health",
            "-p",
            str(primary.port),
            *FAST,
            "--expect-replicas",
            "2",
            "--format",
            "json",
            "--checks",
            "replication",
        )
        assert res.exit_code == HealthExit.WARNING
        primary.stop()
        wait_until("the replica to see its primary gone", lambda: link() != "up")
        res = invoke("health", "-p", str(replica.port), *FAST, "--format", "json")
        assert res.exit_code == HealthExit.CRITICAL
        repl = _checks(res.json())["replication"]
        assert repl["status"] == "CRITICAL" and "down" in repl["message"]  # type: ignore[operator]
        rc.close()
    finally:
        replica.cleanup()
        primary.cleanup()


def test_unreachable_is_critical_with_one_line() -> None:
    port = free_port()
    res = run_cli("health", "-p", str(port), *FAST)
    assert res.exit_code == HealthExit.CRITICAL
    assert res.stderr.count("\n") == 1 and "connection refused" in res.stderr
    assert "Traceback" not in res.stderr
    res = run_cli("health", "-p", str(port), *FAST, "--format", "json")
    doc = assert_valid_json_output(res, "health")
    assert doc["status"] == "CRITICAL" and _checks(doc)["connection"]["status"] == "CRITICAL"
    res = run_cli("health", "-p", str(port), *FAST, "--format", "nagios")
    assert res.stdout.startswith("REDISCOPE CRITICAL - connection")


def test_bad_arguments_exit_3() -> None:
    for args in (
        ["--bogus"],
        ["--format", "xml"],
        ["--warn", "memory"],
        ["--warn", "nope=1"],
        ["--window", "soon"],
        ["--pings", "0"],
        ["--url", "ftp://x"],
    ):
        res = run_cli("health", *args)
        assert res.exit_code == HealthExit.UNKNOWN, (args, res.exit_code, res.stderr)
        assert "Traceback" not in res.stderr


def test_nagios_line_follows_the_plugin_guidelines(plain: LocalServer) -> None:
    res = invoke("health", "-p", str(plain.port), *FAST, *SLACK, "--format", "nagios")
    assert res.exit_code == 0, res.stdout
    line = res.stdout.strip()
    assert "\n" not in line
    status, perf = line.split(" | ")
    assert re.match(r"^REDISCOPE (OK|WARNING|CRITICAL|UNKNOWN) - \S", status)
    for item in perf.split(" "):  # 'label'=value[UOM];[warn];[crit];[min];[max]
        assert re.fullmatch(r"'[A-Za-z0-9_.:-]+'=-?[0-9.]+(ms|%|s|B)?;[0-9.]*;[0-9.]*;;", item), (
            item
        )


def test_prometheus_text_exposition(plain: LocalServer) -> None:
    res = invoke("health", "-p", str(plain.port), *FAST, "--format", "prometheus")
    lines = res.stdout.strip().splitlines()
    assert "rediscope_health_status{" in res.stdout
    for line in lines:
        assert line.startswith("#") or re.fullmatch(
            r"rediscope_health_[a-z_]+\{[^}]*\} -?[0-9.e+-]+", line
        ), line


def test_slowlog_and_acl_user_without_config_and_slowlog(tmp_path: Path) -> None:
    (tmp_path / "users.acl").write_text(
        f"user default on >{ADMIN_PASSWORD} ~* &* +@all\n"
        f"user monitor on >{ACL_PASSWORD} ~* +ping +info +@read -config -slowlog\n"
    )
    with LocalServer(
        dir=tmp_path,
        password=ADMIN_PASSWORD,
        config={"aclfile": str(tmp_path / "users.acl"), "slowlog-log-slower-than": "0"},
    ) as server:
        # what this test is about is which commands count and who may read the slow log, not
        # how fast this machine runs a script: thresholds no machine reaches (ms)
        roomy = ("--warn", "slowlog=600000", "--crit", "slowlog=1200000")
        admin = server.client()  # the application: a client without rediscope's name
        spin = "local n = 0 for i = 1, 3000000 do n = n + i end return 'spun-the-cpu-for-a-while'"
        admin.eval(spin, 0)  # milliseconds of CPU: the slowest entry, and a long command line
        invoke("bigkeys", "-p", str(server.port), env={"REDISCLI_AUTH": ADMIN_PASSWORD})
        res = invoke(
            "health",
            "-p",
            str(server.port),
            *FAST,
            *roomy,
            "--format",
            "json",
            env={"REDISCLI_AUTH": ADMIN_PASSWORD},
        )
        slow = _checks(res.json())["slowlog"]
        # every command is slow here (slower-than 0): the slowest entry is the script's
        assert slow["status"] == "OK" and slow["unit"] == "ms" and slow["warn"] == 600000
        assert slow["value"] > 0  # type: ignore[operator]
        message = str(slow["message"])
        # rediscope's own commands (its scan, this check's INFO) are not the application's
        assert "more from rediscope, not counted" in message and "SCAN" not in message
        assert "slowest" in message and "EVAL local n = 0" in message, message
        assert message.endswith("…"), message  # the script is cut, and says so
        args = ("--warn", "slowlog=0", "--crit", "slowlog=1200000", "--format", "nagios")
        res = invoke("health", "-p", str(server.port), *FAST, *args, "--checks", "slowlog",
                     env={"REDISCLI_AUTH": ADMIN_PASSWORD})  # fmt: skip
        assert res.exit_code == HealthExit.WARNING  # any entry is over 0 ms, none over 20 min
        assert re.search(r"'slowlog'=[0-9.]+ms;0;1200000;;", res.stdout), res.stdout
        res = invoke(
            "health",
            "--user",
            "monitor",
            "-p",
            str(server.port),
            *FAST,
            "--format",
            "json",
            env={"REDISCLI_AUTH": ACL_PASSWORD},
        )
        doc = assert_valid_json_output(res, "health")
        checks = _checks(doc)
        assert checks["slowlog"]["status"] == "UNKNOWN"
        assert "denied" in checks["slowlog"]["message"]  # type: ignore[operator]
        assert checks["persistence"]["status"] == "OK"  # INFO suffices; CONFIG optional
        assert checks["memory"]["status"] == "OK"
        assert doc["status"] == "UNKNOWN" and res.exit_code == HealthExit.UNKNOWN
        res = invoke(
            "health",
            "--user",
            "monitor",
            "-p",
            str(server.port),
            *FAST,
            *SLACK,
            "--skip",
            "slowlog",
            env={"REDISCLI_AUTH": ACL_PASSWORD},
        )
        assert res.exit_code == HealthExit.OK
        admin.close()


def test_thresholds_file_and_profile_section(plain: LocalServer, tmp_path: Path) -> None:
    th = tmp_path / "th.yaml"
    th.write_text("warn: {latency: 0}\ncrit: {latency: 10000}\n")
    res = invoke(
        "health", "-p", str(plain.port), *FAST, "--thresholds", str(th), "--checks", "latency"
    )
    assert res.exit_code == HealthExit.WARNING
    cfg = tmp_path / "xdg-config" / "rediscope" / "config.yaml"
    cfg.parent.mkdir(parents=True)
    cfg.write_text(
        f"profiles:\n  p:\n    port: {plain.port}\n    health:\n"
        "      warn: ['latency=0']\n      checks: latency\n      window: '0'\n"
    )
    res = invoke("health", "--profile", "p", "--format", "json")
    assert res.exit_code == HealthExit.WARNING
    assert [c["id"] for c in res.json()["checks"]] == ["latency"]
    th.write_text("- not a mapping\n")
    res = invoke("health", "-p", str(plain.port), "--thresholds", str(th))
    assert res.exit_code == HealthExit.UNKNOWN


def test_rejections_and_evictions_during_the_window(tmp_path: Path) -> None:
    with LocalServer(
        dir=tmp_path,
        config={"maxclients": "4", "maxmemory": "5mb", "maxmemory-policy": "volatile-lru"},
    ) as server:
        c = server.client()

        def window_started() -> bool:
            """health took its first INFO (the window's start) on its connection"""
            return any(
                cl.get("name") == "rediscope" and cl.get("cmd") == "info" for cl in c.client_list()
            )

        def during_window() -> None:
            wait_until("health's first INFO", window_started)
            for i in range(300):  # evicts: volatile-lru, not a pure cache policy
                c.set(f"k{i}", "x" * 50_000, ex=3600)
            extra = []
            for _ in range(8):  # raw sockets: the server answers -ERR max clients and closes
                sock = socket.create_connection(("127.0.0.1", server.port), timeout=2)
                sock.sendall(b"PING\r\n")
                sock.recv(100)
                extra.append(sock)
            for sock in extra:
                sock.close()

        thread = threading.Thread(target=during_window)
        thread.start()
        res = invoke(
            "health", "-p", str(server.port), "--window", "2s", "--pings", "1", "--format", "json"
        )
        thread.join()
        checks = _checks(res.json())
        assert checks["evictions"]["status"] == "WARNING"
        assert checks["evictions"]["value"] > 0  # type: ignore[operator]
        rejected = checks["rejected_connections"]
        assert rejected["status"] in ("WARNING", "CRITICAL") and rejected["value"] >= 1  # type: ignore[operator]
        assert res.exit_code in (HealthExit.WARNING, HealthExit.CRITICAL)
        c.close()


def test_checks_that_do_not_apply_say_so_and_alone_are_unknown(plain: LocalServer) -> None:
    port = str(plain.port)
    res = invoke("health", "-p", port, *FAST, "--checks", "cluster,sentinel", "--format", "nagios")
    assert res.exit_code == HealthExit.UNKNOWN, res.stdout
    assert res.stdout.startswith("REDISCOPE UNKNOWN - no check applies: cluster: not a cluster")
    assert "sentinel: not reached through Sentinel" in res.stdout
    res = invoke("health", "-p", port, *FAST, "--checks", "cluster,sentinel")
    assert res.exit_code == HealthExit.UNKNOWN
    assert "not applicable: cluster: not a cluster" in res.stdout
    assert "overall UNKNOWN" in res.stdout and "2 checks not applicable" in res.stdout
    res = invoke("health", "-p", port, *FAST, "--checks", "cluster,memory", "--format", "json")
    doc = assert_valid_json_output(res, "health")
    assert res.exit_code == HealthExit.OK and doc["status"] == "OK"
    assert [c["id"] for c in doc["checks"]] == ["memory"]
    assert [n["id"] for n in doc["not_applicable"]] == ["cluster"]


def test_fragmentation_is_ignored_below_100_mib_and_says_so_in_mib(plain: LocalServer) -> None:
    """One definition of the threshold: 100 MiB in the comparison and in the message."""
    c = plain.client()
    blob = b"x" * (1 << 20)
    written = [0]

    def fill_to(mib: float) -> None:
        while c.info("memory")["used_memory"] < mib * (1 << 20):
            c.set(f"blob:{written[0]}", blob)
            written[0] += 1

    def message() -> str:
        args = ("--checks", "fragmentation", "--format", "json")
        doc = invoke("health", "-p", str(plain.port), *FAST, *args).json()
        return str(_checks(doc)["fragmentation"]["message"])

    # 98 MiB is over 100 MB (95.37 MiB): a threshold in MB would not ignore it.
    # The server's own figure may fall a little (freed buffers) before the check.
    fill_to(98)
    shown = re.search(r"ignored: (\d+\.\d) MiB used, under 100 MiB", message())
    assert shown is not None and 100e6 / (1 << 20) < float(shown.group(1)) < 100
    fill_to(101)
    assert "ignored" not in message()
    c.close()


def test_health_window_says_what_it_waits_for_on_a_terminal(plain: LocalServer) -> None:
    """On a terminal, the --window wait is a countdown on stderr, not a blank screen."""
    master, slave = pty.openpty()
    proc = subprocess.Popen(
        [sys.executable, "-m", "rediscope", "health", "-p", str(plain.port), "--window", "1"],
        stdin=slave,
        stdout=slave,
        stderr=slave,
        env={**os.environ, "COLUMNS": "100", "TERM": "xterm"},
    )
    os.close(slave)
    seen = b""
    while True:
        try:
            chunk = os.read(master, 4096)
        except OSError:  # the child closed the terminal
            break
        if not chunk:
            break
        seen += chunk
    proc.wait(timeout=30)
    os.close(master)
    text = re.sub(r"\x1b\[[0-9;?]*[A-Za-z]", "", seen.decode(errors="replace"))
    assert "sampling INFO again after the 1 s window" in text, text[-500:]
    assert "overall OK" in text
