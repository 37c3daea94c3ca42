"""CLIENT LIST read as a stream: the reply is consumed from the socket chunk by chunk and
handed on one parsed row at a time, so 100,000 clients never sit in memory at once."""

from __future__ import annotations

from collections.abc import Iterator

import redis

from rediscope.core.clients.model import BufferClass, ClientRow
from rediscope.core.connection import CLIENT_NAME
from rediscope.core.failures import is_denied
from rediscope.core.resp import RawConnection, encode
from rediscope.errors import CommandDenied
from rediscope.exitcodes import ExitStatus

CHUNK = 1 << 16


class ClientListDenied(CommandDenied):
    """CLIENT LIST refused (ACL, renamed or disabled): nothing to report, exit 3."""

    exit_code = ExitStatus.CONNECTION


def _int(value: bytes | None, default: int = 0) -> int:
    try:
        return int(value) if value is not None else default
    except ValueError:
        return default


def buffer_class(flags: str) -> BufferClass:
    """The client-output-buffer-limit class the server applies (its getClientType)."""
    if "S" in flags and "O" not in flags:
        return "replica"
    return "pubsub" if "P" in flags else "normal"


def parse_line(line: bytes, node: str) -> ClientRow | None:
    """One `k=v k=v ...` line (None for a blank or malformed one). Names and users cannot
    hold spaces, so splitting on spaces is exact; a value may hold `=`."""
    fields = dict(part.split(b"=", 1) for part in line.rstrip(b"\r\n").split(b" ") if b"=" in part)
    if b"id" not in fields:
        return None
    addr = fields.get(b"addr", b"")
    host = addr.rpartition(b":")[0].strip(b"[]") if b":" in addr else addr
    flags = fields.get(b"flags", b"").decode("ascii", "replace")
    name = fields.get(b"name", b"")
    return ClientRow(
        node=node,
        id=_int(fields[b"id"]),
        addr=addr,
        host=host,
        name=name,
        user=fields.get(b"user", b""),
        db=_int(fields.get(b"db")),
        cmd=fields.get(b"cmd", b"").decode("utf-8", "replace"),
        age_s=_int(fields.get(b"age")),
        idle_s=_int(fields.get(b"idle")),
        flags=flags,
        sub=_int(fields.get(b"sub")),
        psub=_int(fields.get(b"psub")),
        ssub=_int(fields.get(b"ssub")),
        multi=_int(fields.get(b"multi"), -1),
        qbuf=_int(fields.get(b"qbuf")),
        omem=_int(fields.get(b"omem")),
        tot_mem=_int(fields.get(b"tot-mem")),
        buffer_class=buffer_class(flags),
        own=name == CLIENT_NAME,
    )


def split_lines(chunks: Iterator[bytes]) -> Iterator[bytes]:
    """Whole lines from a stream of chunks (a line may span chunks)."""
    rest = b""
    for chunk in chunks:
        rest += chunk
        *lines, rest = rest.split(b"\n")
        yield from lines
    if rest:
        yield rest


class _Reply:
    """The socket side of one CLIENT LIST: its header, then its body in chunks."""

    def __init__(self, conn: RawConnection) -> None:
        self.recv = conn.recv_raw
        self.buffered = b""

    def header(self) -> bytes:
        while b"\r\n" not in self.buffered:
            self._more()
        line, _, self.buffered = self.buffered.partition(b"\r\n")
        return line

    def _more(self) -> None:
        data = self.recv(CHUNK)
        if not data:
            raise redis.ConnectionError("Connection closed by server.")
        self.buffered += data

    def body(self, size: int) -> Iterator[bytes]:
        """`size` bytes of the bulk string in chunks, then its CRLF consumed."""
        left = size
        while left > 0:
            if not self.buffered:
                self._more()
            take, self.buffered = self.buffered[:left], self.buffered[left:]
            left -= len(take)
            yield take
        while len(self.buffered) < 2:
            self._more()
        self.buffered = self.buffered[2:]


def client_list(conn: RawConnection, node: str) -> Iterator[ClientRow]:
    """CLIENT LIST of one node, one row at a time. A refusal raises ClientListDenied."""
    conn.send(encode(b"CLIENT", b"LIST"))
    reply = _Reply(conn)
    head = reply.header()
    if head.startswith(b"-"):
        message = head[1:].decode("utf-8", "replace")
        if is_denied(message):
            unknown = "unknown command" in message.lower()
            reason = (
                "unknown command (renamed or disabled?)"
                if unknown
                else "the ACL user lacks permission"
            )
            raise ClientListDenied(
                f"CLIENT LIST on {node}",
                reason,
                "clients needs CLIENT LIST and INFO (+client|list +info, docs/security.md)",
            )
        raise redis.ResponseError(message)
    if not head.startswith(b"$"):
        raise redis.ResponseError(f"unexpected CLIENT LIST reply {head[:20]!r}")
    for line in split_lines(reply.body(int(head[1:]))):
        row = parse_line(line, node)
        if row is not None:
            yield row
