"""Scans of a cluster whose slots move while the scan runs (resharding).

A slot migration moves keys from one primary to another one by one; a SCAN-based walk of both
nodes can count a key twice (measured on the source before it moved, then on the destination
after) or miss it (moved before the source's cursor got to it, into buckets the destination's
cursor had passed). The scanner re-reads the layout after the walk and rescans the shards whose
slots moved; these tests move slots with the same commands `redis-cli --cluster reshard` sends.
"""

from __future__ import annotations

import itertools
import os
import signal
import subprocess
import threading
import time
from collections.abc import Iterator

import pytest
import redis
from redis.crc import key_slot

from rediscope.core.bigkeys.command import bigkeys
from rediscope.core.connection import ConnectionSpec
from rediscope.core.localserver import LocalServer, start_cluster
from rediscope.core.pipeline.options import ScanOptions
from tests.helpers import (
    assert_valid_json_output,
    invoke,
    load_json,
    require_binary,
    scan_calls,
    start_slow_bigkeys,
    wait_for_scans,
    wait_until,
)
from tests.helpers.security import SECRET, apply_role

MOVING = 900  # keys in the slot of {mig}
OTHERS = 6000


@pytest.fixture(scope="module")
def cluster3() -> Iterator[list[LocalServer]]:
    require_binary("redis-server")
    require_binary("redis-cli")
    servers = start_cluster(primaries=3)
    try:
        c = redis.RedisCluster(host="127.0.0.1", port=servers[0].port)
        for i in range(0, OTHERS, 500):
            c.mset_nonatomic({f"k:{j}": "x" * (j % 50) for j in range(i, i + 500)})
        c.mset_nonatomic({f"{{mig}}:{j}": "y" * (j % 70) for j in range(MOVING)})
        c.close()
        yield servers
    finally:
        for s in servers:
            s.cleanup()


def _owner(servers: list[LocalServer], slot: int) -> LocalServer:
    for s in servers:
        if s.client().execute_command("CLUSTER", "COUNTKEYSINSLOT", slot) or _owns(s, slot):
            return s
    raise AssertionError(f"no owner for slot {slot}")


def _owns(server: LocalServer, slot: int) -> bool:
    for line in server.client().execute_command("CLUSTER", "NODES").splitlines():
        if b"myself" in line.split()[2]:
            for item in line.split()[8:]:
                if item.startswith(b"["):
                    continue
                lo, _, hi = item.partition(b"-")
                if int(lo) <= slot <= int(hi or lo):
                    return True
    return False


def _node_id(server: LocalServer) -> str:
    return str(server.client().execute_command("CLUSTER", "MYID").decode())


def _open_migration(src: LocalServer, dst: LocalServer, slot: int, keys: int | None) -> None:
    """SETSLOT IMPORTING/MIGRATING, then MIGRATE `keys` keys (all when None) in batches."""
    dst.client().execute_command("CLUSTER", "SETSLOT", slot, "IMPORTING", _node_id(src))
    src.client().execute_command("CLUSTER", "SETSLOT", slot, "MIGRATING", _node_id(dst))
    moved = 0
    while keys is None or moved < keys:
        batch = 100 if keys is None else min(100, keys - moved)
        names = src.client().execute_command("CLUSTER", "GETKEYSINSLOT", slot, batch)
        if not names:
            break
        src.client().execute_command("MIGRATE", "127.0.0.1", dst.port, "", 0, 5000, "KEYS", *names)
        moved += len(names)


def _close_migration(servers: list[LocalServer], dst: LocalServer, slot: int) -> None:
    dst_id = _node_id(dst)
    for s in [dst, *(s for s in servers if s is not dst)]:
        s.client().execute_command("CLUSTER", "SETSLOT", slot, "NODE", dst_id)


def _total_length() -> int:
    """The sum of STRLEN over the keyspace the fixture loads."""
    return sum(j % 50 for j in range(OTHERS)) + sum(j % 70 for j in range(MOVING))


def _truth(servers: list[LocalServer]) -> int:
    return sum(s.client().dbsize() for s in servers)


def _slow_scan(port: int, *extra: str) -> subprocess.Popen[str]:
    return start_slow_bigkeys(port, 1000, 50, *extra)


