"""`rediscope hotkeys`: which keys and patterns take the traffic, sampled safely.

Methods: `server` (Redis 8.6+ HOTKEYS START/GET/STOP), `lfu` (OBJECT FREQ over a scan, under
an LFU policy), `monitor` (a bounded MONITOR window, parsed and counted per key, pattern,
command and client). `auto` picks the first that the server allows, in that order.
"""

from __future__ import annotations

import heapq
import re
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import Any, ClassVar

import hiredis
import redis

from rediscope.core.connection import ConnectionSpec, client
from rediscope.core.failures import describe_error, is_denied, translate_errors
from rediscope.core.info import info
from rediscope.core.keys import display_key
from rediscope.core.pattern_stats import eviction_policy
from rediscope.core.patterns import PatternInferer
from rediscope.core.resp import RawConnection, pairs
from rediscope.core.scanner import (
    Batch,
    Collector,
    ProgressFn,
    ScanOptions,
    ScanSummary,
    run_scan,
)
from rediscope.core.target import Node, Target, discover, node_spec
from rediscope.errors import CommandDenied, RediscopeError, UsageError

LFU_INIT = 5  # a new key's LFU counter

# ---------------------------------------------------------------------------------------------
# MONITOR lines

_LINE = re.compile(rb"^(\d+\.\d+) \[(\d+) ([^\]]*)\] (.*)$", re.DOTALL)
_UNESCAPE = {
    ord("n"): b"\n",
    ord("r"): b"\r",
    ord("t"): b"\t",
    ord("a"): b"\a",
    ord("b"): b"\b",
    ord('"'): b'"',
    ord("\\"): b"\\",
}


@dataclass(frozen=True)
class MonitorEvent:
    ts: float
    db: int
    client: str  # "127.0.0.1:5555", "unix:/path", "lua"
    args: tuple[bytes, ...]


def parse_args(text: bytes) -> tuple[bytes, ...]:
    """MONITOR's quoted arguments: `"set" "k\\"ey" "\\x00\\xff"` -> (b'set', b'k"ey', ...)."""
    out: list[bytes] = []
    i, n = 0, len(text)
    while i < n:
        while i < n and text[i] == 0x20:
            i += 1
        if i >= n:
            break
        if text[i] != 0x22:  # not quoted: up to the next space (never emitted by Redis)
            j = text.find(b" ", i)
            j = n if j < 0 else j
            out.append(text[i:j])
            i = j
            continue
        i += 1
        buf = bytearray()
        while i < n:
            c = text[i]
            if c == 0x5C and i + 1 < n:  # backslash
                nxt = text[i + 1]
                if nxt == ord("x") and i + 3 < n:
                    try:
                        buf.append(int(text[i + 2 : i + 4], 16))
                        i += 4
                        continue
                    except ValueError:
                        pass
                buf += _UNESCAPE.get(nxt, bytes([nxt]))
                i += 2
                continue
            if c == 0x22:
                i += 1
                break
            buf.append(c)
            i += 1
        out.append(bytes(buf))
    return tuple(out)


def parse_line(line: bytes) -> MonitorEvent | None:
    """One MONITOR line; None for anything that is not a command (e.g. the initial OK)."""
    m = _LINE.match(line)
    if not m:
        return None
    return MonitorEvent(
        ts=float(m.group(1)),
        db=int(m.group(2)),
        client=m.group(3).decode(errors="replace"),
        args=parse_args(m.group(4)),
    )


# ---------------------------------------------------------------------------------------------
# which arguments are keys


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


# ---------------------------------------------------------------------------------------------
# counting with bounded memory


