"""Tier 3: `backup restore` and `backup verify --load` against real servers: every type and
encoding back with DEBUG DIGEST equal, into every newer server of ../shared/servers and into a
cluster, and every refusal before the first write."""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
import redis
from redis.crc import key_slot

from rediscope.core.localserver import LocalServer, start_cluster
from tests.helpers import load_json, run_cli, start_server, wait_until
from tests.helpers.paths import server_builds, server_of
from tests.helpers.rdb import populate, saved
from tests.helpers.restore import restore_cli

DEBUG = {"enable-debug-command": "yes"}


def digest(c: redis.Redis) -> bytes:
    return c.execute_command("DEBUG", "DIGEST")  # type: ignore[no-any-return]


def expire_times(c: redis.Redis) -> dict[tuple[int, bytes], int]:
    """PEXPIRETIME of every key with a TTL, per (db, key) (7.0+)."""
    out = {}
    for name in c.info("keyspace"):
        db = int(str(name)[2:])
        c.execute_command("SELECT", db)
        for key in c.scan_iter(count=1000):
            at = int(c.execute_command("PEXPIRETIME", key))
            if at > 0:
                out[(db, key)] = at
    c.execute_command("SELECT", 0)
    return out


@pytest.fixture(scope="module")
def source(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalServer]:
    """The server under test, with every type and encoding it writes, LFU counters on."""
    d = tmp_path_factory.mktemp("restore-source")
    server = start_server(LocalServer(dir=d, config={**DEBUG, "maxmemory-policy": "allkeys-lfu"}))
    try:
        c = server.client()
        populate(c)
        c.set("s:huge", os.urandom(3 << 20))  # longer than the read buffer: sent in pieces
        c.rpush("l:huge", *(os.urandom(200) for _ in range(20_000)))
        for _ in range(200):
            c.get("s:small")  # an LFU counter well above a fresh key's
        c.close()
        yield server
    finally:
        server.cleanup()


@pytest.fixture
def empty(tmp_path: Path) -> Iterator[LocalServer]:
    server = start_server(
        LocalServer(dir=tmp_path, config={**DEBUG, "maxmemory-policy": "allkeys-lfu"})
    )
    try:
        yield server
    finally:
        server.cleanup()


def test_every_type_comes_back_with_the_same_digest_and_ttls(
    source: LocalServer, empty: LocalServer, tmp_path: Path
) -> None:
    r = run_cli("backup", "run", str(tmp_path), "--url", source.url)  # gzip, a manifest
    assert r.exit_code == 0, r.stderr
    code, out, err = restore_cli(tmp_path, empty.port, "--yes", "--format", "json")
    assert code == 0, err
    doc = load_json(out)
    src, dst = source.client(), empty.client()
    keys = sum(int(v["keys"]) for v in src.info("keyspace").values())
    assert doc["restored"] == keys and doc["failed"] == 0
    assert digest(dst) == digest(src)
    with contextlib.suppress(redis.ResponseError):  # 6.2: no PEXPIRETIME
        assert expire_times(dst) == expire_times(src) != {}
    hot = src.object("freq", "s:small")
    assert hot > 6 and dst.object("freq", "s:small") >= hot - 1
    functions = src.execute_command("FUNCTION", "LIST") if doc["file_rdb_version"] >= 10 else []
    assert doc["functions"]["restored"] == len(functions)
    if functions:
        assert dst.execute_command("FUNCTION", "LIST") == functions


def loaded_digest(binary: str, path: Path, tmp_path: Path) -> bytes:
    """DEBUG DIGEST of a server of BINARY that loaded PATH itself: what that version makes of
    the backup (digests of the same data differ between versions: zset scores are hashed as
    text, and 7.2 formats doubles differently)."""
    d = tmp_path / "loaded"
    d.mkdir()
    shutil.copy(path, d / "dump.rdb")
    server = start_server(LocalServer(dir=d, binary=binary, config=dict(DEBUG)))
    try:
        return digest(server.client())
    finally:
        server.cleanup()