def test_a_slot_moved_mid_scan_is_counted_once(cluster3: list[LocalServer]) -> None:
    slot = key_slot(b"{mig}")
    src = _owner(cluster3, slot)
    dst = next(s for s in cluster3 if s is not src)
    assert _truth(cluster3) == OTHERS + MOVING
    before = {s.port: scan_calls(s) for s in cluster3}
    proc = _slow_scan(cluster3[0].port)
    wait_for_scans(cluster3, before)  # every node is part way through its keys
    _open_migration(src, dst, slot, None)
    _close_migration(cluster3, dst, slot)
    out, err = proc.communicate(timeout=90)
    assert proc.returncode == 0, err
    doc = load_json(out)
    scan = doc["scan"]
    assert doc["complete"] is True
    assert scan["keys_scanned"] == OTHERS + MOVING, scan
    assert scan["keys_scanned"] == sum(n["keys_scanned"] for n in scan["nodes"])
    assert len(scan["nodes"]) == 3  # one accepted result per shard
    assert scan["rescans"] >= 1
    rescanned = {n["address"] for n in scan["nodes"] if n["rescan"] > 0}
    assert {f"127.0.0.1:{src.port}", f"127.0.0.1:{dst.port}"} <= rescanned
    assert any(str(slot) in change for change in scan["topology_changes"])
    # the per-type totals agree with the data too: every string measured once
    strings = next(t for t in doc["by_type"] if t["type"] == "string")
    assert strings["keys"] == OTHERS + MOVING
    assert strings["elements"] == _total_length()


