"""Tiers 2-3: `rediscope backup` against real servers: exact restores, faults, lock, verify."""

from __future__ import annotations

import gzip
import os
import resource
import shutil
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest
import redis

from rediscope.core.localserver import LocalServer
from rediscope.core.rdbfile.check import crc64
from rediscope.exitcodes import ExitStatus
from tests.conftest import (
    ADMIN_PASSWORD,
    assert_valid_json_output,
    invoke,
    load_json,
    run_cli,
    wait_until,
)


def test_crc64_check_value() -> None:
    assert crc64(b"123456789") == 0xE9C6D914C4B8D9CA
    assert crc64(b"6789", crc64(b"12345")) == 0xE9C6D914C4B8D9CA


def _fill(c: redis.Redis) -> None:
    """Every core type, several dbs, TTLs."""
    for db in (0, 2, 5):
        d = redis.Redis(port=c.connection_pool.connection_kwargs["port"], db=db)
        pipe = d.pipeline(transaction=False)
        for i in range(2000):
            pipe.set(f"s:{i}", f"value-{i}-{db}", ex=3600 + i if i % 3 == 0 else None)
            pipe.hset(f"h:{i % 300}", f"f{i}", i)
        pipe.rpush("list", *range(5000))
        pipe.sadd("set", *range(3000))
        pipe.sadd("iset", 1, 2, 3)
        pipe.zadd("zset", {f"m{i}": i / 3 for i in range(2500)})
        for i in range(300):
            pipe.xadd("stream", {"i": i, "db": db})
        pipe.set(b"bin:\x00\xff", b"\x00\x01\xfe\xff")
        pipe.execute()
        d.close()


def _restore(backup: Path, tmp: Path) -> LocalServer:
    """Load a backup into a fresh redis-server."""
    data = tmp / "restore"
    data.mkdir()
    with gzip.open(backup, "rb") as src, open(data / "dump.rdb", "wb") as dst:
        shutil.copyfileobj(src, dst)
    return LocalServer(dir=data, config={"enable-debug-command": "yes"}).start()


def _compare(a: LocalServer, b: LocalServer) -> None:
    ca, cb = a.client(), b.client()
    info_a, info_b = ca.info("keyspace"), cb.info("keyspace")
    assert {k: v["keys"] for k, v in info_a.items()} == {k: v["keys"] for k, v in info_b.items()}
    assert ca.execute_command("DEBUG", "DIGEST") == cb.execute_command("DEBUG", "DIGEST")
    for db in (0, 2, 5):
        da, db_ = a.client(db=db), b.client(db=db)
        for key in (b"s:0", b"s:3", b"s:1999", b"bin:\x00\xff"):
            assert da.dump(key) == db_.dump(key)
            ttl_a, ttl_b = da.pttl(key), db_.pttl(key)
            assert (ttl_a < 0) == (ttl_b < 0) and abs(ttl_a - ttl_b) < 60_000
        assert da.xlen("stream") == db_.xlen("stream") == 300
        da.close()
        db_.close()
    ca.close()
    cb.close()


@pytest.mark.parametrize("diskless", ["no", "yes"])
def test_backup_restores_exactly(tmp_path: Path, diskless: str) -> None:
    src_dir = tmp_path / "src"
    src_dir.mkdir()
    dest = tmp_path / "backups"
    dest.mkdir()
    with LocalServer(
        dir=src_dir, config={"enable-debug-command": "yes", "repl-diskless-sync": diskless}
    ) as server:
        c = server.client()
        _fill(c)
        res = invoke("backup", "run", str(dest), "-p", str(server.port), "--format", "json")
        assert res.exit_code == 0, res.stderr
        doc = assert_valid_json_output(res, "backup run")
        assert doc["files"][0]["crc_checked"] is True
        assert doc["files"][0]["keys"] == {f"db{d}": c.dbsize() for d in (0, 2, 5)}
        restored = _restore(dest / doc["files"][0]["file"], tmp_path)
        try:
            _compare(server, restored)
        finally:
            restored.cleanup()
        # the sidecar works with sha256sum -c, and silent on success
        out = subprocess.run(
            ["sha256sum", "-c", doc["files"][0]["file"] + ".sha256"],
            cwd=dest,
            capture_output=True,
            text=True,
            check=False,
        )
        assert out.returncode == 0, out.stdout
        quiet = invoke("backup", "run", str(dest), "-p", str(server.port), "--name", "q")
        assert quiet.exit_code == 0 and quiet.stdout == "" and quiet.stderr == ""
        c.close()