@pytest.mark.parametrize("build", server_builds())
def test_a_backup_restores_into_every_newer_server_and_is_refused_by_an_older_one(
    source: LocalServer, build: str, tmp_path: Path
) -> None:
    binary = server_of(build)
    (tmp_path / "t").mkdir()
    target = start_server(LocalServer(dir=tmp_path / "t", binary=binary, config=dict(DEBUG)))
    try:
        path = saved(source)
        code, out, err = restore_cli(path, target.port, "--yes", "--format", "json")
        dst = target.client()
        if code == 0:
            doc = load_json(out)
            assert doc["target_rdb_version"] >= doc["payload_rdb_version"]
            assert doc["failed"] == 0
            assert digest(dst) == loaded_digest(binary, path, tmp_path)
            with contextlib.suppress(redis.ResponseError):  # 6.2: no PEXPIRETIME
                assert expire_times(dst) == expire_times(source.client())
        else:  # refused before any write, naming both versions
            assert code == 1 and "nothing was written" in err, err
            assert "the backup is RDB version" in err and "loads RDB version" in err
            assert dst.dbsize() == 0 and dst.info("keyspace") == {}
    finally:
        target.cleanup()


def test_a_newer_backup_of_old_encodings_restores_into_an_older_server(
    tmp_path: Path, empty: LocalServer
) -> None:
    (tmp_path / "w").mkdir()
    newest = server_of("redis-7.4.1")
    writer = start_server(LocalServer(dir=tmp_path / "w", binary=newest, config=dict(DEBUG)))
    try:
        c = writer.client()
        c.set("plain", "v")
        c.set("n", 42)
        path = saved(writer)
        code, out, err = restore_cli(path, empty.port, "--yes", "--format", "json")
        assert code == 0, err
        doc = load_json(out)
        if doc["target_rdb_version"] < 12:  # an older target: the payloads say its version
            assert doc["file_rdb_version"] == 12 > doc["payload_rdb_version"]
            assert "encodings it reads" in err
        assert digest(empty.client()) == digest(c)
    finally:
        writer.cleanup()


def test_a_newer_backup_with_newer_encodings_is_refused_by_an_older_server(
    tmp_path: Path, empty: LocalServer
) -> None:
    (tmp_path / "w").mkdir()
    writer = start_server(LocalServer(dir=tmp_path / "w", binary=server_of("redis-7.4.1")))
    try:
        populate(writer.client())  # listpack sets (type 20), hashes with field expiry (24, 25)
        path = saved(writer)
    finally:
        writer.cleanup()
    target = empty.client().info("server")
    if "valkey_version" not in target and _dump_version(empty.client()) >= 12:
        code, _, err = restore_cli(path, empty.port, "--yes")  # Redis 7.4 and 8.x read it
        assert code == 0, err
        return
    code, _, err = restore_cli(path, empty.port, "--yes")
    assert code == 1 and "nothing was written" in err
    version = target.get("valkey_version", target["redis_version"])
    assert "RDB version 12 (written by redis 7.4.1)" in err and version in err, err
    assert empty.client().info("keyspace") == {}


def _dump_version(c: redis.Redis) -> int:
    """The RDB version the server writes, as its DUMP payloads say (the 2 bytes before the
    CRC-64)."""
    c.set("dump:probe", "x")
    payload = c.dump("dump:probe")
    c.delete("dump:probe")
    assert isinstance(payload, bytes)
    return int.from_bytes(payload[-10:-8], "little")


def test_refusals_come_before_any_write(source: LocalServer, empty: LocalServer) -> None:
    path = saved(source)
    dst = empty.client()
    dst.set("already", "here")
    code, _, err = restore_cli(path, empty.port, "--yes")
    assert code == 1 and "already holds keys" in err and "nothing was written" in err
    assert dst.dbsize() == 1
    code, _, err = restore_cli(path, empty.port)  # stdin is not a terminal here
    assert code == 2 and "--yes" in err and dst.dbsize() == 1
    r = run_cli("backup", "restore", str(path), "--yes", env={"REDISCOPE_URL": empty.url})
    assert r.exit_code == 2 and "--url" in r.stderr and dst.dbsize() == 1
    code, out, err = restore_cli(path, empty.port, "--yes", "--merge", "--format", "json")
    doc = load_json(out)
    assert code == 0 and doc["restored"] > 0 and dst.get("already") == b"here"
    again = load_json(restore_cli(path, empty.port, "--yes", "--merge", "--format", "json")[1])
    assert again["restored"] == 0 and again["skipped"]["exists"] == doc["restored"]


def test_a_dry_run_writes_nothing(source: LocalServer, empty: LocalServer) -> None:
    path = saved(source)
    dst = empty.client()
    dst.set("s:small", "other")  # one conflict
    dst.config_resetstat()
    code, out, err = restore_cli(path, empty.port, "--dry-run", "--format", "json")
    assert code == 1 and "would be refused" in err, err  # as the restore itself would be
    doc = load_json(out)
    assert doc["refused"] and "already holds keys" in doc["refused"]
    keys = sum(int(v["keys"]) for v in source.client().info("keyspace").values())
    assert doc["dry_run"] and doc["skipped"]["exists"] == 1
    assert doc["restored"] == keys - 1
    called = {name.removeprefix("cmdstat_") for name in dst.info("commandstats")}
    writes = {c for c in called if c.split("|")[0] in ("restore", "set", "del", "function")}
    assert "exists" in called and not writes, called
    assert dst.dbsize() == 1 and dst.get("s:small") == b"other"


