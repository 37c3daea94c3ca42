"""What the target is: standalone server or cluster, and which nodes it has."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any, Literal

import redis

from rediscope.core.connection import ConnectionSpec, connect
from rediscope.core.failures import translate_errors
from rediscope.core.info import ServerIdentity, identity, info
from rediscope.core.resp import RawConnection, pairs
from rediscope.errors import RediscopeError

Role = Literal["primary", "replica"]
Mode = Literal["standalone", "cluster", "sentinel"]


@dataclass(frozen=True)
class Node:
    address: str  # host:port (or socket path)
    role: Role
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
    mode: Mode
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
    with translate_errors(spec, "CLUSTER SHARDS"):
        try:
            shards = _decode(conn.execute_command("CLUSTER SHARDS"))
        except redis.ResponseError:
            shards = None
    if shards is not None:
        nodes = [n for raw in shards for n in _shard_nodes(pairs(raw))]
    else:
        with translate_errors(spec, "CLUSTER NODES"):
            # as separate words redis-py leaves the reply raw (no parse into a dict)
            text = _decode(conn.execute_command("CLUSTER", "NODES"))
        nodes = _listed_nodes(str(text))
    return tuple(sorted(nodes, key=lambda n: (n.role != "primary", n.address)))


def _shard_nodes(shard: dict[str, Any]) -> list[Node]:
    """One CLUSTER SHARDS entry's nodes. After a failover Valkey lists the failed old primary
    in its successor's shard, still as a master: the shard's primary is the master online."""
    flat_slots = [int(s) for s in shard.get("slots", [])]
    slots = tuple(zip(flat_slots[::2], flat_slots[1::2], strict=False))
    members = [pairs(n) for n in shard.get("nodes", [])]
    masters = [m for m in members if m.get("role") == "master"]
    serving = next((m for m in masters if m.get("health") == "online"), None)
    serving = serving or (masters[0] if masters else None)
    primary_id = serving["id"] if serving else None
    nodes = []
    for m in members:
        host = m.get("ip") or m.get("endpoint") or m.get("hostname")
        port = m.get("port") or m.get("tls-port")
        role: Role = "primary" if m.get("role") == "master" else "replica"
        nodes.append(
            Node(
                address=f"{host}:{port}",
                role=role,
                node_id=m.get("id"),
                slots=slots if m is serving else (),
                primary_id=None if role == "primary" else primary_id,
                healthy=m.get("health", "online") == "online",
            )
        )
    return nodes


def _listed_nodes(text: str) -> list[Node]:
    """The nodes of a CLUSTER NODES reply (one line each)."""
    nodes = []
    for line in text.splitlines():
        parts = line.split()
        if len(parts) < 8:
            continue
        node_id, addr, flags, master = parts[0], parts[1].split("@")[0], parts[2], parts[3]
        role: Role = "primary" if "master" in flags.split(",") else "replica"
        slot_list, _marks = _slot_items(parts[8:])
        nodes.append(
            Node(
                address=addr,
                role=role,
                node_id=node_id,
                slots=slot_list,
                primary_id=None if master == "-" else master,
                healthy="fail" not in flags and parts[7] == "connected",
            )
        )
    return nodes


@contextlib.contextmanager
def discover(spec: ConnectionSpec) -> Iterator[tuple[Target, ServerIdentity, redis.Redis]]:
    """Connect to the target, identify it, and list its nodes (a cluster lists all of them);
    the connection is open inside the block and closed when it ends."""
    target, ident, conn = _discover(spec)
    try:
        yield target, ident, conn
    finally:
        conn.close()


def identify(spec: ConnectionSpec) -> tuple[Target, ServerIdentity]:
    """What `discover` finds, for a caller that needs no connection afterwards."""
    with discover(spec) as (target, ident, _conn):
        return target, ident


def _discover(spec: ConnectionSpec) -> tuple[Target, ServerIdentity, redis.Redis]:
    conn = connect(spec)
    with translate_errors(spec, "INFO"):
        data = info(conn, "server", "replication", "cluster")
    ident = identity(data)
    if ident.cluster_enabled:
        return Target(spec.redacted_url, "cluster", cluster_nodes(conn, spec)), ident, conn
    found = [Node(address=spec.address, role=ident.role_name)]
    if ident.role == "master":
        found += replica_nodes(data)
    mode: Mode = "sentinel" if spec.sentinels else "standalone"
    return Target(spec.redacted_url, mode, tuple(found)), ident, conn


def replica_nodes(replication: dict[str, Any]) -> list[Node]:
    """The online replicas of a primary, from its INFO replication."""
    out = []
    for name, value in replication.items():
        if name.startswith("slave") and isinstance(value, dict) and value.get("state") == "online":
            out.append(Node(address=f"{value['ip']}:{value['port']}", role="replica"))
    return out


# -- the slot layout of a cluster, compared before and after a scan --------------------------


@dataclass(frozen=True)
class Migration:
    """A slot in MIGRATING/IMPORTING state (a reshard in progress, or one that died half-way)."""

    slot: int
    source: str  # node id
    destination: str  # node id
    keys_source: int  # CLUSTER COUNTKEYSINSLOT on each side
    keys_destination: int


@dataclass(frozen=True)
class SlotLayout:
    """Which slots each shard serves, and the migrations that are open."""

    shard_of: dict[str, str]  # node id (primary or replica) -> its primary's node id
    slots: dict[str, tuple[tuple[int, int], ...]]  # primary node id -> its slot ranges
    addresses: dict[str, str]  # node id -> host:port
    migrations: tuple[Migration, ...] = ()
    reached: frozenset[str] = frozenset()  # node ids that answered for themselves

    def shard_slots(self, node_id: str) -> tuple[tuple[int, int], ...] | None:
        primary = self.shard_of.get(node_id)
        return None if primary is None else self.slots.get(primary, ())

    def members(self, node_id: str) -> frozenset[str]:
        primary = self.shard_of.get(node_id)
        return frozenset(n for n, p in self.shard_of.items() if p == primary)

    def migrations_of(self, node_id: str) -> frozenset[Migration]:
        """Open migrations into or out of this node's shard."""
        members = self.members(node_id)
        return frozenset(
            m for m in self.migrations if m.source in members or m.destination in members
        )

    def name(self, node_id: str) -> str:
        return self.addresses.get(node_id, node_id[:8])


