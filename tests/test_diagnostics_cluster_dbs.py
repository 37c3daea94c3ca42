"""Valkey 9's numbered databases in cluster mode (issue 37, item 4): the scanning commands
cover every db of every shard. Needs ../shared (skipped with one line where absent, failed
in CI)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import redis
from redis.crc import key_slot

from rediscope.core.localserver import SERVER_BIN_ENV, LocalServer, start_cluster
from tests.conftest import invoke, load_json
from tests.test_modules_live import SHARED, need

VALKEY_91 = SHARED / "servers" / "valkey-9.1.2" / "bin" / "valkey-server"
DBS = (0, 1, 2)
PER_DB = 40


@pytest.fixture(scope="module")
def valkey9_cluster() -> Iterator[list[LocalServer]]:
    """Three Valkey 9.1 primaries with 16 databases each, keys in dbs 0, 1 and 2."""
    need(VALKEY_91)
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv(SERVER_BIN_ENV, str(VALKEY_91.parent))
        servers = start_cluster(3, config={"cluster-databases": "16"})
    try:
        seed = servers[0].client()
        owner = {}
        for start, end, primary, *_ in seed.execute_command("CLUSTER", "SLOTS"):
            for slot in range(start, end + 1):
                owner[slot] = int(primary[1])
        seed.close()
        for db in DBS:
            for i in range(PER_DB):
                key = f"db{db}:item:{i}"
                c = redis.Redis(port=owner[key_slot(key.encode())], db=db)
                c.set(key, "v" * (i + db * 100))
                c.close()
        yield servers
    finally:
        for server in servers:
            server.cleanup()


@pytest.mark.parametrize("command", ["memory", "bigkeys", "patterns", "audit"])
def test_every_db_of_every_shard_is_scanned(
    valkey9_cluster: list[LocalServer], command: str
) -> None:
    r = invoke(command, "-p", str(valkey9_cluster[0].port), "--format", "json")
    assert r.exit_code in (0, 1) and "Traceback" not in r.stderr, r.stderr
    doc = load_json(r.stdout)
    scan = doc["scan"]
    assert doc["complete"] and scan["keys_scanned"] == len(DBS) * PER_DB
    assert len(scan["nodes"]) == 3
    assert {db for n in scan["nodes"] for db in n["dbs"]} == set(DBS)


def test_the_biggest_keys_of_every_db_are_described(valkey9_cluster: list[LocalServer]) -> None:
    r = invoke("bigkeys", "-p", str(valkey9_cluster[0].port), "--top", "200", "--format", "json")
    keys = load_json(r.stdout)["keys"]
    assert {k["db"] for k in keys} == set(DBS)
    assert all(k["encoding"] is not None for k in keys)  # read from the right db and shard
    one = load_json(
        invoke("memory", "-p", str(valkey9_cluster[0].port), "-n", "2", "--format", "json").stdout
    )
    assert [d["name"] for d in one["by_db"]] == ["db2"] and one["scan"]["keys_scanned"] == PER_DB