def test_list_verify_and_corruption(plain: LocalServer, tmp_path: Path) -> None:
    c = plain.client()
    c.mset({f"k{i}": "v" * 100 for i in range(5000)})
    for _ in range(2):
        assert invoke("backup", "run", str(tmp_path), "-p", str(plain.port)).exit_code == 0
    listing = invoke("backup", "list", str(tmp_path), "--format", "json")
    doc = assert_valid_json_output(listing, "backup list")
    assert len(doc["backups"]) == 2 and all(b["verified"] for b in doc["backups"])
    assert doc["backups"][0]["keys"] == 5000
    assert invoke("backup", "verify", str(tmp_path)).exit_code == 0
    newest = tmp_path / doc["backups"][0]["files"][0]
    raw = bytearray(newest.read_bytes())
    raw[len(raw) // 2] ^= 0xFF
    newest.write_bytes(bytes(raw))
    res = invoke("backup", "verify", str(tmp_path))
    assert res.exit_code == ExitStatus.ERROR
    assert newest.name in res.stderr and "sha256 mismatch" in res.stderr
    # a file with no sidecar (outside any backup): the RDB checks still catch it (gzip CRC or
    # RDB CRC-64)
    loose = tmp_path / "loose"
    loose.mkdir()
    (loose / newest.name).write_bytes(bytes(raw))
    res = invoke("backup", "verify", str(loose / newest.name))
    assert res.exit_code == ExitStatus.ERROR and newest.name in res.stderr
    assert ".sha256 is missing" not in res.stderr
    # inside its backup, a missing sidecar is a problem of its own, never "ok"
    older = tmp_path / doc["backups"][1]["files"][0]
    (tmp_path / f"{older.name}.sha256").unlink()
    res = invoke("backup", "verify", str(older))
    assert res.exit_code == ExitStatus.ERROR
    assert f"{older.name}.sha256 is missing" in res.stderr
    c.close()


def test_list_and_backup_age_check_the_files_not_only_the_manifest(
    plain: LocalServer, tmp_path: Path
) -> None:
    """The newest backup deleted and the others truncated: list says so, and backup_age is
    the age of the newest intact one (or CRITICAL when none is)."""
    c = plain.client()
    c.mset({f"k{i}": "v" * 100 for i in range(3000)})
    for _ in range(3):
        assert invoke("backup", "run", str(tmp_path), "-p", str(plain.port)).exit_code == 0
    backups = invoke("backup", "list", str(tmp_path), "--format", "json").json()["backups"]
    newest, middle, oldest = (tmp_path / b["files"][0] for b in backups)
    newest.unlink()
    middle.write_bytes(middle.read_bytes()[:100])
    listing = invoke("backup", "list", str(tmp_path), "--format", "json")
    doc = assert_valid_json_output(listing, "backup list")
    assert [b["state"] for b in doc["backups"]] == ["missing", "damaged", "ok"]
    assert f"{newest.name} is missing" in doc["backups"][0]["problems"]
    assert "the manifest says" in doc["backups"][1]["problems"][0]
    table = invoke("backup", "list", str(tmp_path))
    assert "MISSING" in table.stdout and "DAMAGED" in table.stdout
    assert f"missing: {backups[0]['base']}: {newest.name} is missing" in table.stderr
    age = invoke(
        "health", "-p", str(plain.port), "--window", "0", "--checks", "backup_age",
        "--backup-dir", str(tmp_path), "--format", "json",
    )  # fmt: skip
    assert age.exit_code == 0, age.stdout
    message = age.json()["checks"][0]["message"]
    assert backups[2]["base"] in message and f"newer but damaged: {newest.name}" in message
    deep = invoke("backup", "list", str(tmp_path), "--verify", "--format", "json")
    assert deep.exit_code == ExitStatus.ERROR
    assert [b["state"] for b in deep.json()["backups"]] == ["missing", "bad", "verified"]
    oldest.unlink()
    age = invoke(
        "health", "-p", str(plain.port), "--window", "0", "--checks", "backup_age",
        "--backup-dir", str(tmp_path),
    )  # fmt: skip
    assert age.exit_code == 2 and "no intact verified backup" in age.stdout
    c.close()


def _backup_proc(
    port: int, dest: Path, *extra: str, preexec: object = None
) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "rediscope", "backup", "run", str(dest), "-p", str(port), *extra],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        preexec_fn=preexec,
    )  # type: ignore[arg-type]


