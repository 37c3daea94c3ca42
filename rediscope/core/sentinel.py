"""Sentinel targets: ask the sentinels which node is the primary now, and how they see it."""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

import redis

from rediscope.core.connection import ConnectionSpec, client
from rediscope.core.failures import describe_error
from rediscope.core.resp import pairs, text
from rediscope.errors import ConnectError


def sentinel_spec(spec: ConnectionSpec, host: str, port: int) -> ConnectionSpec:
    """A connection to one sentinel: its own credentials, the data nodes' TLS settings."""
    return replace(
        spec,
        scheme="rediss" if spec.tls else "redis",
        host=host,
        port=port,
        path=None,
        db=0,
        username=spec.sentinel_username,
        password=spec.sentinel_password,
        sentinels=(),
    )


def ask(spec: ConnectionSpec, host: str, port: int, *args: Any) -> Any:
    conn = client(sentinel_spec(spec, host, port))
    try:
        return conn.execute_command(*args)
    finally:
        conn.close()


def follow(spec: ConnectionSpec) -> ConnectionSpec:
    """The spec pointed at the primary the first answering sentinel names."""
    errors = []
    for host, port in spec.sentinels:
        try:
            addr = ask(spec, host, port, "SENTINEL", "GET-MASTER-ADDR-BY-NAME", spec.master_name)
        except (redis.RedisError, OSError) as exc:
            errors.append(
                f"{host}:{port}: {describe_error(exc, sentinel_spec(spec, host, port)).message}"
            )
            continue
        if not addr:
            errors.append(f"{host}:{port}: does not monitor a master named {spec.master_name!r}")
            continue
        return replace(
            spec,
            host=text(addr[0]),
            port=int(addr[1]),
            path=None,
            scheme="rediss" if spec.tls else "redis",
        )
    raise ConnectError(
        f"no sentinel could name the primary of {spec.master_name!r}: " + "; ".join(errors),
        "check --sentinel, --master and the sentinel password",
    )


def replicas(spec: ConnectionSpec) -> list[tuple[str, int, bool]]:
    """(host, port, healthy) of the replicas, from the first answering sentinel."""
    for host, port in spec.sentinels:
        try:
            raw = ask(spec, host, port, "SENTINEL", "REPLICAS", spec.master_name)
        except (redis.RedisError, OSError):
            continue
        out = []
        for entry in raw:
            d = pairs(entry)
            flags = text(d.get("flags", ""))
            out.append(
                (
                    text(d.get("ip", "")),
                    int(text(d.get("port", 0))),
                    "s_down" not in flags and "o_down" not in flags and "disconnected" not in flags,
                )
            )
        return out
    return []


@dataclass(frozen=True)
class SentinelView:
    address: str
    reachable: bool
    primary: str | None  # host:port it names
    error: str | None = None
    failover_in_progress: bool = False
    quorum_ok: bool | None = None
    quorum_message: str | None = None
    quorum: int | None = None  # the configured quorum


def views(spec: ConnectionSpec) -> list[SentinelView]:
    """How each sentinel sees the master: its address, failover state, CKQUORUM."""
    out = []
    for host, port in spec.sentinels:
        where = f"{host}:{port}"
        try:
            addr = ask(spec, host, port, "SENTINEL", "GET-MASTER-ADDR-BY-NAME", spec.master_name)
            master = pairs(ask(spec, host, port, "SENTINEL", "MASTER", spec.master_name))
            try:
                quorum = ask(spec, host, port, "SENTINEL", "CKQUORUM", spec.master_name)
                q_ok, q_msg = True, text(quorum)
            except redis.ResponseError as exc:
                q_ok, q_msg = False, str(exc)
        except (redis.RedisError, OSError) as exc:
            out.append(
                SentinelView(
                    where, False, None, describe_error(exc, sentinel_spec(spec, host, port)).message
                )
            )
            continue
        out.append(
            SentinelView(
                where,
                True,
                f"{text(addr[0])}:{int(addr[1])}" if addr else None,
                failover_in_progress="failover_in_progress" in text(master.get("flags", "")),
                quorum_ok=q_ok,
                quorum_message=q_msg,
                quorum=int(text(master["quorum"]))
                if text(master.get("quorum", "")).isdigit()
                else None,
            )
        )
    return out