@dataclass(frozen=True)
class _SelfView:
    """What one node says of itself in CLUSTER NODES (its own line is authoritative for its
    role, its slots and its open migrations; gossip about other nodes may lag)."""

    node_id: str
    primary_id: str | None  # None for a primary
    slots: tuple[tuple[int, int], ...]
    marks: tuple[tuple[int, str, bool], ...]  # (slot, peer id, True when migrating out)


def _slot_items(
    items: list[str],
) -> tuple[tuple[tuple[int, int], ...], tuple[tuple[int, str, bool], ...]]:
    """The slot fields of a CLUSTER NODES line: ranges (`0-5460`, `7`) and migration marks
    (`[7->-id]` migrating out, `[7-<-id]` importing) as (slot, peer id, migrating out)."""
    ranges: list[tuple[int, int]] = []
    marks: list[tuple[int, str, bool]] = []
    for item in items:
        if item.startswith("["):
            slot, arrow, peer = item.strip("[]").partition("->-")
            if not arrow:
                slot, _, peer = item.strip("[]").partition("-<-")
            marks.append((int(slot), peer, bool(arrow)))
        else:
            lo, _, hi = item.partition("-")
            ranges.append((int(lo), int(hi or lo)))
    return tuple(ranges), tuple(marks)


def _self_view(text: str) -> _SelfView | None:
    for line in text.splitlines():
        parts = line.split()
        if len(parts) < 8 or "myself" not in parts[2].split(","):
            continue
        primary = None if "master" in parts[2].split(",") else parts[3]
        return _SelfView(parts[0], primary, *_slot_items(parts[8:]))
    return None


def _migrations(
    found: dict[int, dict[str, str]], conns: dict[str, RawConnection]
) -> tuple[Migration, ...]:
    """Each open migration with the keys its slot holds on each side (-1: could not ask)."""
    migrations = []
    for slot, sides in sorted(found.items()):
        counts = []
        for side in ("source", "destination"):
            side_conn = conns.get(sides[side])
            try:
                n = (
                    side_conn.call(b"CLUSTER", b"COUNTKEYSINSLOT", b"%d" % slot)
                    if side_conn
                    else -1
                )
            except (redis.RedisError, OSError):
                n = -1
            counts.append(n if isinstance(n, int) else -1)
        migrations.append(Migration(slot, sides["source"], sides["destination"], *counts))
    return tuple(migrations)


def slot_layout(spec: ConnectionSpec, target: Target) -> SlotLayout:
    """The layout of a cluster target as each node states it of itself: its role and slots,
    and the open migrations with the keys on each side. A node that cannot be reached is
    described as `target` (the seed's view) has it; its own scan reports the error."""
    shard_of: dict[str, str] = {}
    slots: dict[str, tuple[tuple[int, int], ...]] = {}
    addresses: dict[str, str] = {}
    found: dict[int, dict[str, str]] = {}
    conns: dict[str, RawConnection] = {}
    reached: set[str] = set()
    try:
        for node in target.nodes:
            if node.node_id is None:
                continue
            addresses[node.node_id] = node.address
            view = None
            try:
                conn = RawConnection(node_spec(spec, node), timeout=spec.timeout)
                conns[node.node_id] = conn
                text = conn.call(b"CLUSTER", b"NODES")
                if isinstance(text, bytes):
                    view = _self_view(text.decode("utf-8", "replace"))
                if view is not None and view.node_id == node.node_id:
                    reached.add(node.node_id)
            except (redis.RedisError, OSError, RediscopeError):
                pass
            if view is None or view.node_id != node.node_id:
                view = _SelfView(node.node_id, node.primary_id, node.slots, ())
            if view.primary_id is None:
                shard_of[view.node_id] = view.node_id
                slots[view.node_id] = view.slots
            else:
                shard_of[view.node_id] = view.primary_id
            for slot, peer, out in view.marks:
                sides = found.setdefault(slot, {})
                sides["source" if out else "destination"] = view.node_id
                sides.setdefault("destination" if out else "source", peer)
        migrations = _migrations(found, conns)
    finally:
        for conn in conns.values():
            conn.close()
    return SlotLayout(
        shard_of,
        slots,
        addresses,
        migrations,
        frozenset(reached),
    )


def node_timeout_ms(spec: ConnectionSpec, target: Target) -> int:
    """cluster-node-timeout from the first node that tells (15000, Redis's default, when
    CONFIG GET is denied everywhere)."""
    for node in target.nodes:
        try:
            conn = RawConnection(node_spec(spec, node), timeout=spec.timeout)
        except (redis.RedisError, OSError, RediscopeError):
            continue
        try:
            reply = conn.call(b"CONFIG", b"GET", b"cluster-node-timeout")
        except (redis.RedisError, OSError):
            continue
        finally:
            conn.close()
        if isinstance(reply, list) and len(reply) == 2:
            return int(reply[1])
    return 15_000