class TopCounter:
    """Counts with bounded memory: past `capacity` entries, the least counted half is dropped
    (their counts become the error bound `dropped_max`); heavy hitters survive."""

    def __init__(self, capacity: int = 20_000) -> None:
        self.capacity = capacity
        self.counts: dict[Any, list[int]] = {}  # key -> [hits, reads, writes]
        self.dropped_max = 0

    def add(self, key: Any, write: bool) -> None:
        slot = self.counts.get(key)
        if slot is None:
            if len(self.counts) >= 2 * self.capacity:
                self._shrink()
            slot = self.counts[key] = [0, 0, 0]
        slot[0] += 1
        slot[2 if write else 1] += 1

    def _shrink(self) -> None:
        ordered = sorted(self.counts.items(), key=lambda kv: kv[1][0])
        cut = len(ordered) - self.capacity
        self.dropped_max = max(self.dropped_max, ordered[cut - 1][1][0])
        self.counts = dict(ordered[cut:])

    def merge(self, other: TopCounter) -> None:
        for key, (h, r, w) in other.counts.items():
            slot = self.counts.setdefault(key, [0, 0, 0])
            slot[0] += h
            slot[1] += r
            slot[2] += w
        self.dropped_max = max(self.dropped_max, other.dropped_max)

    def top(self, n: int) -> list[tuple[Any, list[int]]]:
        return heapq.nlargest(n, self.counts.items(), key=lambda kv: (kv[1][0], str(kv[0])))


# ---------------------------------------------------------------------------------------------
# the report


@dataclass(frozen=True)
class HotKey:
    key: bytes
    db: int
    node: str
    hits: int | None
    reads: int | None
    writes: int | None
    share: float | None
    freq: int | None = None  # LFU counter (method lfu)
    pattern: str | None = None


@dataclass(frozen=True)
class HotPattern:
    pattern: str
    hits: int
    reads: int
    writes: int
    share: float


@dataclass(frozen=True)
class Share:
    name: str
    calls: int
    share: float


@dataclass(frozen=True)
class Flag:
    key: str
    share: float
    hints: tuple[str, ...]


@dataclass(frozen=True)
class HotkeysReport:
    command: ClassVar[str] = "hotkeys"
    target: Target
    complete: bool
    method: str
    reason: str
    window_s: float
    commands_seen: int
    ops_per_s: float | None
    keys: tuple[HotKey, ...]
    patterns: tuple[HotPattern, ...]
    commands: tuple[Share, ...]
    clients: tuple[Share, ...]
    flagged: tuple[Flag, ...]
    scan: ScanSummary | None = None
    notes: tuple[str, ...] = ()
    lfu: dict[str, Any] = field(default_factory=dict)
    interrupted: bool = False
    errors: tuple[str, ...] = ()  # nodes that failed during the window


HINTS = (
    "cache it client-side (RESP3 CLIENT TRACKING keeps the copies fresh)",
    "read it from replicas (--replica / READONLY) to spread the reads",
    "split it into N keys (key:{0..N-1}) and pick one per request",
)


@dataclass(frozen=True)
class HotkeysOptions:
    method: str = "auto"
    duration: float = 10.0
    max_commands: int | None = None
    top: int = 20
    warn_share: float = 0.10
    min_freq: int = LFU_INIT + 1
    separators: str = ":"

    def validate(self) -> None:
        if self.method not in ("auto", "lfu", "server", "monitor"):
            raise UsageError("--method must be auto, lfu, server or monitor")
        if not 0 < self.duration <= 3600:
            raise UsageError("--duration must be between 0 and 1 hour")
        if self.max_commands is not None and self.max_commands < 1:
            raise UsageError("--max-commands must be at least 1")
        if not 0 < self.warn_share <= 1:
            raise UsageError("--warn-share must be between 0 and 1 (e.g. 0.1 for 10%)")


def _flags(keys: list[HotKey], warn_share: float) -> tuple[Flag, ...]:
    return tuple(
        Flag(display_key(k.key), k.share, HINTS)
        for k in keys
        if k.share is not None and k.share > warn_share
    )


# ---------------------------------------------------------------------------------------------
# method: monitor


