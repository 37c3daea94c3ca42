"""One node of a `clients` run: its two connections (opened before the first INFO, so they are
not counted as churn), the INFO samples around the window, the buffer limits, CLIENT LIST."""

from __future__ import annotations

import contextlib
import time
from dataclasses import dataclass, field
from typing import Any, Protocol

import redis

from rediscope.core.clients.culprits import DEFAULT_LIMITS, Culprits, parse_limits
from rediscope.core.clients.groups import Groups
from rediscope.core.clients.listing import client_list
from rediscope.core.clients.model import BufferClass, BufferLimit, ClientRow, NodeClients
from rediscope.core.connection import ConnectionSpec, client
from rediscope.core.failures import describe_error
from rediscope.core.info import info
from rediscope.core.resp import RawConnection
from rediscope.core.target import Node, node_spec
from rediscope.errors import RediscopeError

SECTIONS = ("server", "clients", "stats")


class RowSink(Protocol):
    """Called with every CLIENT LIST row as it is read (`--format jsonl`)."""

    def __call__(self, row: ClientRow) -> None: ...


def _int(data: dict[str, Any] | None, name: str) -> int:
    try:
        return int((data or {}).get(name, 0))
    except (TypeError, ValueError):
        return 0


def _at_us(data: dict[str, Any], fallback: int) -> int:
    return _int(data, "server_time_usec") or fallback


@dataclass
class ClientsProbe:
    node: Node
    spec: ConnectionSpec
    conn: redis.Redis | None = None
    raw: RawConnection | None = None
    error: str | None = None
    first: dict[str, Any] | None = None
    first_at: int = 0
    last: dict[str, Any] | None = None
    last_at: int = 0
    notes: list[str] = field(default_factory=list)
    listed: int = 0
    own: int = 0
    omem_max: int = 0
    qbuf_max: int = 0
    tot_mem: int = 0

    @classmethod
    def open(cls, spec: ConnectionSpec, node: Node) -> ClientsProbe:
        probe = cls(node, node_spec(spec, node))
        try:
            probe.conn = client(probe.spec)
            probe.conn.ping()
            probe.raw = RawConnection(probe.spec)
        except (RediscopeError, redis.RedisError, OSError) as exc:
            probe.fail(exc)
        return probe

    def fail(self, exc: BaseException) -> None:
        if isinstance(exc, RediscopeError):
            self.error = exc.message
        else:
            self.error = describe_error(exc, self.spec).message
        self.close()

    def sample(self) -> dict[str, Any] | None:
        if self.conn is None:
            return None
        try:
            return info(self.conn, *SECTIONS)
        except (redis.RedisError, OSError) as exc:
            self.fail(exc)
            return None

    def start(self) -> None:
        """The first INFO sample (the window starts here)."""
        now = time.time_ns() // 1000
        self.first = self.sample()
        if self.first is not None:
            self.first_at = _at_us(self.first, now)

    def limits(self) -> dict[BufferClass, BufferLimit]:
        """client-output-buffer-limit from CONFIG GET, else Redis's defaults with a note."""
        try:
            got = self.conn.config_get("client-output-buffer-limit") if self.conn else {}
            value = next(iter(got.values()), None)
        except (redis.RedisError, OSError):
            value = None
        if value is None:
            self.notes.append(
                f"{self.node.address}: client-output-buffer-limit unknown (CONFIG GET denied): "
                "Redis's defaults assumed"
            )
            return dict(DEFAULT_LIMITS)
        return parse_limits(value.decode() if isinstance(value, bytes) else str(value))

    def read(self, groups: tuple[Groups, ...], culprits: Culprits, sink: RowSink | None) -> None:
        """CLIENT LIST, every row to each grouping and the culprits (and the sink). A failure of
        the socket is this node's; one of the sink (a closed stdout) is the caller's."""
        if self.raw is None:
            return
        culprits.limits[self.node.address] = self.limits()
        rows = client_list(self.raw, self.node.address)
        while True:
            try:
                row = next(rows, None)
            except (redis.RedisError, OSError) as exc:  # a refusal (ClientListDenied) goes up
                self.fail(exc)
                return
            if row is None:
                return
            self._count(row)
            if sink is not None:
                sink(row)
            if not row.own:
                for grouping in groups:
                    grouping.add(row)
                culprits.add(row)

    def _count(self, row: ClientRow) -> None:
        self.listed += 1
        if row.own:
            self.own += 1
            return
        self.omem_max = max(self.omem_max, row.omem)
        self.qbuf_max = max(self.qbuf_max, row.qbuf)
        self.tot_mem += row.tot_mem

    def end(self, window: bool) -> None:
        """The second INFO sample, when there is a window (the window ends here)."""
        now = time.time_ns() // 1000
        self.last = self.sample() if window else self.first
        if self.last is not None:
            self.last_at = _at_us(self.last, now)

    def result(self) -> NodeClients:
        """This node's counts (after end() and read())."""
        last = self.last
        if last is None or self.error:
            return NodeClients(address=self.node.address, role=self.node.role, error=self.error)
        maxclients = _int(last, "maxclients") or self._config_maxclients()
        connected = _int(last, "connected_clients")
        base = NodeClients(
            address=self.node.address,
            role=self.node.role,
            connected_clients=connected,
            listed=self.listed,
            own=self.own,
            maxclients=maxclients,
            maxclients_share=connected / maxclients if maxclients else None,
            blocked_clients=_int(last, "blocked_clients"),
            tracking_clients=_int(last, "tracking_clients"),
            total_connections_received=_int(last, "total_connections_received"),
            rejected_connections=_int(last, "rejected_connections"),
            omem_max=self.omem_max,
            qbuf_max=self.qbuf_max,
            tot_mem=self.tot_mem,
        )
        if last is self.first or self.first is None:
            return base
        return self._churn(base, last)

    def _churn(self, base: NodeClients, last: dict[str, Any]) -> NodeClients:
        seconds = max(self.last_at - self.first_at, 1) / 1e6
        received = _int(last, "total_connections_received") - _int(
            self.first, "total_connections_received"
        )
        rejected = _int(last, "rejected_connections") - _int(self.first, "rejected_connections")
        return NodeClients(
            **{
                **base.__dict__,
                "window_s": round(seconds, 6),
                "connections_received": received,
                "connections_per_s": round(received / seconds, 3),
                "rejected_in_window": rejected,
            }
        )

    def _config_maxclients(self) -> int | None:
        with contextlib.suppress(redis.RedisError, OSError, ValueError, TypeError):
            if self.conn is not None:
                got: Any = self.conn.config_get("maxclients")
                return int(next(iter(got.values()), 0)) or None
        return None

    def close(self) -> None:
        for closer in (self.raw, self.conn):
            with contextlib.suppress(Exception):
                if closer is not None:
                    closer.close()
        self.raw = self.conn = None