def test_a_database_can_be_restored_alone_into_another_db(
    source: LocalServer, empty: LocalServer
) -> None:
    code, out, err = restore_cli(
        saved(source), empty.port, "--yes", "-n", "3", "--db-map", "3:5", "--format", "json"
    )
    assert code == 0, err
    doc = load_json(out)
    dst = empty.client(db=5)
    assert dst.get("db3:key") == b"v" and 0 < dst.ttl("db3:key") <= 600
    assert empty.client().info("keyspace").keys() == {"db5"}
    assert doc["restored"] == 1 and doc["skipped"]["filtered"] > 0


def _damaged_copy(server: LocalServer, tmp_path: Path) -> tuple[Path, set[bytes]]:
    """The server's file with a key record's type byte and what follows overwritten (0xF0 is
    no value type): every key before it is whole."""
    c = server.client()
    c.flushall()
    for i in range(3000):
        c.set(f"k:{i:05d}", f"value-{i}")
    data = bytearray(saved(server).read_bytes())
    victim = b"k:01500"
    at = data.index(bytes([len(victim)]) + victim) - 1  # the record's type byte
    before = {
        k for k in server.client().scan_iter(count=1000) if data.index(bytes([len(k)]) + k) < at
    }
    data[at : at + 16] = b"\xf0" * 16
    damaged = tmp_path / "damaged.rdb"
    damaged.write_bytes(bytes(data))
    return damaged, before


def test_a_damaged_file_is_refused_and_partial_stops_at_the_damage(
    tmp_path: Path, empty: LocalServer
) -> None:
    (tmp_path / "w").mkdir()
    writer = start_server(LocalServer(dir=tmp_path / "w", config=dict(DEBUG)))
    try:
        damaged, before = _damaged_copy(writer, tmp_path)
        code, _, err = restore_cli(damaged, empty.port, "--yes")
        assert code == 1 and "at byte" in err and "nothing was written" in err
        assert empty.client().dbsize() == 0
        code, out, err = restore_cli(damaged, empty.port, "--yes", "--partial", "--format", "json")
        assert code == 1 and "at byte" in err
        doc = load_json(out)
        assert not doc["complete"] and "at byte" in doc["error"]
        dst, src = empty.client(), writer.client()
        restored = set(dst.scan_iter(count=1000))
        assert restored == before and len(restored) == doc["restored"] > 0
        assert all(dst.get(k) == src.get(k) for k in restored)
        r = run_cli("backup", "verify", str(damaged), "--load")
        assert r.exit_code == 1 and "BAD" in r.stdout
    finally:
        writer.cleanup()


def test_the_restore_drill_loads_each_backup_and_counts_its_keys(
    source: LocalServer, tmp_path: Path
) -> None:
    dest = tmp_path / "backups"
    dest.mkdir()
    r = run_cli("backup", "run", str(dest), "--url", source.url)
    assert r.exit_code == 0, r.stderr
    r = run_cli("backup", "verify", str(dest), "--load", "--deep", "--format", "json")
    assert r.exit_code == 0, r.stderr
    doc = load_json(r.stdout)
    (verdict,) = doc["files"]
    loaded = verdict["load"]
    keyspace = source.client().info("keyspace")
    assert loaded["keys"] == {db: int(v["keys"]) for db, v in keyspace.items()}
    assert loaded["keys"] == loaded["expected"] and loaded["used_memory"] > 0
    assert loaded["seconds"] is not None


@pytest.fixture(scope="module")
def restore_cluster() -> Iterator[list[LocalServer]]:
    """A 3-primary cluster of its own (restores need it empty), DEBUG on."""
    servers = start_cluster(primaries=3, config=dict(DEBUG))
    try:
        yield servers
    finally:
        for server in servers:
            server.cleanup()


def _owner(cluster: list[LocalServer], key: bytes) -> LocalServer:
    """The primary that serves KEY's slot, as the cluster itself says (CLUSTER SLOTS)."""
    slot = key_slot(key)
    for start, end, primary, *_ in cluster[0].client().execute_command("CLUSTER", "SLOTS"):
        if start <= slot <= end:
            return next(s for s in cluster if s.port == int(primary[1]))
    raise AssertionError(f"no node owns slot {slot}")


