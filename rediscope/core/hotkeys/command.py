"""`rediscope hotkeys`: pick the method the server allows (server, lfu, monitor) and run it."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace

from rediscope.core.connection import ConnectionSpec
from rediscope.core.failures import translate_errors
from rediscope.core.hotkeys.lfu import lfu
from rediscope.core.hotkeys.monitor import monitor
from rediscope.core.hotkeys.report import HotkeysOptions, HotkeysReport
from rediscope.core.hotkeys.server import server_has_hotkeys, server_method
from rediscope.core.hotkeys.slots import hot_slots
from rediscope.core.info import info
from rediscope.core.pipeline.options import ScanOptions
from rediscope.core.pipeline.records import ProgressFn
from rediscope.core.target import discover
from rediscope.errors import RediscopeError


def hotkeys(
    spec: ConnectionSpec,
    opts: HotkeysOptions,
    scan_opts: ScanOptions,
    warn: Callable[[str], None] | None = None,
    progress: ProgressFn | None = None,
) -> HotkeysReport:
    opts.validate()
    with discover(spec) as (target, _ident, conn):
        has_server = server_has_hotkeys(spec)
        with translate_errors(spec, "INFO memory"):
            policy = str(info(conn, "memory").get("maxmemory_policy", "noeviction"))
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
    slots, note = hot_slots(spec, target, report.keys)
    notes = (*report.notes, note) if note else report.notes
    return replace(report, reason=reason, hot_slots=slots, notes=notes)