def _slow_server(tmp: Path) -> LocalServer:
    """Diskless SYNC that waits 3 s before it starts: a transfer we can interrupt."""
    (tmp / "slow").mkdir()
    return LocalServer(
        dir=tmp / "slow", config={"repl-diskless-sync": "yes", "repl-diskless-sync-delay": "3"}
    ).start()


def _wait_transfer(server: LocalServer, dest: Path) -> None:
    """Until a backup run is this server's replica (its SYNC sent, the transfer not started
    within the slow server's 3 s) with its temp file in DEST: an event, not a guessed delay
    (a busy machine can take longer than that to start Python)."""
    c = server.client()
    try:
        wait_until(
            "the backup's SYNC",
            lambda: (
                c.client_list(_type="replica")
                and any(p.name.startswith(".rediscope-tmp-") for p in dest.iterdir())
            ),
        )
    finally:
        c.close()


def _listed(dest: Path) -> int:
    return len(load_json(invoke("backup", "list", str(dest), "--format", "json").stdout)["backups"])


def test_killed_mid_transfer_leaves_nothing_and_next_run_cleans(tmp_path: Path) -> None:
    dest = tmp_path / "b"
    dest.mkdir()
    server = _slow_server(tmp_path)
    try:
        c = server.client()
        c.mset({f"k{i}": "v" for i in range(1000)})
        proc = _backup_proc(server.port, dest)
        _wait_transfer(server, dest)
        proc.kill()
        proc.wait()
        assert _listed(dest) == 0
        assert any(p.name.startswith(".rediscope-tmp-") for p in dest.iterdir())
        res = run_cli("backup", "run", str(dest), "-p", str(server.port), "--format", "json")
        assert res.exit_code == 0, res.stderr
        assert "interrupted run" in " ".join(res.json()["notes"])
        assert not any(p.name.startswith(".rediscope-tmp-") for p in dest.iterdir())
        assert _listed(dest) == 1
        c.close()
    finally:
        server.cleanup()


def test_two_runs_at_once_one_waits_out_with_75(tmp_path: Path) -> None:
    dest = tmp_path / "b"
    dest.mkdir()
    server = _slow_server(tmp_path)
    try:
        first = _backup_proc(server.port, dest)
        _wait_transfer(server, dest)  # the first run holds the lock
        second = run_cli("backup", "run", str(dest), "-p", str(server.port))
        assert second.exit_code == ExitStatus.BUSY
        assert f"pid {first.pid}" in second.stderr and second.stderr.count("\n") == 1
        first.communicate(timeout=30)
        assert first.returncode == 0
        assert _listed(dest) == 1
    finally:
        server.cleanup()


def test_server_closing_mid_stream_fails_cleanly(tmp_path: Path) -> None:
    dest = tmp_path / "b"
    dest.mkdir()
    server = _slow_server(tmp_path)
    try:
        admin = server.client()
        admin.set("a", 1)
        proc = _backup_proc(server.port, dest)
        _wait_transfer(server, dest)  # inside the 3 s the server waits before it sends
        admin.client_kill_filter(_type="replica")
        _, err = proc.communicate(timeout=30)
        assert proc.returncode == ExitStatus.ERROR, err
        assert "closed the connection" in err and err.count("\n") == 1
        assert _listed(dest) == 0
        assert not any(p.name.startswith(".rediscope-tmp-") for p in dest.iterdir())
        admin.close()
    finally:
        server.cleanup()


def test_disk_full_fails_keeps_old_and_prunes_nothing(plain: LocalServer, tmp_path: Path) -> None:
    c = plain.client()
    c.set("small", "x")
    assert invoke("backup", "run", str(tmp_path), "-p", str(plain.port)).exit_code == 0
    pipe = c.pipeline(transaction=False)
    for i in range(3000):
        pipe.set(f"big:{i}", os.urandom(1000))  # incompressible: the file outgrows the limit
    pipe.execute()
    time.sleep(1.05)

    def limit() -> None:
        resource.setrlimit(resource.RLIMIT_FSIZE, (200_000, 200_000))

    proc = _backup_proc(plain.port, tmp_path, "--keep-last", "1", preexec=limit)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == ExitStatus.ERROR, err
    assert "disk full" in err and err.count("\n") == 1 and "Traceback" not in err
    assert _listed(tmp_path) == 1  # the old one is still there: nothing pruned
    assert not any(p.name.startswith(".rediscope-tmp-") for p in tmp_path.iterdir())
    c.close()


