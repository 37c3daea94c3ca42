"""Method `server`: Redis 8.6+ HOTKEYS START/GET/STOP."""

from __future__ import annotations

import time
from typing import Any

import redis

from rediscope.core.connection import ConnectionSpec, client
from rediscope.core.failures import translate_errors
from rediscope.core.hotkeys.report import HotKey, HotkeysOptions, HotkeysReport, flags
from rediscope.core.resp import RawConnection, pairs
from rediscope.core.target import Target


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
        flagged=flags(list(keys), opts.warn_share),
        notes=("shares are of CPU time (HOTKEYS by-cpu-time-us)",),
    )
