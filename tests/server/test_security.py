"""Production hardening: least privilege from docs/security.md, secrets, faults, bad input."""

from __future__ import annotations

import os
import re
import shutil
import sqlite3
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from rediscope.core.localserver import LocalServer
from rediscope.exitcodes import ExitStatus
from tests.helpers import (
    ADMIN_PASSWORD,
    SLACK,
    invoke,
    load_json,
    monitor_attached,
    run_cli,
    scan_started,
    wait_until,
)
from tests.helpers.security import SECRET, acl_lines, apply_role


@pytest.fixture
def acl_target(tmp_path: Path) -> LocalServer:
    server = LocalServer(
        dir=tmp_path, password=ADMIN_PASSWORD, config={"maxmemory-policy": "allkeys-lfu"}
    ).start()
    try:
        c = server.client()
        pipe = c.pipeline(transaction=False)
        for i in range(2000):
            pipe.hset(f"user:{i}", mapping={"a": i})
            pipe.set(f"session:{i}", "x" * 50, ex=600)
        pipe.rpush("big:list", *range(6000))
        pipe.execute()
        c1 = server.client(db=2)
        c1.set("other", 1)
        c1.close()
        c.close()
        yield server
    finally:
        server.cleanup()


def test_docs_acl_lines_work_as_written(acl_target: LocalServer, tmp_path: Path) -> None:
    assert set(acl_lines()) == {"analyst", "health", "hotkeys", "backup", "capacity", "restore"}
    port = str(acl_target.port)
    env = {"REDISCLI_AUTH": SECRET}

    def as_role(role: str, *args: str) -> None:
        user = apply_role(acl_target, role, SECRET)
        res = invoke(*args, "--user", user, "-p", port, "--format", "json", env=env)
        assert res.exit_code == 0, (role, args, res.stderr)
        doc = res.json()
        assert doc["complete"] is True, (role, args)
        notes = " ".join(doc.get("notes") or [])
        assert "denied" not in notes, (role, args, notes)

    as_role("analyst", "memory")
    as_role("analyst", "bigkeys")
    as_role("analyst", "patterns", "--memory")
    as_role("analyst", "ping")
    as_role("analyst", "hotkeys", "--method", "lfu")
    as_role("analyst", "top", "--once", "--interval", "0.2")
    as_role("analyst", "audit")
    as_role("health", "health", "--window", "0", *SLACK)
    as_role("hotkeys", "hotkeys", "--method", "monitor", "--duration", "0.5s")
    as_role("backup", "backup", "run", str(tmp_path))
    as_role("restore", "backup", "restore", str(tmp_path), "--db-map", "0:5,2:6", "--dry-run")
    as_role("restore", "backup", "restore", str(tmp_path), "--db-map", "0:5,2:6", "--yes")
    restored = acl_target.client(db=5)
    assert restored.dbsize() == acl_target.client().dbsize() and restored.ttl("session:1") > 0
    as_role("capacity", "capacity", "record", "--history", str(tmp_path / "h.sqlite"))
    as_role("capacity", "capacity", "report", "--history", str(tmp_path / "h.sqlite"))


def test_config_and_debug_renamed_away(tmp_path: Path) -> None:
    renames = 'CONFIG ""\nrename-command DEBUG ""'  # two rename-command lines
    with LocalServer(dir=tmp_path, config={"rename-command": renames}) as server:
        c = server.client()
        c.hset("h", mapping={f"f{i}": i for i in range(200)})
        c.set("s", "x")
        port = str(server.port)
        doc = invoke("memory", "-p", port, "--format", "json").json()
        assert doc["limits_source"] == "defaults"
        assert any("CONFIG GET was denied" in n for n in doc["notes"])
        for args in (
            ["bigkeys"],
            ["patterns"],
            ["ping"],
            ["health", "--window", "0", *SLACK],
            ["hotkeys", "--duration", "0.5s"],
            ["backup", "run", str(tmp_path)],
            ["capacity", "record", "--history", str(tmp_path / "h.sqlite")],
        ):
            res = invoke(*args, "-p", port)
            assert res.exit_code == 0, (args, res.stderr)
        c.close()


def _saved_copy(server: LocalServer, tmp: Path) -> None:
    """The server's RDB as TMP/dump.rdb (the file `backup restore` reads in _every_command)."""
    admin = server.client()
    admin.save()
    admin.close()
    assert server.dir is not None
    shutil.copy(server.dir / "dump.rdb", tmp / "dump.rdb")