class _MonitorSession:
    def __init__(
        self, spec: ConnectionSpec, node: Node, finder: KeyFinder, inferer: PatternInferer
    ) -> None:
        self.spec = spec
        self.node = node
        self.finder = finder
        self.inferer = inferer
        self.keys = TopCounter()
        self.patterns = TopCounter(5000)
        self.commands: dict[str, int] = {}
        self.clients: dict[str, int] = {}
        self.seen = 0
        self.error: str | None = None
        self.first_ts: float | None = None
        self.last_ts: float | None = None
        self.names: dict[str, str] = {}  # ip:port -> CLIENT SETNAME, when CLIENT LIST is allowed

    def client_group(self, address: str) -> str:
        """A MONITOR client (`ip:port`) grouped as its name and host: one row per
        application, not per connection ("webapp @ 10.0.0.5"; the host alone when unnamed)."""
        host = address.rsplit(":", 1)[0] if address.count(":") == 1 else address
        name = self.names.get(address)
        return f"{name} @ {host}" if name else host

    def run(
        self,
        deadline: float,
        max_commands: int | None,
        stop: threading.Event,
        counter: list[int],
        lock: threading.Lock,
    ) -> None:
        conn: RawConnection | None = None
        try:
            self.names = _client_names(self.spec)  # before MONITOR, which would see it
            conn = RawConnection(self.spec, db=0)
            reply = conn.call(b"MONITOR")
            if isinstance(reply, hiredis.ReplyError):
                text = str(reply)
                if is_denied(text):
                    raise CommandDenied(
                        "MONITOR", text, "grant +monitor (docs/security.md), or use --method lfu"
                    )
                raise RediscopeError(f"MONITOR failed on {self.node.address}: {text}")
            conn.sock.settimeout(0.2)
            reader = conn.reader
            while not stop.is_set() and time.monotonic() < deadline:
                if max_commands is not None and counter[0] >= max_commands:
                    break
                line = reader.gets()
                if line is False:
                    try:
                        data = conn.recv_raw(1 << 16)
                    except TimeoutError:
                        continue
                    if not data:
                        raise redis.ConnectionError("Connection closed by server.")
                    reader.feed(data)
                    continue
                if isinstance(line, bytes):
                    event = parse_line(line)
                    if event is not None:
                        self.count(event)
                        with lock:
                            counter[0] += 1
        except CommandDenied:
            raise
        except (redis.RedisError, OSError) as exc:
            self.error = f"{self.node.address}: {describe_error(exc, self.spec).message}"
        finally:
            if conn is not None:
                conn.close()  # the server drops the MONITOR client with the connection

    def count(self, event: MonitorEvent) -> None:
        self.seen += 1
        if self.first_ts is None:
            self.first_ts = event.ts
        self.last_ts = event.ts
        name = event.args[0].decode(errors="replace").lower() if event.args else "?"
        self.commands[name] = self.commands.get(name, 0) + 1
        self.clients[event.client] = self.clients.get(event.client, 0) + 1
        write = self.finder.is_write(name)
        for key in self.finder.keys(event.args):
            self.keys.add((key, event.db), write)
            self.patterns.add(self.inferer.infer(key), write)


def _client_names(spec: ConnectionSpec) -> dict[str, str]:
    """{ip:port: name} of the named connections (CLIENT LIST TYPE normal); {} where denied."""
    conn = client(spec)
    try:
        listed = conn.client_list(_type="normal")
    except (redis.RedisError, OSError):
        return {}
    finally:
        conn.close()
    return {str(c.get("addr")): str(c["name"]) for c in listed if c.get("name")}


