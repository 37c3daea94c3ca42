"""Method `monitor`: a bounded MONITOR window on every primary, counted per key, pattern, command and client."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

import hiredis
import redis

from rediscope.core.connection import ConnectionSpec, client
from rediscope.core.failures import describe_error, is_denied
from rediscope.core.hotkeys.keypos import KeyFinder
from rediscope.core.hotkeys.monitor_lines import MonitorEvent, parse_line
from rediscope.core.hotkeys.report import (
    CallShare,
    HotKey,
    HotkeysOptions,
    HotkeysReport,
    HotPattern,
    TopCounter,
    flags,
)
from rediscope.core.patterns.inference import PatternInferer
from rediscope.core.pipeline.records import ProgressFn
from rediscope.core.resp import RawConnection
from rediscope.core.target import Node, Target, node_spec
from rediscope.errors import CommandDenied, RediscopeError


class MonitorSession:
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
            self.names = client_names(self.spec)  # before MONITOR, which would see it
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


def client_names(spec: ConnectionSpec) -> dict[str, str]:
    """{ip:port: name} of the named connections (CLIENT LIST TYPE normal); {} where denied."""
    conn = client(spec)
    try:
        listed = conn.client_list(_type="normal")
    except (redis.RedisError, OSError):
        return {}
    finally:
        conn.close()
    return {str(c.get("addr")): str(c["name"]) for c in listed if c.get("name")}


def _cost_warning(opts: HotkeysOptions, nodes: int) -> str:
    return (
        f"MONITOR costs server throughput while it runs (it can halve it on a busy "
        f"server); sampling {nodes} node{'s' if nodes > 1 else ''} for {opts.duration:g}s"
        + (f" or {opts.max_commands:,} commands" if opts.max_commands else "")
        + "; Ctrl-C stops early with what was seen"
    )


def _run_sessions(
    sessions: list[MonitorSession],
    opts: HotkeysOptions,
    stop: threading.Event,
    progress: ProgressFn | None,
) -> tuple[float, bool]:
    """Every session in its own thread until the window closes, the command cap is reached,
    STOP is set or Ctrl-C; (the window's seconds, interrupted). A session's error is raised."""
    counter = [0]
    lock = threading.Lock()
    started = time.monotonic()
    deadline = started + opts.duration
    errors: list[BaseException] = []

    def run(session: MonitorSession) -> None:
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
                    status = f"MONITOR window: {left:.0f} s left, {counter[0]:,} commands"
                    progress(round(opts.duration - left), round(opts.duration), status, "s")
    except KeyboardInterrupt:
        interrupted = True
        stop.set()
        for t in threads:
            t.join(2)
    if errors:
        raise errors[0]
    return time.monotonic() - started, interrupted


class _Merged:
    """The sessions' counts added up across nodes."""

    def __init__(self, sessions: list[MonitorSession]) -> None:
        self.keys, self.patterns = TopCounter(), TopCounter(5000)
        self.commands: dict[str, int] = {}
        self.clients: dict[str, int] = {}
        self.node_of: dict[tuple[bytes, int], str] = {}
        for s in sessions:
            for k in s.keys.counts:
                self.node_of.setdefault(k, s.node.address)
            self.keys.merge(s.keys)
            self.patterns.merge(s.patterns)
            for name, n in s.commands.items():
                self.commands[name] = self.commands.get(name, 0) + n
            for address, n in s.clients.items():
                group = s.client_group(address)
                self.clients[group] = self.clients.get(group, 0) + n
        self.seen = sum(s.seen for s in sessions)

    def hot_keys(self, top: int, inferer: PatternInferer) -> list[HotKey]:
        hits = sum(v.hits for v in self.keys.counts.values()) or 1
        return [
            HotKey(
                key=k[0],
                db=k[1],
                node=self.node_of.get(k, ""),
                hits=v.hits,
                reads=v.reads,
                writes=v.writes,
                share=round(v.hits / hits, 6),
                pattern=inferer.infer(k[0]),
            )
            for k, v in self.keys.top(top)
        ]

    def hot_patterns(self, top: int) -> tuple[HotPattern, ...]:
        hits = sum(v.hits for v in self.patterns.counts.values()) or 1
        return tuple(
            HotPattern(p, v.hits, v.reads, v.writes, round(v.hits / hits, 6))
            for p, v in self.patterns.top(top)
        )

    def shares(self, counts: dict[str, int], limit: int) -> tuple[CallShare, ...]:
        """The biggest LIMIT counts, each with its share of every command seen."""
        if not self.seen:
            return ()
        ranked = sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))[:limit]
        return tuple(CallShare(n, c, round(c / self.seen, 6)) for n, c in ranked)


def monitor(
    spec: ConnectionSpec,
    target: Target,
    opts: HotkeysOptions,
    stop: threading.Event | None = None,
    warn: Callable[[str], None] | None = None,
    progress: ProgressFn | None = None,
) -> HotkeysReport:
    """A MONITOR window on every primary at once, merged into one report."""
    finder = KeyFinder.from_server(spec)
    nodes = target.primaries or target.nodes
    if warn:
        warn(_cost_warning(opts, len(nodes)))
    sessions = [
        MonitorSession(node_spec(spec, n), n, finder, PatternInferer(opts.separators))
        for n in nodes
    ]
    window, interrupted = _run_sessions(sessions, opts, stop or threading.Event(), progress)
    merged = _Merged(sessions)
    hot = merged.hot_keys(opts.top, sessions[0].inferer)
    failed = tuple(e for e in (s.error for s in sessions) if e)
    notes = []
    if merged.keys.dropped_max:
        notes.append(
            f"more distinct keys than the counter keeps: counts may be low by up to "
            f"{merged.keys.dropped_max}"
        )
    return HotkeysReport(
        target=target,
        complete=not failed and not interrupted,
        method="monitor",
        reason="",
        window_s=round(window, 3),
        commands_seen=merged.seen,
        ops_per_s=round(merged.seen / window, 1) if window > 0 else None,
        keys=tuple(hot),
        patterns=merged.hot_patterns(opts.top),
        commands=merged.shares(merged.commands, 30),
        clients=merged.shares(merged.clients, opts.top),
        flagged=flags(hot, opts.warn_share),
        notes=tuple(notes),
        interrupted=interrupted,
        errors=failed,
    )
