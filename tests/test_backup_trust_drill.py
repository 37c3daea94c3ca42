"""Issue 31, items 10-13: the restore drill (`backup verify --load`) keeps its throwaway
server to itself and dies with it, tells an older loader from a bad backup, fails when it
verified nothing; and verify says which check ran."""

from __future__ import annotations

import gzip
import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from rediscope.core.localserver import LocalServer, find_server_binary
from rediscope.core.rdbfile.check import crc64
from rediscope.exitcodes import ExitStatus
from tests.conftest import assert_valid_json_output, invoke, run_cli, wait_until


@pytest.fixture
def backup_dir(plain: LocalServer, tmp_path: Path) -> Path:
    dest = tmp_path / "b"
    dest.mkdir()
    plain.client().mset({f"k{i}": i for i in range(300)})
    assert invoke("backup", "run", str(dest), "-p", str(plain.port)).exit_code == 0
    return dest


@pytest.fixture
def tmpdir_env(tmp_path: Path) -> Iterator[tuple[dict[str, str], Path]]:
    """A TMPDIR of the test's own, to see what a drill leaves there."""
    tmp = tmp_path / "tmp"
    tmp.mkdir()
    yield {"TMPDIR": str(tmp)}, tmp


def _wrapper(tmp_path: Path, body: str) -> Path:
    """A --server-bin that runs BODY (with $CONF the config file) then the real server."""
    real = find_server_binary("redis-server")
    script = tmp_path / "wrapped-redis-server"
    script.write_text(f'#!/bin/sh\nCONF="$1"\n{body}\nexec "{real}" "$@"\n')
    script.chmod(0o755)
    return script


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (OSError, IndexError):
        return False
    return state not in ("Z", "X")


def test_the_drill_server_has_no_tcp_port_a_password_and_leaves_no_files(
    backup_dir: Path, tmp_path: Path, tmpdir_env: tuple[dict[str, str], Path]
) -> None:
    env, tmp = tmpdir_env
    seen = tmp_path / "seen"
    seen.mkdir()
    wrapper = _wrapper(tmp_path, f'cp "$CONF" "{seen}/conf.$$"; stat -c %a "$(dirname "$CONF")" '
                       f'> "{seen}/mode.$$"')  # fmt: skip
    res = run_cli("backup", "verify", str(backup_dir), "--load", "--server-bin", str(wrapper),
                  env=env)  # fmt: skip
    assert res.exit_code == 0, res.stderr
    confs = sorted(seen.glob("conf.*"))
    assert confs, "the drill never started its server"
    for conf in confs:
        lines = dict(ln.split(" ", 1) for ln in conf.read_text().splitlines() if ln)
        assert lines["port"] == "0" and "unixsocket" in lines
        assert len(lines["requirepass"]) >= 32
    assert {m.read_text().strip() for m in seen.glob("mode.*")} == {"700"}
    assert list(tmp.iterdir()) == []  # no work dir, no dump.rdb


@pytest.mark.parametrize("how", [signal.SIGINT, signal.SIGTERM, signal.SIGKILL])
def test_a_killed_drill_takes_its_server_with_it(
    backup_dir: Path,
    tmp_path: Path,
    tmpdir_env: tuple[dict[str, str], Path],
    how: signal.Signals,
) -> None:
    env, tmp = tmpdir_env
    mark = tmp_path / "server.pid"
    # the loading server (its dir holds the copy of the backup) stops itself before it starts,
    # so the drill is waiting on it when rediscope is killed
    wrapper = _wrapper(
        tmp_path,
        f'if [ -f "$(dirname "$CONF")/dump.rdb" ]; then echo $$ > "{mark}.tmp"; '
        f'mv "{mark}.tmp" "{mark}"; kill -STOP $$; fi',
    )
    proc = subprocess.Popen(
        [sys.executable, "-m", "rediscope", "backup", "verify", str(backup_dir), "--load",
         "--server-bin", str(wrapper)],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env={**os.environ, **env},
    )  # fmt: skip
    server_pid = 0
    try:
        wait_until("the drill to start its server", mark.exists)
        server_pid = int(mark.read_text())
        assert _alive(server_pid)
        proc.send_signal(how)
        _, err = proc.communicate(timeout=60)
        wait_until("the drill's server to die with rediscope", lambda: not _alive(server_pid))
        if how != signal.SIGKILL:
            assert proc.returncode == ExitStatus.INTERRUPTED, err
            assert "Traceback" not in err and "internal error" not in err
            assert list(tmp.iterdir()) == []
        else:  # nothing can clean up after SIGKILL but the parent-death signal; the next drill
            res = run_cli("backup", "verify", str(backup_dir), "--load", env=env)
            assert res.exit_code == 0, res.stderr
            assert list(tmp.iterdir()) == []
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        if server_pid and _alive(server_pid):
            os.kill(server_pid, signal.SIGKILL)