def _every_command(port: int, tmp: Path) -> list[list[str]]:
    p = str(port)
    return [
        ["ping", "-p", p],
        ["memory", "-p", p],
        ["bigkeys", "-p", p],
        ["patterns", "-p", p],
        ["hotkeys", "-p", p, "--duration", "0.3s"],
        ["health", "-p", p, "--window", "0", *SLACK],
        ["backup", "run", str(tmp), "-p", p, "--verbose"],
        ["capacity", "record", "-p", p, "--history", str(tmp / "h.sqlite")],
        ["capacity", "report", "-p", p, "--history", str(tmp / "h.sqlite")],
        ["audit", "-p", p],
        ["top", "-p", p, "--once", "--interval", "0.2"],
        # the server's own file back into it: its keys are there already (--merge keeps them)
        ["backup", "restore", str(tmp / "dump.rdb"), "-p", p, "--merge", "--yes"],
    ]


def test_the_password_appears_nowhere(tmp_path: Path) -> None:
    data = tmp_path / "data"
    data.mkdir()
    out_dir = tmp_path / "out"
    out_dir.mkdir()
    with LocalServer(dir=data, password=SECRET) as server:
        c = server.client()
        c.set("k", "v")
        c.close()
        _saved_copy(server, out_dir)
        cfg = tmp_path / "config.yaml"
        cfg.write_text(f"profiles:\n  p:\n    password: {SECRET}\n")
        ways = [
            ({"REDISCLI_AUTH": SECRET}, []),
            ({}, ["--url", f"redis://:{SECRET}@127.0.0.1:{server.port}/0"]),
            ({"REDISCOPE_CONFIG": str(cfg)}, ["--profile", "p"]),
        ]
        outputs = []
        for env, extra in ways:
            for cmd in _every_command(server.port, out_dir):
                formats = ["table", "json"]
                if cmd[0] == "health":
                    formats += ["nagios", "prometheus"]
                for fmt in formats:
                    res = run_cli("--traceback", *cmd, *extra, "--format", fmt, env=env)
                    # each succeeds: a command failing early would pass "nowhere" trivially
                    assert res.exit_code == 0, (cmd, fmt, res.stderr)
                    outputs.append(res.stdout + res.stderr)
        # failures too: a wrong password, with --traceback
        res = run_cli(
            "--traceback", "ping", "--url", f"redis://:{SECRET}x@127.0.0.1:{server.port}/0"
        )
        outputs.append(res.stdout + res.stderr)
        assert "Traceback" in res.stderr
    for text in outputs:
        assert SECRET not in text
    for path in out_dir.rglob("*"):
        if path.is_file():
            assert SECRET.encode() not in path.read_bytes(), path
    db = sqlite3.connect(out_dir / "h.sqlite")
    assert not any(SECRET in str(row) for row in db.execute("SELECT * FROM samples"))
    db.close()


def test_adversarial_key_names(plain: LocalServer) -> None:
    c = plain.client()
    c.set(b"", "empty name")
    c.set(b" ", "space")
    c.set(b"k" * (512 * 1024), "long name")
    c.set(b"line\nbreak", "x" * 3000)
    c.set(b"\x1b[2J\x1b[H", "x" * 4000)  # would clear the screen
    c.set(b"[bold red]markup[/bold red]", "x" * 5000)
    c.set(b"\xff\xfe invalid", "x" * 6000)
    c.set(b"{tag}:x", "x")
    for args in (["bigkeys"], ["patterns"], ["memory"]):
        res = invoke(*args, "-p", str(plain.port))
        assert res.exit_code == 0, (args, res.stderr)
        assert "\x1b" not in res.stdout, args
        if args[0] == "bigkeys":
            assert "[bold red]markup[/bold red]" in res.stdout
            assert '"\\x1b[2J\\x1b[H"' in res.stdout and '"line\\nbreak"' in res.stdout
        doc = invoke(*args, "-p", str(plain.port), "--format", "json").json()
        assert doc["complete"] is True
    doc = invoke("bigkeys", "-p", str(plain.port), "--format", "json").json()
    assert doc["scan"]["keys_scanned"] == 8
    c.close()


def test_huge_values_are_never_fetched(tmp_path: Path) -> None:
    with LocalServer(dir=tmp_path) as server:
        c = server.client()
        c.setrange("huge:string", 256 * 1024 * 1024 - 1, "x")  # 256 MB without sending it
        for start in range(0, 2_000_000, 100_000):
            c.execute_command(
                "ZADD", "huge:zset", *[v for j in range(start, start + 100_000) for v in (j, j)]
            )
        proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "rediscope",
                "bigkeys",
                "-p",
                str(server.port),
                "--format",
                "json",
            ],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
        )
        peak = 0
        while proc.poll() is None:
            try:
                status = Path(f"/proc/{proc.pid}/status").read_text()
                peak = max(peak, int(re.search(r"VmHWM:\s+(\d+)", status).group(1)))  # type: ignore[union-attr]
            except (OSError, AttributeError):
                pass
            time.sleep(0.01)
        out, err = proc.communicate()
        assert proc.returncode == 0, err
        assert b'"huge:string"' in out and peak < 100 * 1024, peak  # KB
        c.close()


