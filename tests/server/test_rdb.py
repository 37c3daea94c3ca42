"""Tier 3: the RDB reader against the server that wrote the file (the ground truth), the
legacy files in tests/data against a server that loads them, and damaged files."""

from __future__ import annotations

import hashlib
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import redis

from rediscope.core.demo.keyspace import load_demo
from rediscope.core.localserver import LocalServer
from rediscope.errors import RediscopeError
from tests.helpers import load_json, run_cli, start_server
from tests.helpers.rdb import (
    LEGACY,
    populate,
    read_file,
    saved,
)

LENGTH = {"string": "STRLEN", "list": "LLEN", "set": "SCARD", "zset": "ZCARD", "hash": "HLEN"}


def live_keys(c: redis.Redis) -> dict[tuple[int, bytes], dict[str, Any]]:
    """The server's own view of every key: type, element count (XLEN for streams), expiry."""
    out = {}
    for db in c.info("keyspace"):
        n = int(str(db)[2:])
        conn = redis.Redis(
            host=c.connection_pool.connection_kwargs["host"],
            port=c.connection_pool.connection_kwargs["port"],
            db=n,
        )
        for key in conn.scan_iter(count=1000):
            t = conn.type(key).decode()
            length = conn.execute_command(LENGTH.get(t, "XLEN"), key)
            pttl = conn.pttl(key)
            out[(n, key)] = {"type": t, "elements": length, "pttl": pttl}
        conn.close()
    return out


@pytest.fixture(scope="module")
def writer(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalServer]:
    d = tmp_path_factory.mktemp("rdbwriter")
    server = start_server(LocalServer(dir=d, config={"repl-diskless-sync-delay": "0"}))
    try:
        yield server
    finally:
        server.cleanup()


def expire_times(c: redis.Redis, keys: list[tuple[int, bytes]]) -> dict[tuple[int, bytes], int]:
    """PEXPIRETIME of each key with a TTL (7.0+), read after the save: it does not move."""
    out = {}
    for db, key in keys:
        c.execute_command("SELECT", db)
        out[(db, key)] = int(c.execute_command("PEXPIRETIME", key))
    c.execute_command("SELECT", 0)
    return out


def test_every_key_of_a_saved_file_matches_the_server_that_wrote_it(writer: LocalServer) -> None:
    c = writer.client()
    c.flushall()
    populate(c)
    path = saved(writer)
    info, keys = read_file(path)
    live = live_keys(c)
    assert set(keys) == set(live)
    for ref, seen in keys.items():
        want = live[ref]
        assert (seen["type"], seen["elements"]) == (want["type"], want["elements"]), ref
        assert (seen["expire_at_ms"] is None) == (want["pttl"] < 0), ref
    with_ttl = [ref for ref, k in keys.items() if k["expire_at_ms"] is not None]
    assert with_ttl and len(with_ttl) == sum(1 for k in live.values() if k["pttl"] >= 0)
    try:
        exact = expire_times(c, with_ttl)
    except redis.ResponseError:  # 6.2: no PEXPIRETIME; the presence of a TTL was checked
        exact = {}
    for ref, at in exact.items():
        assert keys[ref]["expire_at_ms"] == at, ref
    server = c.info("server")
    writer_version = info.aux.get("valkey-ver", info.aux.get("redis-ver"))
    assert writer_version in (server["redis_version"], server.get("valkey_version"))
    assert info.complete and info.keys == len(keys)
    functions = c.execute_command("FUNCTION", "LIST") if info.rdb_version >= 10 else []
    assert info.functions == len(functions)
    c.close()


def test_lfu_counters_and_lru_idle_times_come_from_the_file(writer: LocalServer) -> None:
    c = writer.client()
    c.flushall()
    c.config_set("maxmemory-policy", "allkeys-lfu")
    c.set("hot", "v")
    c.set("cold", "v")
    for _ in range(300):
        c.get("hot")
    _, keys = read_file(saved(writer))
    assert keys[(0, b"hot")]["freq"] > keys[(0, b"cold")]["freq"]
    assert keys[(0, b"hot")]["idle"] is None
    c.config_set("maxmemory-policy", "allkeys-lru")
    c.restore("old", 0, c.dump("cold"), idletime=5000)
    _, keys = read_file(saved(writer))
    assert keys[(0, b"old")]["idle"] >= 5000 and keys[(0, b"old")]["freq"] is None
    c.config_set("maxmemory-policy", "noeviction")
    c.close()


