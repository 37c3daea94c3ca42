"""CLUSTER SLOT-STATS (issue 37, item 4): `top` on a Valkey 8.1 cluster shows the hottest
slots as hot_slots (by CPU time where cluster-slot-stats-enabled is on, else by keys), and
hotkeys names the slots that take the traffic. Needs ../shared (skipped with one line where
absent, failed in CI)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
import redis
from redis.crc import key_slot

from rediscope.core.localserver import SERVER_BIN_ENV, LocalServer, start_cluster
from tests.conftest import invoke, load_json
from tests.test_diagnostics_commandlog import VALKEY_81
from tests.test_modules_live import need

HOT = "hot:{slot}"


@pytest.fixture(scope="module")
def valkey_cluster() -> Iterator[list[LocalServer]]:
    """Three Valkey 8.1 primaries counting CPU time per slot, under an LFU policy, and one
    key that took most of the traffic."""
    need(VALKEY_81)
    config = {"cluster-slot-stats-enabled": "yes", "maxmemory-policy": "allkeys-lfu"}
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv(SERVER_BIN_ENV, str(VALKEY_81.parent))
        servers = start_cluster(3, config=config)
    try:
        c = redis.RedisCluster(host="127.0.0.1", port=servers[0].port)
        for i in range(30):
            c.set(f"cold:{i}", i)
        c.set(HOT, "v")
        for _ in range(500):
            c.get(HOT)
        c.close()
        yield servers
    finally:
        for server in servers:
            server.cleanup()


def top_once(servers: list[LocalServer]) -> dict[str, Any]:
    r = invoke("top", "-p", str(servers[0].port), "--once", "--interval", "0.2", "--format", "json")
    assert r.exit_code == 0, r.stderr
    return load_json(r.stdout)  # type: ignore[no-any-return]


def test_top_shows_the_hottest_slots_by_cpu_time(valkey_cluster: list[LocalServer]) -> None:
    doc = top_once(valkey_cluster)
    assert doc["hot_slots_by"] == "cpu-usec"
    first = doc["hot_slots"][0]
    assert first["slot"] == key_slot(HOT.encode()) and first["keys"] == 1
    assert first["cpu_usec"] > 0 and first["network_bytes_in"] > 0
    assert first["cpu_usec_per_s"] is not None  # seen the interval before: a rate
    assert any("CLUSTER SLOT-STATS" in n for n in doc["notes"])
    table = invoke("top", "-p", str(valkey_cluster[0].port), "--once", "--interval", "0.2")
    assert "hot slots (CLUSTER SLOT-STATS by cpu-usec)" in table.stdout


def test_without_cpu_counting_the_slots_are_ordered_by_keys(
    valkey_cluster: list[LocalServer],
) -> None:
    for server in valkey_cluster:
        server.client().config_set("cluster-slot-stats-enabled", "no")
    try:
        doc = top_once(valkey_cluster)
        assert doc["hot_slots_by"] == "key-count"
        assert doc["hot_slots"] and doc["hot_slots"][0]["cpu_usec"] is None
        assert any("cluster-slot-stats-enabled yes" in n for n in doc["notes"])
    finally:
        for server in valkey_cluster:
            server.client().config_set("cluster-slot-stats-enabled", "yes")


def test_hotkeys_names_the_slots_that_take_the_traffic(valkey_cluster: list[LocalServer]) -> None:
    r = invoke("hotkeys", "-p", str(valkey_cluster[0].port), "--method", "lfu", "--format", "json")
    assert r.exit_code == 0, r.stderr
    doc = load_json(r.stdout)
    assert doc["keys"][0]["key"] == HOT
    first = doc["hot_slots"][0]
    assert first["slot"] == key_slot(HOT.encode()) and first["hot_keys"] >= 1
    assert first["cpu_usec"] > 0 and first["node"]
    assert any("hot_slots" in n for n in doc["notes"])


def test_a_standalone_server_has_no_hot_slots(plain: LocalServer) -> None:
    doc = load_json(
        invoke(
            "top", "-p", str(plain.port), "--once", "--interval", "0.2", "--format", "json"
        ).stdout
    )
    assert doc["hot_slots"] == [] and doc["hot_slots_by"] is None


def test_a_cluster_without_slot_stats_has_none_and_is_asked_once(
    cluster: list[LocalServer],
) -> None:
    """Debian's Redis 7.0 cluster (or whatever REDISCOPE_SERVER_BIN gives) answers CLUSTER
    SLOT-STATS with an error where it lacks it: no hot slots, no note, top still works."""
    c = cluster[0].client()
    try:
        c.execute_command("CLUSTER", "SLOT-STATS", "ORDERBY", "key-count", "LIMIT", 1)
        pytest.skip("this cluster has CLUSTER SLOT-STATS (REDISCOPE_SERVER_BIN is newer)")
    except redis.ResponseError:
        pass
    doc = top_once(cluster)
    assert doc["hot_slots"] == [] and doc["hot_slots_by"] is None
    assert not any("SLOT-STATS" in n for n in doc["notes"])