def monitor(
    spec: ConnectionSpec,
    target: Target,
    opts: HotkeysOptions,
    stop: threading.Event | None = None,
    warn: Callable[[str], None] | None = None,
    progress: ProgressFn | None = None,
) -> HotkeysReport:
    stop = stop or threading.Event()
    finder = KeyFinder.from_server(spec)
    nodes = target.primaries or target.nodes
    if warn:
        warn(
            f"MONITOR costs server throughput while it runs (it can halve it on a busy "
            f"server); sampling {len(nodes)} node{'s' if len(nodes) > 1 else ''} for "
            f"{opts.duration:g}s"
            + (f" or {opts.max_commands:,} commands" if opts.max_commands else "")
            + "; Ctrl-C stops early with what was seen"
        )
    sessions = [
        _MonitorSession(
            node_spec(spec, n),
            n,
            finder,
            PatternInferer(opts.separators),
        )
        for n in nodes
    ]
    counter = [0]
    lock = threading.Lock()
    started = time.monotonic()
    deadline = started + opts.duration
    errors: list[BaseException] = []

    def run(session: _MonitorSession) -> None:
        try:
            session.run(deadline, opts.max_commands, stop, counter, lock)
        except BaseException as exc:  # surfaced in the calling thread
            errors.append(exc)
            stop.set()

    threads = [threading.Thread(target=run, args=(s,), daemon=True) for s in sessions]
    for t in threads:
        t.start()
    interrupted = False
    try:
        for t in threads:
            while t.is_alive():
                t.join(0.1)
                if progress:  # a countdown of the window, not a scan
                    left = max(0.0, deadline - time.monotonic())
                    progress(
                        round(opts.duration - left),
                        round(opts.duration),
                        f"MONITOR window: {left:.0f} s left, {counter[0]:,} commands",
                        "s",
                    )
    except KeyboardInterrupt:
        interrupted = True
        stop.set()
        for t in threads:
            t.join(2)
    if errors:
        raise errors[0]
    window = time.monotonic() - started
    keys, patterns = TopCounter(), TopCounter(5000)
    commands: dict[str, int] = {}
    clients: dict[str, int] = {}
    node_of: dict[tuple[bytes, int], str] = {}
    for s in sessions:
        for k in s.keys.counts:
            node_of.setdefault(k, s.node.address)
        keys.merge(s.keys)
        patterns.merge(s.patterns)
        for name, n in s.commands.items():
            commands[name] = commands.get(name, 0) + n
        for address, n in s.clients.items():
            group = s.client_group(address)
            clients[group] = clients.get(group, 0) + n
    seen = sum(s.seen for s in sessions)
    key_hits = sum(v[0] for v in keys.counts.values()) or 1
    pat_hits = sum(v[0] for v in patterns.counts.values()) or 1
    hot = [
        HotKey(
            key=k[0],
            db=k[1],
            node=node_of.get(k, ""),
            hits=v[0],
            reads=v[1],
            writes=v[2],
            share=round(v[0] / key_hits, 6),
            pattern=sessions[0].inferer.infer(k[0]),
        )
        for k, v in keys.top(opts.top)
    ]
    failed = tuple(e for e in (s.error for s in sessions) if e)
    notes = []
    if keys.dropped_max:
        notes.append(
            f"more distinct keys than the counter keeps: counts may be low by up to "
            f"{keys.dropped_max}"
        )
    return HotkeysReport(
        target=target,
        complete=not failed and not interrupted,
        method="monitor",
        reason="",
        window_s=round(window, 3),
        commands_seen=seen,
        ops_per_s=round(seen / window, 1) if window > 0 else None,
        keys=tuple(hot),
        patterns=tuple(
            HotPattern(p, v[0], v[1], v[2], round(v[0] / pat_hits, 6))
            for p, v in patterns.top(opts.top)
        ),
        commands=tuple(
            Share(n, c, round(c / seen, 6))
            for n, c in sorted(commands.items(), key=lambda kv: -kv[1])[:30]
        )
        if seen
        else (),
        clients=tuple(
            Share(n, c, round(c / seen, 6))
            for n, c in sorted(clients.items(), key=lambda kv: (-kv[1], kv[0]))[: opts.top]
        )
        if seen
        else (),
        flagged=_flags(hot, opts.warn_share),
        notes=tuple(notes),
        interrupted=interrupted,
        errors=failed,
    )


# ---------------------------------------------------------------------------------------------
# method: lfu