def test_a_standalone_backup_goes_into_a_cluster_and_back(
    source: LocalServer, restore_cluster: list[LocalServer], empty: LocalServer, tmp_path: Path
) -> None:
    path = saved(source)
    port = restore_cluster[0].port
    code, _, err = restore_cli(path, port, "--yes")
    assert code == 2 and "db 3" in err and "--db-map 3:0" in err
    assert all(s.client().dbsize() == 0 for s in restore_cluster)
    code, out, err = restore_cli(path, port, "--yes", "--db-map", "3:0", "--format", "json")
    assert code == 0, err
    doc = load_json(out)
    assert len(doc["per_node"]) == 3 and all(n["restored"] for n in doc["per_node"])
    src = source.client()
    expected = {}
    for db in (0, 3):
        src.execute_command("SELECT", db)
        for key in src.scan_iter(count=1000):
            expected[key] = src.execute_command("DEBUG", "DIGEST-VALUE", key)
    assert doc["restored"] == len(expected)
    for key, value in expected.items():
        owner = _owner(restore_cluster, key).client()
        assert owner.execute_command("DEBUG", "DIGEST-VALUE", key) == value, key
    backups = tmp_path / "cluster-backup"
    backups.mkdir()
    r = run_cli("backup", "run", str(backups), "--url", f"redis://127.0.0.1:{port}")
    assert r.exit_code == 0, r.stderr
    code, out, err = restore_cli(backups, empty.port, "--yes", "--format", "json")
    assert code == 0, err
    assert load_json(out)["restored"] == len(expected) == empty.client().dbsize()
    dst = empty.client()
    for key, value in expected.items():
        assert dst.execute_command("DEBUG", "DIGEST-VALUE", key) == value, key
    for s in restore_cluster:
        s.client().flushall()


def test_ctrl_c_stops_a_paced_restore_and_reports_what_was_restored(
    tmp_path: Path, empty: LocalServer
) -> None:
    (tmp_path / "w").mkdir()
    writer = start_server(LocalServer(dir=tmp_path / "w"))
    try:
        writer.client().mset({f"k:{i}": i for i in range(5000)})
        path = saved(writer)
    finally:
        writer.cleanup()
    url = f"redis://127.0.0.1:{empty.port}"
    args = ["backup", "restore", str(path), "--yes", "--url", url, "--rate", "500"]
    proc = subprocess.Popen(
        [sys.executable, "-m", "rediscope", *args, "--format", "json"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    wait_until("the first keys restored", lambda: empty.client().dbsize() >= 100)
    proc.send_signal(signal.SIGINT)
    out, err = proc.communicate(timeout=60)
    assert proc.returncode == 130, err
    assert "Traceback" not in err and "interrupted" in err
    doc = load_json(out)
    assert doc["interrupted"] and not doc["complete"]
    assert 100 <= doc["restored"] == empty.client().dbsize() < 5000


def test_keys_of_a_slot_being_migrated_follow_the_ask_redirect(
    restore_cluster: list[LocalServer], tmp_path: Path
) -> None:
    (tmp_path / "w").mkdir()
    writer = start_server(LocalServer(dir=tmp_path / "w"))
    try:
        writer.client().mset({f"{{moving}}:{i}": i for i in range(50)} | {"still": "here"})
        path = saved(writer)
    finally:
        writer.cleanup()
    slot = key_slot(b"{moving}")
    source = _owner(restore_cluster, b"{moving}")
    dest = next(s for s in restore_cluster if s is not source)
    ids = {s.port: s.client().execute_command("CLUSTER", "MYID").decode() for s in restore_cluster}
    dest.client().execute_command("CLUSTER", "SETSLOT", slot, "IMPORTING", ids[source.port])
    source.client().execute_command("CLUSTER", "SETSLOT", slot, "MIGRATING", ids[dest.port])
    try:
        code, out, err = restore_cli(path, restore_cluster[0].port, "--yes", "--format", "json")
        assert code == 0, err
        assert load_json(out)["restored"] == 51
        assert source.client().execute_command("CLUSTER", "COUNTKEYSINSLOT", slot) == 0
        assert dest.client().execute_command("CLUSTER", "COUNTKEYSINSLOT", slot) == 50
    finally:
        for s in restore_cluster:
            s.client().flushall()
        for s in (source, dest):
            s.client().execute_command("CLUSTER", "SETSLOT", slot, "NODE", ids[source.port])
