"""`clients` on a 3-primary cluster with a replica each: every node (primaries and replicas)
read, every group counted exactly as CLIENT LIST on each node says, the slow subscriber named
first, churn as counted."""

from __future__ import annotations

import socket
from collections import Counter
from collections.abc import Iterator
from typing import Any

import pytest
import redis

from rediscope.core.clients import ClientsOptions, clients
from rediscope.core.connection import ConnectionSpec
from rediscope.core.localserver import LocalServer, start_cluster
from tests.conftest import invoke, require_binary, wait_until


@pytest.fixture(scope="module")
def cluster6() -> Iterator[list[LocalServer]]:
    require_binary("redis-server")
    require_binary("redis-cli")
    servers = start_cluster(primaries=3, replicas=1)
    try:
        yield servers
    finally:
        for s in servers:
            s.cleanup()


def _role(server: LocalServer) -> str:
    c = server.client()
    try:
        return str(c.info("replication")["role"])
    finally:
        c.close()


@pytest.fixture
def apps(cluster6: list[LocalServer]) -> Iterator[dict[int, redis.Redis]]:
    """On node i: i+1 connections of app "web", 2 of "batch", an admin connection; a slow
    subscriber on the first primary."""
    opened: list[Any] = []
    admins: dict[int, redis.Redis] = {}
    try:
        for i, server in enumerate(cluster6):
            admin = redis.Redis(
                port=server.port,
                client_name="test-admin",
                decode_responses=True,
                single_connection_client=True,
            )
            admin.ping()
            admins[server.port] = admin
            opened.append(admin)
            for name, count in (("web", i + 1), ("batch", 2)):
                for _ in range(count):
                    conn = redis.Redis(port=server.port, client_name=name)
                    conn.ping()
                    opened.append(conn)
        primary = next(s for s in cluster6 if _role(s) == "master")
        sub = socket.socket()
        sub.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        sub.connect(("127.0.0.1", primary.port))
        opened.append(sub)
        sub.sendall(
            b"*3\r\n$6\r\nCLIENT\r\n$7\r\nSETNAME\r\n$6\r\nslowly\r\n"
            b"*2\r\n$9\r\nSUBSCRIBE\r\n$4\r\nfeed\r\n"
        )
        admin = admins[primary.port]

        def grown() -> bool:
            pipe = admin.pipeline(transaction=False)
            for _ in range(100):  # 8 kB: copied into the buffer on every server
                pipe.publish("feed", "y" * 8000)
            pipe.execute()
            rows = [c for c in admin.client_list() if c["name"] == "slowly"]
            return bool(rows) and int(rows[0]["omem"]) >= 2 << 20

        wait_until("the subscriber's output buffer to grow", grown)
        yield admins
    finally:
        for conn in opened:
            conn.close()


def test_every_node_every_group_counted_exactly(
    cluster6: list[LocalServer], apps: dict[int, redis.Redis]
) -> None:
    port = cluster6[0].port
    result = invoke("clients", "-p", str(port), "--window", "0", "--format", "json")
    assert result.exit_code == 0, result.stderr
    doc = result.json()
    assert len(doc["nodes"]) == 6 and not any(n["error"] for n in doc["nodes"])
    assert Counter(n["role"] for n in doc["nodes"]) == {"primary": 3, "replica": 3}
    per_node: dict[str, Counter[str]] = {}
    for server in cluster6:
        rows = apps[server.port].client_list()
        per_node[f"127.0.0.1:{server.port}"] = Counter(
            str(c["name"]) for c in rows if c["name"] != "rediscope"
        )
    for group in doc["groups"]:
        truth = {a: c[group["key"]] for a, c in per_node.items() if c[group["key"]]}
        assert group["nodes"] == truth, group["key"]
        assert group["connections"] == sum(truth.values())
    assert {g["key"] for g in doc["groups"]} == {k for c in per_node.values() for k in c}
    (host,) = doc["hosts"]  # every client of this test is on loopback
    assert host["key"] == "127.0.0.1"
    assert host["nodes"] == {a: sum(c.values()) for a, c in per_node.items()}
    web = next(g for g in doc["groups"] if g["key"] == "web")
    assert web["connections"] == sum(range(1, 7))
    first = doc["culprits"][0]
    assert (first["kind"], first["name"], first["buffer_class"]) == (
        "output_buffer",
        "slowly",
        "pubsub",
    )


def test_an_idle_app_over_every_node_is_one_culprit(
    cluster6: list[LocalServer], apps: dict[int, redis.Redis]
) -> None:
    args = ("clients", "-p", str(cluster6[0].port), "--window", "0", "--idle", "0")
    doc = invoke(*args, "--format", "json").json()
    web = next(c for c in doc["culprits"] if c["kind"] == "idle" and c["name"] == "web")
    assert web["connections"] == sum(range(1, 7)) and "on 6 nodes" in web["evidence"]
    assert web["node"] == f"127.0.0.1:{cluster6[5].port}"  # where most of them are


def test_churn_over_every_node(cluster6: list[LocalServer]) -> None:
    opened = 60

    def window(_seconds: float) -> None:  # a known number of connections, spread over nodes
        for i in range(opened):
            conn = redis.Redis(port=cluster6[i % len(cluster6)].port)
            conn.ping()
            conn.close()

    spec = ConnectionSpec(port=cluster6[0].port)
    report = clients(spec, ClientsOptions(window=1), sleep=window)
    received = report.totals.connections_received
    assert received is not None and abs(received - opened) <= opened // 10, received
    assert all(abs((n.connections_received or 0) - opened // 6) <= 1 for n in report.nodes)


@pytest.fixture
def cluster_to_break() -> Iterator[list[LocalServer]]:
    """A 3-primary cluster of its own: the test stops a node."""
    require_binary("redis-server")
    require_binary("redis-cli")
    servers = start_cluster(primaries=3)
    try:
        yield servers
    finally:
        for s in servers:
            s.cleanup()


def test_a_node_down_is_named_and_the_others_reported(cluster_to_break: list[LocalServer]) -> None:
    seed, *_, down = cluster_to_break
    down.stop()  # by PID; the others still list it
    result = invoke("clients", "-p", str(seed.port), "--window", "0", "--format", "json")
    assert result.exit_code == 1, result.stderr
    doc = result.json()
    assert doc["complete"] is False
    errors = {n["address"]: n["error"] for n in doc["nodes"]}
    assert errors.pop(f"127.0.0.1:{down.port}") and not any(errors.values())
    assert f"127.0.0.1:{down.port}" in result.stderr and "Traceback" not in result.stderr