def test_a_migration_left_open_is_read_on_both_sides(cluster3: list[LocalServer]) -> None:
    """A reshard that died half-way leaves a slot MIGRATING on one node and IMPORTING on the
    other, its keys split between them: each side's keys are counted once (the importing side
    is read with ASKING) and the report names the open migration."""
    slot = key_slot(b"{mig}")
    src = _owner(cluster3, slot)
    dst = next(s for s in cluster3 if s is not src)
    assert _truth(cluster3) == OTHERS + MOVING
    _open_migration(src, dst, slot, MOVING // 3)
    try:
        assert dst.client().execute_command("CLUSTER", "COUNTKEYSINSLOT", slot) == MOVING // 3
        # as the least-privilege user of docs/security.md: its line covers ASKING and
        # CLUSTER COUNTKEYSINSLOT
        (user,) = {apply_role(s, "analyst", SECRET) for s in cluster3}  # on every node
        res = invoke(
            "bigkeys",
            *("-p", str(cluster3[0].port), "--user", user, "--format", "json"),
            env={"REDISCLI_AUTH": SECRET},
        )
        assert res.exit_code == 0, res.stderr
        doc = assert_valid_json_output(res, "bigkeys")
        scan = doc["scan"]
        assert scan["keys_scanned"] == OTHERS + MOVING
        assert scan["keys_asking"] == MOVING // 3
        assert scan["rescans"] == 0 and scan["keys_moved"] == 0
        assert any(
            f"slot {slot} has an open migration" in n and f"({MOVING // 3} keys)" in n
            for n in scan["topology_changes"]
        )
        text = invoke("bigkeys", "-p", str(cluster3[0].port))
        assert text.exit_code == 0 and "read with ASKING" in text.stdout
        assert f"note: slot {slot} has an open migration" in text.stderr
    finally:  # finish the reshard (closing it with keys left on the source would drop them)
        _open_migration(src, dst, slot, None)
        _close_migration(cluster3, dst, slot)
    assert _truth(cluster3) == OTHERS + MOVING


def test_a_migration_still_moving_keys_at_the_end_is_reported(cluster3: list[LocalServer]) -> None:
    """Keys keep moving after the scan and the settle wait: the result is marked incomplete
    (exit 1) and names the slot, instead of silently counting keys twice or not at all."""
    slot = key_slot(b"{mig}")
    src = _owner(cluster3, slot)
    dst = next(s for s in cluster3 if s is not src)
    assert _truth(cluster3) == OTHERS + MOVING
    before = {s.port: scan_calls(s) for s in cluster3}
    proc = _slow_scan(cluster3[0].port, "--sample", "500")
    try:
        wait_until(
            "the scan to be under way",
            lambda: any(scan_calls(s) >= before[s.port] + 2 for s in cluster3),
        )
        dst.client().execute_command("CLUSTER", "SETSLOT", slot, "IMPORTING", _node_id(src))
        src.client().execute_command("CLUSTER", "SETSLOT", slot, "MIGRATING", _node_id(dst))
        deadline = time.monotonic() + 30
        while proc.poll() is None and time.monotonic() < deadline:  # one key at a time
            names = src.client().execute_command("CLUSTER", "GETKEYSINSLOT", slot, 1)
            if names:
                src.client().execute_command(
                    "MIGRATE", "127.0.0.1", dst.port, "", 0, 5000, "KEYS", *names
                )
            time.sleep(0.02)
        out, err = proc.communicate(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate(timeout=20)
        _open_migration(src, dst, slot, None)
        _close_migration(cluster3, dst, slot)
    assert proc.returncode == 1, err
    doc = load_json(out)
    assert doc["complete"] is False
    assert any(str(slot) in n for n in doc["scan"]["topology_changes"])
    assert _truth(cluster3) == OTHERS + MOVING


@pytest.fixture
def cluster_ha() -> Iterator[list[LocalServer]]:
    """A 3-primary + 3-replica cluster of its own: the test kills a primary."""
    require_binary("redis-server")
    servers = start_cluster(primaries=3, replicas=1)
    try:
        c = redis.RedisCluster(host="127.0.0.1", port=servers[0].port)
        for i in range(0, OTHERS, 500):
            c.mset_nonatomic({f"k:{j}": "x" * (j % 50) for j in range(i, i + 500)})
        c.mset_nonatomic({f"{{mig}}:{j}": "y" * (j % 70) for j in range(MOVING)})
        c.close()
        wait_until(
            "the replicas to catch up",
            lambda: sum(s.client().dbsize() for s in servers) == 2 * (OTHERS + MOVING),
        )
        yield servers
    finally:
        for s in servers:
            s.cleanup()


def test_a_primary_killed_mid_scan_is_rescanned_on_its_promoted_replica(
    cluster_ha: list[LocalServer],
) -> None:
    """The crash kind of failover: the scan waits (bounded by cluster-node-timeout) for the
    replica to be promoted, saying so on the progress bar, drops the dead node's partial
    result and scans the shard on its new primary, so the total is still complete and exact."""
    primaries = [s for s in cluster_ha if s.client().info("replication")["role"] == "master"]
    victim = next(s for s in primaries if s is not cluster_ha[0])

    def crash() -> None:
        os.kill(victim.pid, signal.SIGKILL)  # the scan's connection to it breaks

    statuses: list[str | None] = []
    timer = threading.Timer(1.0, crash)
    timer.start()
    spec = ConnectionSpec(host="127.0.0.1", port=cluster_ha[0].port)
    report = bigkeys(
        spec,
        ScanOptions(rate=1000, scan_count=50),
        progress=lambda done, total, status=None: statuses.append(status),
    )
    timer.join()
    victim.process.wait()  # type: ignore[union-attr]
    scan = report.scan
    why = (scan.topology_changes, [(n.address, n.complete, n.error) for n in scan.nodes])
    assert report.complete and scan.keys_scanned == OTHERS + MOVING, why
    assert scan.rescans == 1 and len(scan.nodes) == 3
    assert f"127.0.0.1:{victim.port}" not in {n.address for n in scan.nodes}
    assert any(f"127.0.0.1:{victim.port} failed mid-scan" in c for c in scan.topology_changes), (
        scan.topology_changes
    )
    assert any(s and "waiting up to" in s and "replica to take over" in s for s in statuses)
    assert any(s and s.startswith("rescanning 1 shard") for s in statuses)


def test_replica_reads_during_a_reshard_count_each_key_once(
    cluster_ha: list[LocalServer],
) -> None:
    """--replica while a slot moves: the replicas follow their primaries by replication, and
    the shards involved are rescanned on replicas again."""
    primaries = [s for s in cluster_ha if s.client().info("replication")["role"] == "master"]
    slot = key_slot(b"{mig}")
    src = _owner(primaries, slot)
    dst = next(s for s in primaries if s is not src)
    replicas = [s for s in cluster_ha if s not in primaries]
    before = {s.port: scan_calls(s) for s in replicas}
    proc = _slow_scan(cluster_ha[0].port, "--replica")
    wait_for_scans(replicas, before)  # the replicas are being walked
    _open_migration(src, dst, slot, None)
    _close_migration(primaries, dst, slot)
    out, err = proc.communicate(timeout=90)
    assert proc.returncode == 0, err
    scan = load_json(out)["scan"]
    assert scan["keys_scanned"] == OTHERS + MOVING, scan["topology_changes"]
    assert {n["role"] for n in scan["nodes"]} == {"replica"} and len(scan["nodes"]) == 3
    assert scan["rescans"] >= 1


def test_discovery_falls_back_to_cluster_nodes(cluster3: list[LocalServer]) -> None:
    """Where CLUSTER SHARDS is missing (before 7.0) or denied, CLUSTER NODES gives the same
    nodes and slots."""
    try:
        cluster3[0].client().execute_command("CLUSTER", "SHARDS")
        rules = ("+@all", "-cluster|shards")  # deny it
    except redis.ResponseError:
        rules = ("+@all",)  # the server has no CLUSTER SHARDS (6.2): nothing to deny
    for s in cluster3:
        s.client().execute_command("ACL", "SETUSER", "noshards", "on", ">pw", "~*", "&*", *rules)
    res = invoke(
        "ping",
        "-p",
        str(cluster3[0].port),
        "--user",
        "noshards",
        "--format",
        "json",
        env={"REDISCLI_AUTH": "pw"},
    )
    assert res.exit_code == 0, res.stderr
    nodes = res.json()["target"]["nodes"]
    assert {n["address"] for n in nodes} == {f"127.0.0.1:{s.port}" for s in cluster3}
    covered = sorted(r for n in nodes for r in n["slots"])
    assert covered[0][0] == 0 and covered[-1][1] == 16383
    assert all(a[1] + 1 == b[0] for a, b in itertools.pairwise(covered))
