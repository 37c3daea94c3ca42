"""The restore target: its primaries (one, or every primary of a cluster), which one owns a
key, the RDB version each one loads (asked with a RESTORE that writes nothing), and what the
destination dbs hold before anything is written."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import hiredis
import redis
from redis.crc import key_slot

from rediscope.core.connection import ConnectionSpec
from rediscope.core.failures import is_denied, translate_errors
from rediscope.core.info import ServerIdentity
from rediscope.core.resp import RawConnection
from rediscope.core.restore.records import frame
from rediscope.core.target import Node, Target, identify, node_spec
from rediscope.errors import CommandDenied, RediscopeError, UsageError

SLOTS = 16384
#: the value of a version probe: a one-byte string (type 0, length 1, "x")
_PROBE_BODY = b"\x00\x01x"
#: newest RDB version probed for (Valkey 9 writes 80)
_NEWEST = 99


@dataclass(frozen=True)
class Primary:
    """One primary the restore writes to."""

    address: str
    spec: ConnectionSpec
    slots: tuple[tuple[int, int], ...] = ()


class RestoreTarget:
    """The server (or cluster) keys are restored into."""

    def __init__(self, spec: ConnectionSpec) -> None:
        self.spec = spec
        target, ident = identify(spec)
        self.target: Target = target
        self.identity: ServerIdentity = ident
        if ident.role != "master":
            raise UsageError(
                f"the target {spec.address} is a replica (it refuses writes)",
                "restore into its primary (or name the Sentinel set with --sentinel/--master)",
            )
        nodes = target.primaries if target.mode == "cluster" else target.nodes[:1]
        self.primaries = tuple(Primary(n.address, node_spec(spec, n), n.slots) for n in nodes)
        self._owner = self._slot_owners(target.primaries) if self.cluster else None

    @property
    def cluster(self) -> bool:
        return self.target.mode == "cluster"

    @staticmethod
    def _slot_owners(nodes: tuple[Node, ...]) -> list[int]:
        owner = [-1] * SLOTS
        for i, node in enumerate(nodes):
            for start, end in node.slots:
                owner[start : end + 1] = [i] * (end - start + 1)
        missing = owner.count(-1)
        if missing:
            raise RediscopeError(
                f"the cluster serves only {SLOTS - missing:,} of {SLOTS:,} slots",
                "fix the cluster (CLUSTER INFO: cluster_state) before restoring into it",
            )
        return owner

    def node_of(self, key: bytes) -> int:
        """The index (in primaries) of the primary that owns KEY."""
        return 0 if self._owner is None else self._owner[key_slot(key)]

    def probe_key(self, index: int) -> bytes:
        """A key name the primary INDEX owns (for its version probe)."""
        for n in range(100_000):
            key = b"rediscope:restore-probe:%d" % n
            if self.node_of(key) == index:
                return key
        raise RediscopeError("no probe key hashes to a slot of this primary")

    def connection(self, index: int) -> RawConnection:
        return RawConnection(self.primaries[index].spec)


def _probe(conn: RawConnection, key: bytes, version: int) -> bool:
    """Whether the server loads a payload of VERSION (an already-expired RESTORE: the server
    checks the payload, then writes nothing)."""
    reply = conn.call(b"RESTORE", key, b"1", frame(_PROBE_BODY, version), b"ABSTTL")
    if not isinstance(reply, hiredis.ReplyError):
        return True
    text = str(reply)
    if is_denied(reply):
        raise CommandDenied("RESTORE", text, "the restore user needs +restore (docs/security.md)")
    if "payload version" in text or "checksum" in text:
        return False
    raise RediscopeError(f"the target answered a RESTORE probe with: {text}")


def rdb_version(target: RestoreTarget, index: int, want: int) -> int:
    """The newest RDB version (up to WANT) primary INDEX loads: WANT itself when it does."""
    conn = target.connection(index)
    try:
        key = target.probe_key(index)
        with translate_errors(target.primaries[index].spec, "RESTORE"):
            if _probe(conn, key, want):
                return want
            for version in range(min(want, _NEWEST) - 1, 0, -1):
                if _probe(conn, key, version):
                    return version
    finally:
        conn.close()
    raise RediscopeError("the target accepts no RDB version for RESTORE")


def dump_version(target: RestoreTarget, index: int) -> int | None:
    """The RDB version of a DUMP of any key the primary holds (read-only; None when empty)."""
    conn = target.connection(index)
    try:
        for db in range(16):
            conn.call(b"SELECT", str(db).encode())
            key = conn.call(b"RANDOMKEY")
            if isinstance(key, bytes):
                payload = conn.call(b"DUMP", key)
                if isinstance(payload, bytes) and len(payload) >= 10:
                    return int.from_bytes(payload[-10:-8], "little")
    except (redis.RedisError, OSError):
        return None
    finally:
        conn.close()
    return None


def missing_dbs(target: RestoreTarget, dbs: set[int]) -> tuple[str, list[int], int] | None:
    """The first primary lacking one of DBS (SELECT refuses it): its address, the dbs it
    lacks, and how many dbs it has. None when every primary has them all. Db 0 every server
    has: it is not asked for (a restore user may lack +select when it needs none)."""
    dbs = dbs - {0}
    for i, primary in enumerate(target.primaries if dbs else ()):
        conn = target.connection(i)
        try:
            with translate_errors(primary.spec, "SELECT"):
                lacking = [db for db in sorted(dbs) if not _selects(conn, db)]
                if lacking:
                    return primary.address, lacking, _db_count(conn)
        finally:
            conn.close()
    return None


def _selects(conn: RawConnection, db: int) -> bool:
    """Whether the server has db DB (SELECT, which writes nothing)."""
    reply: Any = conn.call(b"SELECT", str(db).encode())
    if is_denied(reply):
        raise CommandDenied("SELECT", str(reply), "the restore user needs +select")
    return not isinstance(reply, hiredis.ReplyError)


def _db_count(conn: RawConnection) -> int:
    """How many dbs the server has (its `databases`), found with SELECT alone: CONFIG may be
    refused to the restore user."""
    have, lacks = 1, 16  # db have-1 selects; db lacks-1 is not known to
    while _selects(conn, lacks - 1):
        have, lacks = lacks, lacks * 2
        if lacks > 1 << 31:
            return have
    while lacks - have > 1:
        mid = (have + lacks) // 2
        have, lacks = (mid, lacks) if _selects(conn, mid - 1) else (have, mid)
    return have