def test_paused_server_returns_within_the_timeout(plain: LocalServer) -> None:
    c = plain.client()
    c.mset({f"k{i}": i for i in range(20_000)})
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "rediscope",
            "bigkeys",
            "-p",
            str(plain.port),
            "--timeout",
            "1",
            "--rate",
            "4000",
            "--format",
            "json",
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    # past the probe (one SCAN) and the first batches: some keys are measured
    wait_until("the scan to walk", lambda: scan_started(plain, calls=6))
    c.client_pause(6000)
    out, err = proc.communicate(timeout=30)
    c.client_unpause()
    assert proc.returncode == ExitStatus.ERROR, err
    # the timeout fired (not the end of the pause), and the error names it
    assert "timed out after 1s" in err and "Traceback" not in err
    doc = load_json(out)
    assert doc["complete"] is False and doc["scan"]["keys_scanned"] > 0
    c.close()


@pytest.mark.parametrize(
    "args",
    [
        ["bigkeys", "--top", "0"],
        ["bigkeys", "--scan-count", "0"],
        ["bigkeys", "--rate", "-1"],
        ["bigkeys", "--sample", "0"],
        ["bigkeys", "--samples", "-1"],
        ["ping", "--timeout", "0"],
        ["ping", "--timeout", "1e9"],
        ["bigkeys", "--min-bytes", "-5"],
        ["patterns", "--top", "0"],
        ["memory", "--top", "-1"],
        ["hotkeys", "--duration", "-1s"],
        ["hotkeys", "--warn-share", "2"],
        ["backup", "run", "/tmp", "--keep-last", "-1"],
        ["capacity", "report", "--since", "soon"],
        ["ping", "--port", "70000"],
        ["ping", "--sentinel", "h:x", "--master", "m"],
        ["ping", "--master", "m"],
    ],
)
def test_absurd_option_values_are_usage_errors(args: list[str]) -> None:
    res = run_cli(*args)
    assert res.exit_code == ExitStatus.USAGE, (args, res.exit_code, res.stderr)
    assert "Traceback" not in res.stderr


def test_bad_local_input(tmp_path: Path, plain: LocalServer) -> None:
    res = run_cli("ping", "--config", str(tmp_path))  # a directory: unreadable as a file
    assert res.exit_code == ExitStatus.USAGE and "cannot read config file" in res.stderr
    bad = tmp_path / "bad.yaml"
    bad.write_bytes(b"\xff\xfe\x00")
    res = run_cli("ping", "--config", str(bad))
    assert res.exit_code == ExitStatus.USAGE and res.stderr.count("\n") == 1
    res = run_cli("backup", "run", "/proc/self", "-p", str(plain.port))
    assert res.exit_code == ExitStatus.ERROR and res.stderr.count("\n") == 1
    history = tmp_path / "h.sqlite"
    assert (
        invoke("capacity", "record", "-p", str(plain.port), "--history", str(history)).exit_code
        == 0
    )
    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            (
                "import sqlite3, sys, time; c = sqlite3.connect(sys.argv[1], isolation_level=None); "
                "c.execute('BEGIN EXCLUSIVE'); print('locked', flush=True); time.sleep(30)"
            ),
            str(history),
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "locked"
        res = run_cli(
            "capacity",
            "record",
            "-p",
            str(plain.port),
            "--history",
            str(history),
            env={"REDISCOPE_SQLITE_BUSY_MS": "500"},
        )
        assert res.exit_code == ExitStatus.ERROR
        assert "locked by another process" in res.stderr and res.stderr.count("\n") == 1
    finally:
        holder.kill()
        holder.wait()
    os.environ.pop("REDISCOPE_SQLITE_BUSY_MS", None)


def test_wrong_user_and_tls_failures_for_every_command(
    acl_server: LocalServer, tmp_path: Path
) -> None:
    _saved_copy(acl_server, tmp_path)
    for cmd in _every_command(acl_server.port, tmp_path):
        res = run_cli(*cmd, "--user", "nobody", env={"REDISCLI_AUTH": "nope"})
        expected = 2 if cmd[0] == "health" else ExitStatus.CONNECTION
        assert res.exit_code == expected, (cmd, res.exit_code, res.stderr)
        assert res.stderr.count("\n") == 1 and "Traceback" not in res.stderr, cmd
        assert "authentication failed" in res.stderr or "invalid username" in res.stderr