class FreqCollector:
    """Top keys by OBJECT FREQ (at least min_freq), and per-pattern totals."""

    needs: frozenset[str] = frozenset({"freq"})

    def __init__(self, top: int, min_freq: int, separators: str) -> None:
        self.top = top
        self.min_freq = min_freq
        self.inferer = PatternInferer(separators)
        self.heap: list[tuple[int, bytes, int, str]] = []
        self.patterns: dict[str, list[int]] = {}  # pattern -> [keys, sum freq]
        self.zero = 0
        self.total = 0

    def add(self, batch: Batch) -> None:
        freqs = batch.freq or []
        for key, freq in zip(batch.keys, freqs, strict=False):
            if freq is None:
                continue
            self.total += 1
            if freq == 0:
                self.zero += 1
            if freq >= self.min_freq:
                entry = (freq, key, batch.db, batch.node)
                if len(self.heap) < self.top:
                    heapq.heappush(self.heap, entry)
                elif entry > self.heap[0]:
                    heapq.heapreplace(self.heap, entry)
                slot = self.patterns.setdefault(self.inferer.infer(key), [0, 0])
                slot[0] += 1
                slot[1] += freq

    def merge(self, other: FreqCollector) -> None:
        if other is self:
            return
        for entry in other.heap:
            if len(self.heap) < self.top:
                heapq.heappush(self.heap, entry)
            elif entry > self.heap[0]:
                heapq.heapreplace(self.heap, entry)
        for p, (k, f) in other.patterns.items():
            slot = self.patterns.setdefault(p, [0, 0])
            slot[0] += k
            slot[1] += f
        self.zero += other.zero
        self.total += other.total


def lfu(
    spec: ConnectionSpec,
    opts: HotkeysOptions,
    scan_opts: ScanOptions,
    progress: ProgressFn | None = None,
) -> HotkeysReport:
    policy = eviction_policy(spec)
    if "lfu" not in policy:
        raise RediscopeError(
            f"--method lfu needs an LFU maxmemory-policy (this server uses {policy})",
            "use --method monitor, or set allkeys-lfu",
        )
    params: dict[str, Any] = {}
    conn = client(spec)
    try:
        for name in ("lfu-log-factor", "lfu-decay-time"):
            try:
                params[name] = int(conn.config_get(name).get(name) or "")
            except (redis.RedisError, TypeError, ValueError):
                params[name] = None
    finally:
        conn.close()

    def make() -> list[Collector]:
        return [FreqCollector(opts.top, opts.min_freq, opts.separators)]

    target, scan, cols = run_scan(spec, scan_opts, make, progress)
    col = cols[0]
    assert isinstance(col, FreqCollector)
    if any("OBJECT FREQ" in n for n in scan.notes):
        raise CommandDenied("OBJECT FREQ", "NOPERM", "grant +object|freq (docs/security.md)")
    notes = [
        "OBJECT FREQ is a logarithmic counter (lfu-log-factor "
        f"{params['lfu-log-factor'] if params['lfu-log-factor'] is not None else '10, default'})"
        " that decays by about 1 per lfu-decay-time minutes "
        f"({params['lfu-decay-time'] if params['lfu-decay-time'] is not None else '1, default'})"
        f": new keys start at {LFU_INIT}, so only keys at {opts.min_freq}+ are ranked",
    ]
    if col.total and col.zero == col.total:
        notes.append(
            "every counter is 0: the policy was probably switched to LFU at runtime, "
            "and counters only start when keys are next touched; try again later"
        )
    ranked = sorted(col.heap, reverse=True)
    total_freq = sum(f for _, (_, f) in col.patterns.items()) or 1
    keys = tuple(
        HotKey(
            key=k,
            db=db,
            node=node,
            hits=None,
            reads=None,
            writes=None,
            share=None,
            freq=f,
            pattern=col.inferer.infer(k),
        )
        for f, k, db, node in ranked
    )
    patterns = tuple(
        HotPattern(p, f, 0, 0, round(f / total_freq, 6))
        for p, (n, f) in sorted(col.patterns.items(), key=lambda kv: -kv[1][1])[: opts.top]
    )
    return HotkeysReport(
        target=target,
        complete=scan.complete,
        method="lfu",
        reason="",
        window_s=scan.seconds,
        commands_seen=0,
        ops_per_s=None,
        keys=keys,
        patterns=patterns,
        commands=(),
        clients=(),
        flagged=(),
        scan=scan,
        notes=(*scan.notes, *notes),
        lfu=params,
        interrupted=scan.interrupted,
    )


