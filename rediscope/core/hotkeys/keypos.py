"""Which arguments of a command are keys: from COMMAND (the server's own table), with a built-in table of common commands where COMMAND is denied."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import hiredis
import redis

from rediscope.core.connection import ConnectionSpec
from rediscope.core.resp import RawConnection
from rediscope.errors import RediscopeError


@dataclass(frozen=True)
class CommandSpec:
    first: int
    last: int
    step: int
    write: bool
    movable: bool


#: used when COMMAND is denied: the common data commands
_FALLBACK: dict[str, tuple[int, int, int, bool]] = {
    **{
        c: (1, 1, 1, False)
        for c in (
            "get",
            "strlen",
            "getrange",
            "exists",
            "ttl",
            "pttl",
            "type",
            "hget",
            "hgetall",
            "hmget",
            "hkeys",
            "hvals",
            "hlen",
            "hexists",
            "lrange",
            "llen",
            "lindex",
            "smembers",
            "sismember",
            "scard",
            "srandmember",
            "zrange",
            "zscore",
            "zcard",
            "zrank",
            "zrangebyscore",
            "zrevrange",
            "xrange",
            "xrevrange",
            "xlen",
            "getbit",
            "bitcount",
            "pfcount",
            "dump",
            "object",
            "memory",
        )
    },
    **{
        c: (1, 1, 1, True)
        for c in (
            "set",
            "setex",
            "psetex",
            "setnx",
            "append",
            "incr",
            "incrby",
            "decr",
            "decrby",
            "incrbyfloat",
            "getset",
            "getdel",
            "getex",
            "hset",
            "hmset",
            "hsetnx",
            "hdel",
            "hincrby",
            "hincrbyfloat",
            "lpush",
            "rpush",
            "lpop",
            "rpop",
            "lset",
            "ltrim",
            "lrem",
            "linsert",
            "sadd",
            "srem",
            "spop",
            "zadd",
            "zrem",
            "zincrby",
            "zpopmin",
            "zpopmax",
            "xadd",
            "xtrim",
            "xdel",
            "expire",
            "pexpire",
            "expireat",
            "persist",
            "setbit",
            "pfadd",
            "setrange",
        )
    },
    "mget": (1, -1, 1, False),
    "mset": (1, -1, 2, True),
    "msetnx": (1, -1, 2, True),
    "del": (1, -1, 1, True),
    "unlink": (1, -1, 1, True),
    "touch": (1, -1, 1, False),
    "rename": (1, 2, 1, True),
    "sinter": (1, -1, 1, False),
    "sunion": (1, -1, 1, False),
}


#: commands whose keys follow a numkeys argument at this position
_NUMKEYS = {
    "eval": 2,
    "evalsha": 2,
    "eval_ro": 2,
    "evalsha_ro": 2,
    "fcall": 2,
    "fcall_ro": 2,
    "zunion": 1,
    "zinter": 1,
    "zdiff": 1,
    "zintercard": 1,
    "sintercard": 1,
    "lmpop": 1,
    "zmpop": 1,
    "blmpop": 2,
    "bzmpop": 2,
}


_DEST_NUMKEYS = {"zunionstore", "zinterstore", "zdiffstore"}


_CONTAINERS = {"object", "memory", "xinfo", "xgroup"}


class KeyFinder:
    """Key positions from the server's COMMAND table (or a built-in one when denied)."""

    def __init__(self, table: dict[str, CommandSpec] | None = None) -> None:
        self.table = table or {
            name: CommandSpec(f, last, s, w, False) for name, (f, last, s, w) in _FALLBACK.items()
        }

    @classmethod
    def from_server(cls, spec: ConnectionSpec) -> KeyFinder:
        """The server's COMMAND table, raw (redis-py reshapes it); built-in when denied."""
        try:
            conn = RawConnection(spec)
        except RediscopeError:
            return cls()
        try:
            raw = conn.call(b"COMMAND")
        except (redis.RedisError, OSError):
            return cls()
        finally:
            conn.close()
        if isinstance(raw, hiredis.ReplyError) or not isinstance(raw, list):
            return cls()
        table: dict[str, CommandSpec] = {}
        for entry in raw:
            _add_entry(table, entry)
        return cls(table or None)

    def is_write(self, name: str) -> bool:
        spec = self.table.get(name)
        return bool(spec and spec.write)

    def keys(self, args: tuple[bytes, ...]) -> list[bytes]:
        if not args:
            return []
        name = args[0].decode(errors="replace").lower()
        if name in _NUMKEYS:
            pos = _NUMKEYS[name]
            try:
                count = int(args[pos])
            except (IndexError, ValueError):
                return []
            return list(args[pos + 1 : pos + 1 + count])
        if name in _DEST_NUMKEYS:
            try:
                count = int(args[2])
            except (IndexError, ValueError):
                return []
            return [args[1], *args[3 : 3 + count]]
        if name in ("xread", "xreadgroup"):
            upper = [a.upper() for a in args]
            if b"STREAMS" not in upper:
                return []
            rest = args[upper.index(b"STREAMS") + 1 :]
            return list(rest[: len(rest) // 2])
        if name in _CONTAINERS and len(args) > 2:
            sub = self.table.get(f"{name}|{args[1].decode(errors='replace').lower()}")
            if sub is not None:
                return _positional(args, sub)
            return [args[2]] if name in ("object", "memory") else []
        spec = self.table.get(name)
        return _positional(args, spec) if spec else []


def _positional(args: tuple[bytes, ...], spec: CommandSpec) -> list[bytes]:
    if spec.first <= 0:
        return []
    last = spec.last if spec.last >= 0 else len(args) + spec.last
    return list(args[spec.first : last + 1 : max(spec.step, 1)])


def _add_entry(table: dict[str, CommandSpec], entry: Any) -> None:
    try:
        name = entry[0].decode() if isinstance(entry[0], bytes) else str(entry[0])
        flags = {f.decode() if isinstance(f, bytes) else str(f) for f in entry[2]}
        table[name.lower()] = CommandSpec(
            int(entry[3]), int(entry[4]), int(entry[5]), "write" in flags, "movablekeys" in flags
        )
        if len(entry) > 9 and entry[9]:
            for sub in entry[9]:
                _add_entry(table, sub)
    except (IndexError, TypeError, ValueError, AttributeError):
        pass