@pytest.mark.parametrize(
    "name",
    [
        "encodings.rdb",
        "hash-zipmap.rdb",
        "hash-ziplist.rdb",
        "zset-ziplist.rdb",
        "list-quicklist.rdb",
        "scriptbackup.rdb",
    ],
)
def test_legacy_encodings_match_what_a_server_loads(name: str, tmp_path: Path) -> None:
    source = LEGACY / name
    if not source.exists():
        pytest.fail(
            f"{source} is missing: the legacy files live in tests/data (tests/data/README.md)"
        )
    shutil.copy(source, tmp_path / "dump.rdb")
    try:
        server = start_server(LocalServer(dir=tmp_path, config={"dbfilename": "dump.rdb"}))
    except RediscopeError as exc:
        if int(source.read_bytes()[5:9]) >= 10 and "loading the DB" in exc.message:
            pytest.skip(f"this server reads RDB 9 at most ({name} is newer)")
        raise
    try:
        c = server.client()
        live = live_keys(c)
        c.close()
    finally:
        server.stop()
    _, keys = read_file(source)
    assert {ref: (k["type"], k["elements"]) for ref, k in keys.items()} == {
        ref: (k["type"], k["elements"]) for ref, k in live.items()
    }


def _error_line(result: Any) -> str:
    assert result.exit_code == 1, result.stderr
    assert "Traceback" not in result.stderr
    errors = [line for line in result.stderr.splitlines() if "error:" in line]
    assert len(errors) == 1, result.stderr
    return errors[0]


