"""RESP over a raw socket for the hot paths (scan pipelines, SYNC streams, MONITOR).

The socket comes from redis-py's connection class, so AUTH, SELECT, TLS and unix sockets stay
the connection layer's; replies are parsed by hiredis in C.
"""

from __future__ import annotations

import socket
from collections.abc import Callable
from typing import Any, cast

import hiredis
import redis

from rediscope.core.connection import ConnectionSpec, client
from rediscope.core.failures import translate_errors

Arg = bytes | str | int | float
Command = tuple[Arg, ...]

#: hiredis' stub types the argument as a 1-tuple; it takes any tuple of args.
pack = cast(Callable[[Command], bytes], hiredis.pack_command)


def text(value: Any) -> str:
    """A reply value as text (bytes decoded as UTF-8, with replacement)."""
    return value.decode("utf-8", "replace") if isinstance(value, bytes) else str(value)


def pairs(flat: Any) -> dict[str, Any]:
    """A RESP2 map reply ([k1, v1, k2, v2, ...], or a dict redis-py already made) with text
    keys; the values are left as they came."""
    if isinstance(flat, dict):
        return {text(k): v for k, v in flat.items()}
    return {text(flat[i]): flat[i + 1] for i in range(0, len(flat) - 1, 2)}


def bulk(arg: bytes) -> bytes:
    return b"$%d\r\n%b\r\n" % (len(arg), arg)


def encode(*args: bytes) -> bytes:
    return b"*%d\r\n" % len(args) + b"".join(bulk(a) for a in args)


class RawConnection:
    """A connected, authenticated socket from redis-py, read with a hiredis Reader."""

    def __init__(
        self, spec: ConnectionSpec, db: int | None = None, timeout: float | None = None
    ) -> None:
        self.spec = spec
        self._client = client(spec, db=db, timeout=timeout)
        self._conn = self._client.connection_pool.make_connection()
        with translate_errors(spec):
            self._conn.connect()
        self.sock: socket.socket = self._conn._sock  # type: ignore[attr-defined]
        self.reader = hiredis.Reader()

    def send(self, data: bytes) -> None:
        self.sock.sendall(data)

    def read(self, n: int) -> list[Any]:
        """The next n replies (error replies are returned as hiredis.ReplyError values)."""
        out: list[Any] = []
        gets, feed, recv = self.reader.gets, self.reader.feed, self.sock.recv
        append = out.append
        while len(out) < n:
            reply = gets()
            if reply is False:
                data = recv(1 << 18)
                if not data:
                    raise redis.ConnectionError("Connection closed by server.")
                feed(data)
                continue
            append(reply)
        return out

    def call(self, *args: bytes) -> Any:
        self.send(encode(*args))
        return self.read(1)[0]

    def recv_raw(self, size: int) -> bytes:
        """Bytes straight from the socket (for streams that are not RESP replies); anything
        the reader had buffered is not seen here, so use it before any read()."""
        return self.sock.recv(size)

    def close(self) -> None:
        self._conn.disconnect()
        self._client.close()
