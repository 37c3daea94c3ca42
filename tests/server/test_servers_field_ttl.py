"""A hash with field expiry (HEXPIRE: Redis 7.4+, Valkey 9) through `backup run` over SYNC,
`--rdb` and `backup restore` (issue 37 item 2): Valkey 9 sends such a hash only in its own
format, which the backup asks for."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
import redis

from rediscope.core.localserver import LocalServer
from tests.helpers.cli import load_json, run_cli
from tests.helpers.servers import start_server as _start

SMALL = {"a": "1", "b": "2", "c": "3"}  # a listpack
BIG = {f"f{i}": f"v{i}" for i in range(300)}  # a hashtable


def _has_hexpire(c: redis.Redis) -> bool:
    try:
        c.execute_command("HEXPIRE")
    except redis.ResponseError as exc:
        return "unknown command" not in str(exc).lower()
    return True


@pytest.fixture
def source(tmp_path: Path) -> Iterator[LocalServer]:
    (tmp_path / "src").mkdir()
    server = _start(LocalServer(dir=tmp_path / "src"))
    try:
        c = server.client()
        if not _has_hexpire(c):
            pytest.skip("this server has no HEXPIRE (hash field expiry: Redis 7.4+, Valkey 9)")
        c.hset("hfe:small", mapping=SMALL)
        c.execute_command("HEXPIRE", "hfe:small", 3600, "FIELDS", 1, "a")
        c.hset("hfe:big", mapping=BIG)
        c.execute_command("HEXPIRE", "hfe:big", 7200, "FIELDS", 2, "f1", "f2")
        c.set("plain", "v")
        c.close()
        yield server
    finally:
        server.cleanup()


def _field_expiry(c: redis.Redis) -> dict[tuple[bytes, bytes], int]:
    """HPEXPIRETIME of every field of the two hashes (-1: none)."""
    out = {}
    for key, fields in ((b"hfe:small", SMALL), (b"hfe:big", BIG)):
        names = list(fields)
        times = c.execute_command("HPEXPIRETIME", key, "FIELDS", len(names), *names)
        out.update({(key, f.encode()): int(t) for f, t in zip(names, times, strict=True)})
    return out


def test_a_hash_with_field_expiry_goes_through_sync_backup_rdb_and_restore(
    source: LocalServer, tmp_path: Path
) -> None:
    backups = tmp_path / "backups"
    backups.mkdir()
    r = run_cli("backup", "run", str(backups), "--url", source.url, "--method", "sync")
    assert r.exit_code == 0, r.stderr

    doc = load_json(run_cli("bigkeys", "--rdb", str(backups), "--format", "json").stdout)
    assert doc["complete"] and sum(t["keys"] for t in doc["by_type"]) == 3
    lengths = {k["key"]: k["elements"] for k in doc["top_by_elements"]}
    assert lengths["hfe:big"] == 300 and lengths["hfe:small"] == 3

    (tmp_path / "dst").mkdir()
    target = _start(LocalServer(dir=tmp_path / "dst"))
    try:
        r = run_cli("backup", "restore", str(backups), "--url", target.url, "--yes")
        assert r.exit_code == 0, r.stderr
        src, dst = source.client(), target.client()
        for key in (b"hfe:small", b"hfe:big"):
            assert dst.hgetall(key) == src.hgetall(key)
        before = _field_expiry(src)
        assert before == _field_expiry(dst)
        assert sum(1 for t in before.values() if t > 0) == 3  # a, f1, f2 kept their TTLs
    finally:
        target.cleanup()