def test_expired_server_certificate_is_one_line_exit_3(certs: Any, tmp_path: Path) -> None:
    d = tmp_path
    subprocess.run(
        [
            "openssl",
            "req",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-subj",
            "/CN=127.0.0.1",
            "-keyout",
            "old.key",
            "-out",
            "old.csr",
        ],
        cwd=d,
        check=True,
        capture_output=True,
    )
    (d / "san.ext").write_text("subjectAltName=IP:127.0.0.1\n")
    subprocess.run(
        [
            "openssl",
            "x509",
            "-req",
            "-in",
            "old.csr",
            "-CA",
            str(certs.ca),
            "-CAkey",
            str(certs.ca.with_suffix(".key")),
            "-CAcreateserial",
            "-days",
            "0",
            "-extfile",
            "san.ext",
            "-out",
            "old.crt",
        ],
        cwd=d,
        check=True,
        capture_output=True,
    )
    time.sleep(1.1)  # notAfter is now: a second later it has expired
    with LocalServer(
        dir=d,
        tls_port=True,
        config={
            "tls-cert-file": str(d / "old.crt"),
            "tls-key-file": str(d / "old.key"),
            "tls-ca-cert-file": str(certs.ca),
            "tls-auth-clients": "no",
        },
    ) as server:
        res = run_cli(
            "ping", "--url", f"rediss://127.0.0.1:{server.port}", "--cacert", str(certs.ca)
        )
        assert res.exit_code == ExitStatus.CONNECTION
        assert "certificate" in res.stderr and "expired" in res.stderr
        assert res.stderr.count("\n") == 1 and "Traceback" not in res.stderr


@pytest.mark.parametrize(
    "cmd",
    [
        ["memory"],
        ["patterns"],
        ["hotkeys", "--method", "monitor", "--duration", "5s"],
        ["health", "--window", "0"],
        ["capacity", "record", "--history", "{tmp}/h.sqlite"],
        ["backup", "run", "{tmp}"],
        ["ping"],
    ],
)
def test_paused_server_every_command_returns_within_the_timeout(
    plain: LocalServer, tmp_path: Path, cmd: list[str]
) -> None:
    c = plain.client()
    c.mset({f"k{i}": i for i in range(2000)})
    c.client_pause(5000)
    try:
        res = run_cli(
            *[a.replace("{tmp}", str(tmp_path)) for a in cmd],
            "-p",
            str(plain.port),
            "--timeout",
            "1",
        )
    finally:
        c.client_unpause()
        c.close()
    assert res.exit_code != 0, (cmd, res.stdout[-300:])
    # the 1 s timeout fired, not the 5 s pause's end, and the error names it
    output = res.stdout + res.stderr
    assert "Traceback" not in res.stderr and "timed out after 1s" in output, (cmd, output[-300:])


@pytest.mark.parametrize(
    "cmd",
    [
        ["memory", "--rate", "3000", "--scan-count", "100"],
        ["patterns", "--rate", "3000", "--scan-count", "100"],
        ["hotkeys", "--method", "monitor", "--duration", "20s"],
    ],
)
def test_server_killed_mid_run_reports_what_it_had(tmp_path: Path, cmd: list[str]) -> None:
    server = LocalServer(dir=tmp_path).start()
    try:
        c = server.client()
        c.mset({f"k:{i}": i for i in range(30_000)})
        c.close()
        proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "rediscope",
                *cmd,
                "-p",
                str(server.port),
                "--timeout",
                "2",
                "--format",
                "json",
            ],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        started = monitor_attached if cmd[0] == "hotkeys" else scan_started
        wait_until(f"{cmd[0]} to start", lambda: started(server))
        os.kill(server.pid, 9)
        out, err = proc.communicate(timeout=30)
    finally:
        server.cleanup()
    assert proc.returncode == ExitStatus.ERROR, (cmd, err)
    doc = load_json(out)
    assert doc["complete"] is False, cmd
    assert "Traceback" not in err and "error:" in err, cmd
    assert "closed the connection" in err or "connection refused" in err, (cmd, err)
    if cmd[0] == "memory":  # what could not be read is unknown, never an invented figure
        totals = doc["totals"]
        assert totals["used_memory"] is None and totals["maxmemory"] is None, totals
        assert totals["maxmemory_policy"] is None and doc["limits_source"] == "unknown"
        assert not {"no_maxmemory", "noeviction_near_limit"} & {
            r["id"] for r in doc["recommendations"]
        }
        assert not any("CONFIG GET was denied" in n for n in doc["notes"]), doc["notes"]
