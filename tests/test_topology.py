"""Every command on real multi-node deployments: replicas behind Sentinel, a 3+3 cluster.

The fixtures are module-scoped and the tests that change the deployment (failover, stopping
nodes) run last in each group.
"""

from __future__ import annotations

import os
import signal
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import redis

from rediscope.core.localserver import LocalServer, start_cluster
from tests.conftest import (
    SLACK,
    assert_valid_json_output,
    invoke,
    load_json,
    not_ok,
    require_binary,
    scan_calls,
    start_slow_bigkeys,
    three_primaries,
    wait_for_scans,
)


def _wait(what: str, check: object, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if check():  # type: ignore[operator]
                return
        except (redis.RedisError, OSError):
            pass
        time.sleep(0.2)
    raise AssertionError(f"timed out waiting for {what}")


@dataclass
class SentinelSet:
    primary: LocalServer
    replica: LocalServer
    sentinels: list[LocalServer]

    def args(self) -> list[str]:
        out = []
        for s in self.sentinels:
            out += ["--sentinel", f"127.0.0.1:{s.port}"]
        return [*out, "--master", "mymaster"]

    def url(self) -> str:
        hosts = ",".join(f"127.0.0.1:{s.port}" for s in self.sentinels)
        return f"redis+sentinel://{hosts}/mymaster/0"

    def current_primary_port(self) -> int:
        c = redis.Redis(port=self.sentinels[0].port)
        try:
            return int(c.execute_command("SENTINEL", "GET-MASTER-ADDR-BY-NAME", "mymaster")[1])
        finally:
            c.close()


@pytest.fixture(scope="module")
def sentinel_set(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SentinelSet]:
    require_binary("redis-server")
    root = tmp_path_factory.mktemp("sentinel")
    servers: list[LocalServer] = []
    try:
        (root / "p").mkdir()
        primary = LocalServer(dir=root / "p").start()
        servers.append(primary)
        (root / "r").mkdir()
        replica = LocalServer(
            dir=root / "r", config={"replicaof": f"127.0.0.1 {primary.port}"}
        ).start()
        servers.append(replica)
        _wait(
            "the replica link",
            lambda: replica.client().info("replication").get("master_link_status") == "up",
        )
        sentinels = []
        for i in range(3):
            (root / f"s{i}").mkdir()
            sentinels.append(
                LocalServer(
                    dir=root / f"s{i}",
                    sentinel=True,
                    config={
                        "sentinel monitor": f"mymaster 127.0.0.1 {primary.port} 2",
                        "sentinel down-after-milliseconds": "mymaster 1000",
                        "sentinel failover-timeout": "mymaster 10000",
                    },
                ).start()
            )
            servers.append(sentinels[-1])

        def ready() -> bool:
            for s in sentinels:
                c = redis.Redis(port=s.port)
                info = c.sentinel_master("mymaster")
                c.close()
                if int(info["num-other-sentinels"]) != 2 or int(info["num-slaves"]) != 1:
                    return False
            return True

        _wait("the sentinels to find each other and the replica", ready, 40)
        primary.client().mset({f"user:{i}": f"v{i}" for i in range(500)})
        primary.client().rpush("big:list", *range(3000))
        _wait("replication", lambda: replica.client().dbsize() == 501)
        yield SentinelSet(primary, replica, sentinels)
    finally:
        for s in servers:
            s.cleanup()


def test_every_command_resolves_through_sentinel(sentinel_set: SentinelSet, tmp_path: Path) -> None:
    s = sentinel_set
    args = s.args()
    res = invoke("ping", *args, "--format", "json")
    doc = assert_valid_json_output(res, "ping")
    assert doc["target"]["mode"] == "sentinel"
    assert doc["target"]["url"].startswith("redis+sentinel://")
    roles = {n["address"]: n["role"] for n in doc["target"]["nodes"]}
    assert roles == {
        f"127.0.0.1:{s.primary.port}": "primary",
        f"127.0.0.1:{s.replica.port}": "replica",
    }
    res = invoke("ping", "--url", s.url(), "--format", "json")
    assert res.exit_code == 0 and res.json()["target"]["mode"] == "sentinel"
    doc = invoke("bigkeys", *args, "--format", "json").json()
    assert doc["scan"]["keys_scanned"] == 501 and doc["keys"][0]["key"] == "big:list"
    doc = invoke("bigkeys", *args, "--replica", "--format", "json").json()
    assert [n["role"] for n in doc["scan"]["nodes"]] == ["replica"]
    assert doc["scan"]["nodes"][0]["address"] == f"127.0.0.1:{s.replica.port}"
    assert doc["scan"]["keys_scanned"] == 501
    for cmd in (
        ["memory"],
        ["patterns"],
        ["hotkeys", "--duration", "1s"],
        ["health", "--window", "0"],
    ):
        res = invoke(*cmd, *args, "--format", "json")
        assert res.exit_code == 0, (cmd, res.stdout[-500:], res.stderr)
        assert res.json()["target"]["mode"] == "sentinel", cmd
    health = invoke("health", *args, "--window", "0", "--format", "json").json()
    sentinel = next(c for c in health["checks"] if c["id"] == "sentinel")
    assert sentinel["status"] == "OK" and "3/3 sentinels up" in sentinel["message"]
    res = invoke("backup", "run", str(tmp_path), *args, "--format", "json")
    assert res.exit_code == 0, res.stderr
    assert res.json()["files"][0]["keys"] == {"db0": 501}
    res = invoke(
        "backup", "restore", str(tmp_path), *args, "--merge", "--dry-run", "--format", "json"
    )
    assert res.exit_code == 0, res.stderr
    plan = assert_valid_json_output(res, "backup restore")  # every key is there already
    assert plan["target"]["mode"] == "sentinel" and plan["skipped"]["exists"] == 501
    assert [n["node"] for n in plan["per_node"]] == [f"127.0.0.1:{s.primary.port}"]
    history = str(tmp_path / "h.sqlite")
    for _ in range(3):
        assert invoke("capacity", "record", *args, "--history", history).exit_code == 0
    doc = invoke("capacity", "report", *args, "--history", history, "--format", "json").json()
    assert doc["samples"] >= 3


def test_after_failover_the_next_run_follows_the_new_primary(sentinel_set: SentinelSet) -> None:
    s = sentinel_set
    old = s.current_primary_port()
    c = redis.Redis(port=s.sentinels[0].port)
    c.execute_command("SENTINEL", "FAILOVER", "mymaster")
    c.close()
    _wait("the failover", lambda: s.current_primary_port() != old, 30)
    new = s.current_primary_port()
    _wait("the new primary", lambda: redis.Redis(port=new).info("replication")["role"] == "master")
    doc = invoke("ping", *s.args(), "--format", "json").json()
    assert doc["role"] == "primary"
    primary = next(n for n in doc["target"]["nodes"] if n["role"] == "primary")
    assert primary["address"] == f"127.0.0.1:{new}"
    doc = invoke("bigkeys", *s.args(), "--format", "json").json()
    assert doc["scan"]["nodes"][0]["address"] == f"127.0.0.1:{new}"
    assert doc["scan"]["keys_scanned"] == 501


def test_sentinel_down_warns_and_quorum_lost_is_critical(sentinel_set: SentinelSet) -> None:
    s = sentinel_set
    s.sentinels[2].stop()
    res = invoke("health", *s.args(), "--window", "0", "--checks", "sentinel", "--format", "json")
    check = res.json()["checks"][0]
    assert res.exit_code == 1 and check["status"] == "WARNING"
    assert f"127.0.0.1:{s.sentinels[2].port}" in check["message"]
    s.sentinels[1].stop()
    res = invoke("health", *s.args(), "--window", "0", "--checks", "sentinel", "--format", "json")
    check = res.json()["checks"][0]
    assert res.exit_code == 2 and check["status"] == "CRITICAL"
    assert "quorum" in check["message"].lower()


# ---------------------------------------------------------------------------------------------
# a 3-primary + 3-replica cluster


@pytest.fixture(scope="module")
def cluster6() -> Iterator[list[LocalServer]]:
    require_binary("redis-server")
    require_binary("redis-cli")
    servers = start_cluster(primaries=3, replicas=1)
    c = redis.RedisCluster(host="127.0.0.1", port=servers[0].port)
    for i in range(0, 6000, 500):
        c.mset_nonatomic({f"k:{j}": "x" * (j % 50) for j in range(i, i + 500)})
    c.close()
    _wait("replicas to catch up", lambda: sum(s.client().dbsize() for s in servers) == 12000)
    yield servers
    for s in servers:
        s.cleanup()


def _primaries(servers: list[LocalServer]) -> list[LocalServer]:
    return [s for s in servers if s.client().info("replication")["role"] == "master"]


def test_cluster_totals_and_replica_reads(cluster6: list[LocalServer]) -> None:
    port = str(cluster6[0].port)
    truth = sum(s.client().dbsize() for s in _primaries(cluster6))
    doc = invoke("bigkeys", "-p", port, "--format", "json").json()
    assert doc["scan"]["keys_scanned"] == truth == 6000
    assert {n["role"] for n in doc["scan"]["nodes"]} == {"primary"}
    doc = invoke("bigkeys", "-p", port, "--replica", "--format", "json").json()
    assert doc["scan"]["keys_scanned"] == 6000 and len(doc["scan"]["nodes"]) == 3
    assert {n["role"] for n in doc["scan"]["nodes"]} == {"replica"}
    nodes = invoke("ping", "-p", port, "--format", "json").json()
    assert len(nodes["target"]["nodes"]) == 6
    assert all(n["slots"] for n in nodes["target"]["nodes"] if n["role"] == "primary")
    doc = invoke("memory", "-p", port, "--format", "json").json()
    assert sum(n["keys"] for n in doc["by_node"]) == 6000 and len(doc["by_node"]) == 3
    health = invoke("health", "-p", port, "--window", "0", *SLACK, "--format", "json")
    assert health.exit_code == 0, not_ok(health.json())


def test_failover_during_a_scan_still_gives_the_full_total(cluster6: list[LocalServer]) -> None:
    primaries = _primaries(cluster6)
    before = {s.port: scan_calls(s) for s in primaries}
    proc = start_slow_bigkeys(cluster6[0].port, 1500, 50)
    wait_for_scans(primaries, before)  # the scan is walking every primary
    replica = next(s for s in cluster6 if s.client().info("replication")["role"] == "slave")
    replica.client().execute_command("CLUSTER", "FAILOVER")
    _wait("the failover", lambda: replica.client().info("replication")["role"] == "master")
    # the failover happened during the scan, or this test would prove nothing
    assert proc.poll() is None, "the scan ended before the failover"
    out, err = proc.communicate(timeout=60)
    assert proc.returncode == 0, err
    doc = load_json(out)
    assert doc["complete"] is True and doc["scan"]["keys_scanned"] == 6000


@pytest.fixture
def cluster_to_break() -> Iterator[list[LocalServer]]:
    """A 3-primary cluster of its own: the test kills a node, so no other test sees it."""
    yield from three_primaries()


def test_a_node_down_makes_health_critical_naming_it(cluster_to_break: list[LocalServer]) -> None:
    victim = cluster_to_break[-1]
    addr = f"127.0.0.1:{victim.port}"
    os.kill(victim.pid, signal.SIGKILL)
    victim.process.wait()  # type: ignore[union-attr]
    seed = next(s for s in cluster_to_break if s is not victim)
    res = invoke("health", "-p", str(seed.port), "--window", "0", "--format", "json")
    assert res.exit_code == 2
    bad = [c for c in res.json()["checks"] if c["status"] == "CRITICAL"]
    assert any(c["node"] == addr for c in bad)
    assert any(c["id"] == "cluster" and addr in c["message"] for c in bad)


def test_cluster_backup_one_verified_file_per_shard_and_capacity_per_node(
    cluster: list[LocalServer], tmp_path: Path
) -> None:
    c = redis.RedisCluster(host="127.0.0.1", port=cluster[0].port)
    c.mset_nonatomic({f"bk:{i}": i for i in range(900)})
    c.close()
    port = str(cluster[0].port)
    res = invoke("backup", "run", str(tmp_path), "-p", port, "--format", "json")
    assert res.exit_code == 0, res.stderr
    doc = assert_valid_json_output(res, "backup run")
    assert len(doc["files"]) == 3 and all(f["crc_checked"] for f in doc["files"])
    assert all(f["node_id"] and f["slots"] for f in doc["files"])
    total = sum(s.client().dbsize() for s in cluster)
    assert sum(sum(f["keys"].values()) for f in doc["files"]) == total
    assert invoke("backup", "verify", str(tmp_path)).exit_code == 0
    offline = invoke("memory", "--rdb", str(tmp_path), "--format", "json").json()  # 3 files
    per_file = {f["file"]: sum(f["keys"].values()) for f in doc["files"]}
    assert {n["name"]: n["keys"] for n in offline["by_node"]} == per_file
    streamed = invoke("bigkeys", "-p", port, "--sync", "--format", "json").json()  # 3 streams
    assert len(streamed["source"]["files"]) == 3
    assert sum(t["keys"] for t in streamed["by_type"]) == total
    listing = invoke("backup", "list", str(tmp_path), "--format", "json").json()
    assert len(listing["backups"]) == 1 and len(listing["backups"][0]["files"]) == 3
    history = str(tmp_path / "h.sqlite")
    for _ in range(3):
        assert invoke("capacity", "record", "-p", port, "--history", history).exit_code == 0
        time.sleep(0.2)
    doc = invoke("capacity", "report", "-p", port, "--history", history, "--format", "json").json()
    assert len(doc["nodes"]) == 3 and doc["samples"] == 9
    assert doc["used_memory"] == sum(n["used_memory"] for n in doc["nodes"])
