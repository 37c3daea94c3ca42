"""Method `lfu`: OBJECT FREQ over a scan, under an LFU maxmemory-policy."""

from __future__ import annotations

from typing import Any

import redis

from rediscope.core.collectors.freq import FreqCollector
from rediscope.core.connection import ConnectionSpec, client
from rediscope.core.hotkeys.report import (
    LFU_INIT,
    HotKey,
    HotkeysOptions,
    HotkeysReport,
    HotPattern,
)
from rediscope.core.pattern_stats import eviction_policy
from rediscope.core.scan import (
    Collector,
    ProgressFn,
    ScanOptions,
    run_scan,
)
from rediscope.errors import CommandDenied, RediscopeError


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
    ranked = col.hottest.ranked()
    total_freq = sum(f for _, (_, f) in col.patterns.items()) or 1
    keys = tuple(
        HotKey(
            key=e.key,
            db=e.db,
            node=e.node,
            hits=None,
            reads=None,
            writes=None,
            share=None,
            freq=e.score,
            pattern=col.inferer.infer(e.key),
        )
        for e in ranked
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