# ---------------------------------------------------------------------------------------------
# method: server (Redis 8.6+)


def server_has_hotkeys(spec: ConnectionSpec) -> bool:
    """COMMAND INFO HOTKEYS answers [nil] on servers before 8.6 (read raw: redis-py's
    callback for COMMAND cannot parse a nil entry)."""
    conn = RawConnection(spec)
    try:
        reply = conn.call(b"COMMAND", b"INFO", b"HOTKEYS")
    except (redis.RedisError, OSError):
        return False
    finally:
        conn.close()
    return isinstance(reply, list) and bool(reply) and reply[0] is not None


def server_method(spec: ConnectionSpec, target: Target, opts: HotkeysOptions) -> HotkeysReport:
    conn = client(spec, timeout=spec.timeout + opts.duration)
    data: dict[str, Any] = {}
    try:
        with translate_errors(spec, "HOTKEYS"):
            conn.execute_command("HOTKEYS", "RESET")
            conn.execute_command(
                "HOTKEYS",
                "START",
                "METRICS",
                2,
                "CPU",
                "NET",
                "COUNT",
                opts.top,
                "DURATION",
                max(1, int(opts.duration)),
            )
            try:
                time.sleep(opts.duration)
            finally:
                data = pairs(conn.execute_command("HOTKEYS", "GET"))
                conn.execute_command("HOTKEYS", "STOP")
                conn.execute_command("HOTKEYS", "RESET")
    except redis.ResponseError:
        pass
    finally:
        conn.close()
    by_cpu = data.get("by-cpu-time-us") or []
    total_cpu = int(data.get("all-commands-all-slots-us") or 0) or 1
    keys = tuple(
        HotKey(
            key=by_cpu[i] if isinstance(by_cpu[i], bytes) else str(by_cpu[i]).encode(),
            db=0,
            node=target.nodes[0].address,
            hits=None,
            reads=None,
            writes=None,
            share=round(int(by_cpu[i + 1]) / total_cpu, 6),
        )
        for i in range(0, len(by_cpu) - 1, 2)
    )
    window = int(data.get("collection-duration-ms") or opts.duration * 1000) / 1000
    return HotkeysReport(
        target=target,
        complete=True,
        method="server",
        reason="",
        window_s=window,
        commands_seen=0,
        ops_per_s=None,
        keys=keys,
        patterns=(),
        commands=(),
        clients=(),
        flagged=_flags(list(keys), opts.warn_share),
        notes=("shares are of CPU time (HOTKEYS by-cpu-time-us)",),
    )


# ---------------------------------------------------------------------------------------------


def hotkeys(
    spec: ConnectionSpec,
    opts: HotkeysOptions,
    scan_opts: ScanOptions,
    warn: Callable[[str], None] | None = None,
    progress: ProgressFn | None = None,
) -> HotkeysReport:
    opts.validate()
    target, _ident, conn = discover(spec)
    try:
        has_server = server_has_hotkeys(spec)
        with translate_errors(spec, "INFO memory"):
            policy = str(info(conn, "memory").get("maxmemory_policy", "noeviction"))
    finally:
        conn.close()
    method, reason = opts.method, "asked for"
    if method == "auto":
        if has_server and target.mode == "standalone":
            method, reason = "server", "the server has HOTKEYS (Redis 8.6+)"
        elif "lfu" in policy:
            method, reason = "lfu", f"maxmemory-policy is {policy}: OBJECT FREQ is tracked"
        else:
            method, reason = (
                "monitor",
                (f"no HOTKEYS command and maxmemory-policy {policy} keeps no access frequencies"),
            )
    if method == "server":
        if not has_server:
            raise RediscopeError(
                "--method server needs Redis 8.6+ (HOTKEYS)", "use --method monitor or lfu"
            )
        report = server_method(spec, target, opts)
    elif method == "lfu":
        report = lfu(spec, opts, scan_opts, progress)
    else:
        report = monitor(spec, target, opts, warn=warn, progress=progress)
    return replace(report, reason=reason)
