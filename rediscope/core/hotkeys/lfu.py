"""Method `lfu`: OBJECT FREQ over a scan, under an LFU maxmemory-policy."""

from __future__ import annotations

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
from rediscope.core.pipeline.options import ScanOptions
from rediscope.core.pipeline.records import Collector, ProgressFn
from rediscope.core.scan.pool import run_scan
from rediscope.core.scan.source import eviction_policy
from rediscope.errors import CommandDenied, RediscopeError


def _lfu_params(spec: ConnectionSpec) -> dict[str, int | None]:
    """lfu-log-factor and lfu-decay-time; None where CONFIG GET is denied."""
    params: dict[str, int | None] = {}
    conn = client(spec)
    try:
        for name in ("lfu-log-factor", "lfu-decay-time"):
            try:
                params[name] = int(conn.config_get(name).get(name) or "")
            except (redis.RedisError, TypeError, ValueError):
                params[name] = None
    finally:
        conn.close()
    return params


def _notes(params: dict[str, int | None], col: FreqCollector, min_freq: int) -> list[str]:
    factor, decay = params["lfu-log-factor"], params["lfu-decay-time"]
    notes = [
        "OBJECT FREQ is a logarithmic counter (lfu-log-factor "
        f"{factor if factor is not None else '10, default'}) that decays by about 1 per "
        f"lfu-decay-time minutes ({decay if decay is not None else '1, default'}): new keys "
        f"start at {LFU_INIT}, so only keys at {min_freq}+ are ranked",
    ]
    if col.total and col.zero == col.total:
        notes.append(
            "every counter is 0: the policy was probably switched to LFU at runtime, "
            "and counters only start when keys are next touched; try again later"
        )
    return notes


def lfu(
    spec: ConnectionSpec,
    opts: HotkeysOptions,
    scan_opts: ScanOptions,
    progress: ProgressFn | None = None,
) -> HotkeysReport:
    """The keys with the highest LFU counters, by a scan (no MONITOR)."""
    policy = eviction_policy(spec)
    if "lfu" not in policy:
        raise RediscopeError(
            f"--method lfu needs an LFU maxmemory-policy (this server uses {policy})",
            "use --method monitor, or set allkeys-lfu",
        )
    params = _lfu_params(spec)

    def make() -> list[Collector]:
        return [FreqCollector(opts.top, opts.min_freq, opts.separators)]

    result = run_scan(spec, scan_opts, make, progress)
    target, scan = result.target, result.summary
    col = result.collector(FreqCollector)
    if not scan.measured("freq"):
        raise CommandDenied("OBJECT FREQ", "NOPERM", "grant +object|freq (docs/security.md)")
    total_freq = sum(v.freq for v in col.patterns.values()) or 1
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
        for e in col.hottest.ranked()
    )
    patterns = tuple(
        HotPattern(p, v.freq, 0, 0, round(v.freq / total_freq, 6))
        for p, v in sorted(col.patterns.items(), key=lambda kv: -kv[1].freq)[: opts.top]
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
        notes=(*scan.notes, *_notes(params, col, opts.min_freq)),
        lfu=params,
        interrupted=scan.interrupted,
    )
