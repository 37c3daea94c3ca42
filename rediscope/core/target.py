"""What the target is: standalone server or cluster, and which nodes it has."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import redis

from rediscope.core.connection import ConnectionSpec, connect, translate_errors
from rediscope.core.info import ServerIdentity, identity, info
from rediscope.core.resp import pairs


@dataclass(frozen=True)
class Node:
    address: str  # host:port (or socket path)
    role: str  # primary | replica
    node_id: str | None = None
    slots: tuple[tuple[int, int], ...] = ()
    primary_id: str | None = None  # for a cluster replica: its primary's node id
    healthy: bool = True

    @property
    def host(self) -> str:
        return self.address.rsplit(":", 1)[0].strip("[]")

    @property
    def port(self) -> int:
        return int(self.address.rsplit(":", 1)[1])


@dataclass(frozen=True)
class Target:
    url: str  # redacted
    mode: str  # standalone | cluster | sentinel
    nodes: tuple[Node, ...] = field(default_factory=tuple)

    @property
    def primaries(self) -> tuple[Node, ...]:
        return tuple(n for n in self.nodes if n.role == "primary")


def node_spec(spec: ConnectionSpec, node: Node | str) -> ConnectionSpec:
    """The spec for one node of the target: the seed's own spec when it is that node (which
    also covers unix sockets), else the same credentials and TLS pointed at its address."""
    address = node if isinstance(node, str) else node.address
    if address == spec.address:
        return spec
    host, port = address.rsplit(":", 1)
    return spec.for_node(host.strip("[]"), int(port))


def _decode(value: Any) -> Any:
    if isinstance(value, bytes):
        return value.decode("utf-8", "replace")
    if isinstance(value, list):
        return [_decode(v) for v in value]
    if isinstance(value, dict):
        return {_decode(k): _decode(v) for k, v in value.items()}
    return value


def cluster_nodes(conn: redis.Redis, spec: ConnectionSpec) -> tuple[Node, ...]:
    """Nodes of a cluster from CLUSTER SHARDS (7.0+), falling back to CLUSTER NODES."""
    nodes: list[Node] = []
    with translate_errors(spec, "CLUSTER SHARDS"):
        try:
            shards = _decode(conn.execute_command("CLUSTER SHARDS"))
        except redis.ResponseError:
            shards = None
    if shards is not None:
        for raw_shard in shards:
            shard = pairs(raw_shard)
            flat_slots = [int(s) for s in shard.get("slots", [])]
            slots = tuple(zip(flat_slots[::2], flat_slots[1::2], strict=False))
            members = [pairs(n) for n in shard.get("nodes", [])]
            primary_id = next((m["id"] for m in members if m.get("role") == "master"), None)
            for m in members:
                host = m.get("ip") or m.get("endpoint") or m.get("hostname")
                port = m.get("port") or m.get("tls-port")
                role = "primary" if m.get("role") == "master" else "replica"
                nodes.append(
                    Node(
                        address=f"{host}:{port}",
                        role=role,
                        node_id=m.get("id"),
                        slots=slots if role == "primary" else (),
                        primary_id=None if role == "primary" else primary_id,
                        healthy=m.get("health", "online") == "online",
                    )
                )
        return tuple(sorted(nodes, key=lambda n: (n.role != "primary", n.address)))
    with translate_errors(spec, "CLUSTER NODES"):
        text = _decode(conn.execute_command("CLUSTER NODES"))
    if isinstance(text, dict):  # redis-py may pre-parse CLUSTER NODES
        text = "\n".join(
            f"{v.get('node_id')} {k} {v.get('flags')} {v.get('master_id')} 0 0 0 "
            f"{'connected' if v.get('connected') else 'disconnected'} "
            + " ".join("-".join(s) for s in v.get("slots", []))
            for k, v in text.items()
        )
    for line in str(text).splitlines():
        parts = line.split()
        if len(parts) < 8:
            continue
        node_id, addr, flags, master = parts[0], parts[1].split("@")[0], parts[2], parts[3]
        role = "primary" if "master" in flags.split(",") else "replica"
        slot_list: list[tuple[int, int]] = []
        for item in parts[8:]:
            if item.startswith("["):
                continue
            lo, _, hi = item.partition("-")
            slot_list.append((int(lo), int(hi or lo)))
        nodes.append(
            Node(
                address=addr,
                role=role,
                node_id=node_id,
                slots=tuple(slot_list),
                primary_id=None if master == "-" else master,
                healthy="fail" not in flags and parts[7] == "connected",
            )
        )
    return tuple(sorted(nodes, key=lambda n: (n.role != "primary", n.address)))


def discover(spec: ConnectionSpec) -> tuple[Target, ServerIdentity, redis.Redis]:
    """Connect to the target, identify it, and list its nodes (a cluster lists all of them)."""
    conn = connect(spec)
    with translate_errors(spec, "INFO"):
        data = info(conn, "server", "replication", "cluster")
    ident = identity(data)
    if ident.cluster_enabled:
        return Target(spec.redacted_url, "cluster", cluster_nodes(conn, spec)), ident, conn
    found = [Node(address=spec.address, role=ident.role_name)]
    if ident.role == "master":
        found += replica_nodes(data)
    mode = "sentinel" if spec.sentinels else "standalone"
    return Target(spec.redacted_url, mode, tuple(found)), ident, conn


def replica_nodes(replication: dict[str, Any]) -> list[Node]:
    """The online replicas of a primary, from its INFO replication."""
    out = []
    for name, value in replication.items():
        if name.startswith("slave") and isinstance(value, dict) and value.get("state") == "online":
            out.append(Node(address=f"{value['ip']}:{value['port']}", role="replica"))
    return out