def test_damaged_files_give_one_line_naming_the_offset(writer: LocalServer, tmp_path: Path) -> None:
    c = writer.client()
    c.flushall()
    populate(c)
    c.config_set("rdbcompression", "no")  # s:raw stays as it is in the file
    data = saved(writer).read_bytes()
    c.config_set("rdbcompression", "yes")
    c.close()
    truncated = tmp_path / "truncated.rdb"
    truncated.write_bytes(data[: len(data) // 2])
    line = _error_line(run_cli("memory", "--rdb", str(truncated)))
    assert "truncated" in line and "at byte" in line
    flipped = bytearray(data)
    at = data.index(b"r" * 100) + 50  # inside the value of s:raw
    flipped[at] ^= 0x01
    damaged = tmp_path / "flipped.rdb"
    damaged.write_bytes(bytes(flipped))
    line = _error_line(run_cli("bigkeys", "--rdb", str(damaged)))
    assert "CRC-64 mismatch" in line and "at byte" in line
    hostile = tmp_path / "hostile.rdb"  # a string claiming 2^60 bytes
    hostile.write_bytes(b"REDIS0011\xfe\x00\x00\x01k\x81" + (2**60).to_bytes(8, "big") + b"x" * 64)
    line = _error_line(run_cli("patterns", "--rdb", str(hostile)))
    assert "truncated" in line and "(key k)" in line
    text = tmp_path / "notes.rdb"
    text.write_text("not an RDB at all\n")
    result = run_cli("memory", "--rdb", str(text))
    assert "not an RDB file" in _error_line(result) and result.stdout == ""


def test_memory_from_the_backup_agrees_with_the_live_scan(writer: LocalServer) -> None:
    c = writer.client()
    c.flushall()
    c.close()
    load_demo(writer.port, scale=0.02)
    live = run_cli("memory", "--url", writer.url, "--samples", "0", "--format", "json").json()
    offline = run_cli("memory", "--rdb", str(saved(writer)), "--format", "json").json()
    assert offline["source"]["kind"] == "rdb" and live["source"]["kind"] == "live"
    assert offline["source"]["files"][0]["rdb_version"] >= 9
    by_type = {r["name"]: r for r in live["by_type"]}
    assert {r["name"]: r["keys"] for r in offline["by_type"]} == {
        n: r["keys"] for n, r in by_type.items()
    }
    # a pattern seen once is named after the keys met first: the file's order is not SCAN's
    assert {p["pattern"]: p["keys"] for p in offline["by_pattern"] if p["keys"] > 1} == {
        p["pattern"]: p["keys"] for p in live["by_pattern"] if p["keys"] > 1
    }
    assert sum(p["keys"] for p in offline["by_pattern"]) == live["totals"]["keys"]
    # the model rounds every allocation as jemalloc does (docs/memory.md); a server built with
    # libc malloc (the Valkey 8.1/9.1 builds here) holds its large strings in up to 20% less
    c = writer.client()
    jemalloc = str(c.info("memory").get("mem_allocator", "")).startswith("jemalloc")
    c.close()
    per_type, overall = (0.10, 0.05) if jemalloc else (0.25, 0.25)
    for row in offline["by_type"]:
        want = by_type[row["name"]]["bytes"]
        assert abs(row["bytes"] - want) <= per_type * want, (row["name"], row["bytes"], want)
    total, want_total = offline["totals"]["keys_bytes"], live["totals"]["keys_bytes"]
    assert abs(total - want_total) <= overall * want_total


def test_sync_reads_the_replication_stream_as_the_file_would_be_read(writer: LocalServer) -> None:
    c = writer.client()
    c.flushall()
    populate(c)
    c.close()
    streamed = run_cli("memory", "-p", str(writer.port), "--sync", "--format", "json").json()
    offline = run_cli("memory", "--rdb", str(saved(writer)), "--format", "json").json()
    assert streamed["complete"] and streamed["source"]["files"][0]["path"].startswith("sync://")
    assert streamed["by_type"] == offline["by_type"]
    assert streamed["by_pattern"] == offline["by_pattern"]


def test_verify_deep_parses_every_record_and_catches_damage_inside_a_value(
    tmp_path: Path,
) -> None:
    (tmp_path / "server").mkdir()
    config = {"rdbchecksum": "no", "rdbcompression": "no", "repl-diskless-sync-delay": "0"}
    writer = start_server(LocalServer(dir=tmp_path / "server", config=config))
    try:  # stopped whether the test passes or fails (a failure once left it serving)
        c = writer.client()
        populate(c)
        dest = tmp_path / "backups"
        dest.mkdir()
        ran = run_cli("backup", "run", str(dest), "-p", str(writer.port), "--compress", "none")
        assert ran.exit_code == 0, ran.stderr
        deep = run_cli("backup", "verify", str(dest), "--deep", "--format", "json").json()
        counts = deep["files"][0]["keys"]
        assert counts["db0"]["string"] == 8 and counts["db3"] == {"string": 1}
        assert sum(n for per_db in counts.values() for n in per_db.values()) == c.dbsize() + 1
        c.close()
    finally:
        writer.stop()
    (rdb,) = dest.glob("*.rdb")
    data = bytearray(rdb.read_bytes())
    was = hashlib.sha256(data).hexdigest()
    header = (8).to_bytes(4, "little") + (5).to_bytes(4, "little")  # set:ints, an intset
    at = data.index(header)
    data[at] = 3  # no intset has 3-byte integers
    rdb.write_bytes(bytes(data))
    now = hashlib.sha256(data).hexdigest()
    (rdb.parent / f"{rdb.name}.sha256").write_text(f"{now}  x\n")
    for manifest in dest.glob("*.json"):  # damage the digests do not see: only --deep finds it
        manifest.write_text(manifest.read_text().replace(was, now))
    assert run_cli("backup", "verify", str(dest)).exit_code == 0  # structure and no CRC: ok
    line = _error_line(run_cli("backup", "verify", str(dest), "--deep"))
    assert "intset" in line and "(key set:ints)" in line and "at byte" in line


def test_a_backup_directory_stdin_and_the_scan_filters(writer: LocalServer, tmp_path: Path) -> None:
    c = writer.client()
    c.flushall()
    populate(c)
    c.close()
    ran = run_cli("backup", "run", str(tmp_path), "-p", str(writer.port))  # gzip
    assert ran.exit_code == 0, ran.stderr
    hashes = run_cli(
        "bigkeys", "--rdb", str(tmp_path), "--match", "h:*", "--type", "hash", "--format", "json"
    ).json()
    assert [(t["type"], t["keys"]) for t in hashes["by_type"]] == [("hash", 3)]
    assert hashes["source"]["files"][0]["path"].endswith(".rdb.gz")
    argv = ("bigkeys", "--rdb", str(tmp_path), "-n", "0", "--sample", "5", "--format", "json")
    sample = run_cli(*argv).json()
    held = hashes["source"]["files"][0]["keys"] - 1  # db 0's size as the file states it
    assert sample["scan"]["sampled"] and sample["scan"]["keys_scanned"] == 5
    assert sample["scan"]["extrapolation"] == pytest.approx(held / 5)
    one_db = run_cli("patterns", "--rdb", str(tmp_path), "-n", "3", "--format", "json").json()
    assert [(p["pattern"], p["keys"]) for p in one_db["patterns"]] == [("db3:key", 1)]
    piped = subprocess.run(
        [sys.executable, "-m", "rediscope", "memory", "--rdb", "-", "--format", "json"],
        input=saved(writer).read_bytes(),
        capture_output=True,
        check=False,
    )
    assert piped.returncode == 0, piped.stderr
    assert (
        load_json(piped.stdout.decode())["totals"]["keys"] == hashes["source"]["files"][0]["keys"]
    )