def test_bgsave_method_and_auto_fallback_when_sync_is_denied(tmp_path: Path) -> None:
    data = tmp_path / "data"
    data.mkdir()
    (data / "users.acl").write_text(
        f"user default on >{ADMIN_PASSWORD} ~* &* +@all\n"
        "user backup on >bk-pass ~* +ping +info +bgsave +config|get -sync -psync\n"
    )
    dest = tmp_path / "b"
    dest.mkdir()
    with LocalServer(
        dir=data, password=ADMIN_PASSWORD, config={"aclfile": str(data / "users.acl")}
    ) as server:
        admin = server.client()
        admin.mset({f"k{i}": i for i in range(500)})
        env = {"REDISCLI_AUTH": "bk-pass"}
        res = invoke(
            "backup", "run", str(dest), "--user", "backup", "-p", str(server.port), env=env
        )
        assert res.exit_code == ExitStatus.ERROR and "SYNC" in res.stderr
        res = invoke(
            "backup",
            "run",
            str(dest),
            "--user",
            "backup",
            "-p",
            str(server.port),
            "--method",
            "auto",
            "--format",
            "json",
            env=env,
        )
        assert res.exit_code == 0, res.stderr
        doc = res.json()
        assert doc["method"] == "bgsave" and doc["files"][0]["keys"] == {"db0": 500}
        res = invoke(
            "backup",
            "run",
            str(dest),
            "-p",
            str(server.port),
            "--method",
            "bgsave",
            env={"REDISCLI_AUTH": ADMIN_PASSWORD},
        )
        assert res.exit_code == 0, res.stderr
        assert _listed(dest) == 2
        admin.close()


def test_bad_destination_and_prune_without_rules(plain: LocalServer, tmp_path: Path) -> None:
    not_dir = tmp_path / "file"
    not_dir.write_text("x")
    res = invoke("backup", "run", str(not_dir), "-p", str(plain.port))
    assert res.exit_code == ExitStatus.USAGE and "is a file" in res.stderr
    res = invoke("backup", "run", str(tmp_path / "missing"), "-p", str(plain.port))
    assert res.exit_code == ExitStatus.ERROR and "not a directory" in res.stderr
    res = invoke("backup", "prune", str(tmp_path))
    assert res.exit_code == ExitStatus.USAGE and "refusing" in res.stderr


def test_prune_dry_run_and_only_own_files(plain: LocalServer, tmp_path: Path) -> None:
    c = plain.client()
    c.set("a", 1)
    for _ in range(3):
        assert invoke("backup", "run", str(tmp_path), "-p", str(plain.port)).exit_code == 0
    stranger = tmp_path / "127.0.0.1-1-20200101T000000Z.rdb.gz"
    stranger.write_bytes(b"not ours")
    dry = invoke(
        "backup", "prune", str(tmp_path), "--keep-last", "1", "--dry-run", "--format", "json"
    ).json()
    assert len(dry["kept"]) == 1 and len(dry["removed"]) == 2 and dry["kept"][0]["keep"] == ["last"]
    assert _listed(tmp_path) == 3
    res = invoke("backup", "prune", str(tmp_path), "--keep-last", "1")
    assert res.exit_code == 0 and "removed 2" in res.stdout
    assert _listed(tmp_path) == 1 and stranger.exists()
    assert len(list(tmp_path.glob("*.rdb.gz"))) == 2  # ours + the stranger
    c.close()


def test_health_backup_age_reads_the_manifests(plain: LocalServer, tmp_path: Path) -> None:
    def backup_age(*extra: str) -> Any:
        return invoke(
            "health",
            "-p",
            str(plain.port),
            "--window",
            "0",
            "--checks",
            "backup_age",
            "--backup-dir",
            str(tmp_path),
            *extra,
        )

    res = backup_age("--format", "json")
    assert res.exit_code == 2 and "no intact verified backup" in res.json()["checks"][0]["message"]
    assert invoke("backup", "run", str(tmp_path), "-p", str(plain.port)).exit_code == 0
    res = backup_age("--format", "json")
    check = res.json()["checks"][0]
    assert res.exit_code == 0 and check["status"] == "OK" and check["value"] < 60
    assert backup_age("--warn", "backup_age=0").exit_code == 1