def _rdb(version: int, body: bytes, checksum: bool) -> bytes:
    data = f"REDIS{version:04d}".encode() + body + b"\xff"
    crc = crc64(data) if checksum else 0
    return data + crc.to_bytes(8, "little")


def test_a_backup_newer_than_the_loader_is_a_usage_error_not_bad(tmp_path: Path) -> None:
    newer = tmp_path / "newer.rdb"
    newer.write_bytes(_rdb(99, b"", checksum=True))  # an empty RDB of a version from the future
    res = invoke("backup", "verify", str(newer), "--load")
    assert res.exit_code == ExitStatus.USAGE, res.stdout + res.stderr
    assert "is older than the backup (RDB 99): use --server-bin" in res.stderr
    assert "BAD" not in res.stdout and res.stderr.count("\n") == 1


def test_the_exact_case_redis_82_backup_and_the_default_loader(tmp_path: Path) -> None:
    build = Path(__file__).resolve().parents[2] / "shared" / "servers" / "redis-8.2.3" / "bin"
    if not (build / "redis-server").exists() or os.environ.get("REDISCOPE_SERVER_BIN"):
        pytest.skip("needs shared/servers/redis-8.2.3 and the default loader")
    dest = tmp_path / "b"
    dest.mkdir()
    with LocalServer(dir=tmp_path, binary=str(build / "redis-server")) as server:
        server.client().set("a", 1)
        assert invoke("backup", "run", str(dest), "-p", str(server.port)).exit_code == 0
    res = invoke("backup", "verify", str(dest), "--load")
    if "RDB 12)" not in res.stderr and res.exit_code == 0:
        pytest.skip("the redis-server on PATH reads RDB 12")
    assert res.exit_code == ExitStatus.USAGE
    assert "is older than the backup (RDB 12): use --server-bin" in res.stderr


def test_a_drill_that_verified_nothing_fails(tmp_path: Path) -> None:
    for extra in ((), ("--load",)):
        res = invoke("backup", "verify", str(tmp_path), *extra)
        assert res.exit_code == ExitStatus.ERROR and "nothing to verify" in res.stderr
        doc = assert_valid_json_output(
            invoke("backup", "verify", str(tmp_path), *extra, "--format", "json"), "backup verify"
        )
        assert doc["ok"] is False and doc["files"] == [] and "nothing to verify" in doc["nothing"]


def test_verify_says_which_check_ran(backup_dir: Path, tmp_path: Path) -> None:
    """A garbage body ending in the EOF opcode and 8 zero bytes (checksums off) passes the
    header and EOF checks only: not in the words of a file whose CRC-64 was checked."""
    loose = tmp_path / "loose"
    loose.mkdir()
    garbage = loose / "garbage.rdb.gz"
    garbage.write_bytes(gzip.compress(_rdb(10, os.urandom(4000), checksum=False)))
    res = invoke("backup", "verify", str(garbage), "--format", "json")
    doc = assert_valid_json_output(res, "backup verify")
    assert doc["files"][0]["checks"] == ["header-eof"]
    table = invoke("backup", "verify", str(garbage))
    assert "header and EOF only" in table.stdout and "CRC-64," not in table.stdout
    assert "not its records" in table.stderr
    assert invoke("backup", "verify", str(garbage), "--deep").exit_code == ExitStatus.ERROR
    good = assert_valid_json_output(
        invoke("backup", "verify", str(backup_dir), "--format", "json"), "backup verify"
    )
    assert good["files"][0]["checks"] == ["sha256", "crc64"] and good["notes"] == []
    deep = invoke("backup", "verify", str(backup_dir), "--deep", "--load", "--format", "json")
    assert deep.json()["files"][0]["checks"] == ["sha256", "crc64", "records", "load"]
