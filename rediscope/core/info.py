"""INFO helpers: one call per section set, and the few derived facts every command needs."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

import redis


def info(conn: redis.Redis, *sections: str) -> dict[str, Any]:
    """INFO for the sections named (all default sections when none), parsed by redis-py.

    Several sections in one INFO call are a 7.0 feature; a server that answers it with a syntax
    error (6.2) is asked once per section in one pipeline and the answers are merged.
    """
    if len(sections) <= 1:
        result: dict[str, Any] = conn.info(*sections) if sections else conn.info()
        return result
    try:
        result = conn.info(*sections)
        return result
    except redis.ResponseError as exc:
        if "syntax error" not in str(exc).lower():
            raise
    pipe = conn.pipeline(transaction=False)
    for section in sections:
        pipe.info(section)
    merged: dict[str, Any] = {}
    for part in pipe.execute():
        merged.update(part)
    return merged


@dataclass(frozen=True)
class ServerIdentity:
    name: str  # "redis" or "valkey"
    version: str
    role: str  # "master" / "slave" as INFO says, reported as primary / replica
    cluster_enabled: bool
    run_id: str

    @property
    def role_name(self) -> Literal["primary", "replica"]:
        return "primary" if self.role == "master" else "replica"

    @property
    def version_tuple(self) -> tuple[int, ...]:
        return version_tuple(self.version)


def version_tuple(version: str) -> tuple[int, ...]:
    out = []
    for part in version.split("."):
        digits = "".join(ch for ch in part if ch.isdigit())
        out.append(int(digits) if digits else 0)
    return tuple(out)


def identity(data: dict[str, Any]) -> ServerIdentity:
    """Redis or Valkey, version, role, cluster flag, from an INFO mapping."""
    if "valkey_version" in data:
        name, version = "valkey", str(data["valkey_version"])
    else:
        name = str(data.get("server_name") or "redis").lower()
        version = str(data.get("redis_version", "unknown"))
    return ServerIdentity(
        name=name,
        version=version,
        role=str(data.get("role", "master")),
        cluster_enabled=str(data.get("cluster_enabled", "0")) == "1",
        run_id=str(data.get("run_id", "")),
    )


def keyspace_dbs(data: dict[str, Any]) -> dict[int, int]:
    """{db: keys} for the logical databases that hold keys, from INFO keyspace."""
    out = {}
    for name, value in data.items():
        if name.startswith("db") and name[2:].isdigit() and isinstance(value, dict):
            out[int(name[2:])] = int(value.get("keys", 0))
    return out
