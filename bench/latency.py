"""Benchmark: what a paced scan costs an application on the same server, in paired slices.

    python -m bench.latency --rate 50000 --rounds 8       # the application beside --rate
    python -m bench.latency --before /tmp/before          # and the previous version's --rate

The application is `redis-benchmark -t get -c 4 -r 100000` on the same machine. A shared VM
moves the application's own figures by 20% or more from one minute to the next (CPU stolen by
other guests), more than the effect measured, so the runs are paired and alternate quickly:
each round runs the application alone, then beside each scanner in turn, each run a few
seconds long; every scanner's figures are ratios to its round's run alone, and the table shows
their median and range over the rounds. A scanner is started, left to reach its pace (20 SCANs
answered), measured while the application runs, then interrupted, so its start-up is not in
the slice. Its keys/s are the server's MEMORY USAGE calls per second meanwhile (one per key, for
rediscope and redis-cli alike); its CPU per key is from /proc; its keys per SCAN are the size
of its requests. Each round also runs each scanner alone, with no application, for --alone
seconds: whether it keeps the rate where the machine has room for it. The anchors: redis-cli 7.4.1 paced
its own way, and a process that only spins at nice 19 and sends nothing to Redis (what any
third busy process costs the application on this machine).
"""

from __future__ import annotations

import argparse
import os
import signal
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from redis import Redis

from bench.scan import CLI, load, rediscope
from rediscope.core.localserver import LocalServer


@dataclass
class Scanner:
    """One row of the table: how to start it, and its ratios and rates per round."""

    label: str
    argv: list[str]
    cwd: str | None = None
    env: dict[str, str] | None = None
    spins: bool = False  # sends nothing to Redis: no pace to wait for, no keys/s
    rps: list[float] = field(default_factory=list)
    p99: list[float] = field(default_factory=list)
    keys_s: list[float] = field(default_factory=list)
    alone_s: list[float] = field(default_factory=list)  # keys/s with no application beside
    per_scan: list[float] = field(default_factory=list)  # keys per SCAN: the request's size
    cpu_us: list[float] = field(default_factory=list)


def app(port: int, n: int) -> tuple[float, float]:
    """The application: N GETs from 4 clients; its requests/s and p99 (ms)."""
    out = subprocess.run(
        ["redis-benchmark", "-p", str(port), "-t", "get", "-c", "4", "-r", "100000", "-n",
         str(n), "--csv"], capture_output=True, text=True, check=True,
    ).stdout  # fmt: skip
    last = [c.strip('"') for c in out.strip().splitlines()[-1].split(",")]
    return float(last[1]), float(last[6])


def _calls(c: Redis, command: str) -> int:
    stats = c.info("commandstats").get(f"cmdstat_{command}", {})
    return int(stats.get("calls", 0))


def _cpu_s(pid: int) -> float:
    """A process's CPU seconds so far (user + system, every thread)."""
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _slice(c: Redis, s: Scanner, during: Callable[[], tuple[float, float]]) -> tuple[float, ...]:
    """One scanner, started and left to reach its pace, while DURING runs (the application, or
    nothing): DURING's figures, then the scan's keys/s, CPU µs/key and keys per SCAN."""
    scans = _calls(c, "scan")
    proc = subprocess.Popen(
        s.argv, cwd=s.cwd, env=s.env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    try:
        while not s.spins and _calls(c, "scan") < scans + 20 and proc.poll() is None:
            time.sleep(0.02)  # polling the server for the pace reached, not a timing
        keys0, scans0 = _calls(c, "memory|usage"), _calls(c, "scan")
        cpu0, t0 = _cpu_s(proc.pid), time.monotonic()
        rps, p99 = during()
        cpu, secs = _cpu_s(proc.pid) - cpu0, time.monotonic() - t0
        keys, steps = _calls(c, "memory|usage") - keys0, _calls(c, "scan") - scans0
    finally:
        proc.send_signal(signal.SIGKILL if s.spins else signal.SIGINT)
        proc.wait()
    return rps, p99, keys / secs, (cpu / keys * 1e6 if keys else 0.0), keys / max(steps, 1)


def _idle(seconds: float) -> tuple[float, float]:
    """No application: the scan alone for SECONDS (a measuring window, not a synchronisation)."""
    time.sleep(seconds)
    return 0.0, 0.0


def scanners(port: int, args: argparse.Namespace) -> list[Scanner]:
    pace = ["--rate", f"{args.rate:g}"]
    out = [
        Scanner(f"bigkeys --rate {args.rate:g}", rediscope(port, "bigkeys", *pace)),
        Scanner(
            f"bigkeys --rate {args.rate:g}, REDISCOPE_NICE=0",
            rediscope(port, "bigkeys", *pace),
            env={**os.environ, "REDISCOPE_NICE": "0"},
        ),
    ]
    if args.before:
        out.append(Scanner(f"bigkeys --rate {args.rate:g} (before)", rediscope(port, "bigkeys", *pace), cwd=args.before))  # fmt: skip
    cli = [str(CLI), "-p", str(port), "--memkeys", "--count", "10", "-i", "0.01"]
    spin = ["nice", "-n", "19", sys.executable, "-c", "while True: pass"]
    return [
        *out,
        Scanner("bigkeys --gentle", rediscope(port, "bigkeys", "--gentle")),
        Scanner("bigkeys flat out", rediscope(port, "bigkeys")),
        Scanner(f"redis-cli 7.4.1 {' '.join(cli[3:])}", cli),
        Scanner("a process that only spins, nice 19, no Redis", spin, spins=True),
    ]


def _steal() -> tuple[int, int]:
    """This machine's CPU ticks so far: (stolen by the hypervisor for other guests, all)."""
    with open("/proc/stat") as f:
        ticks = [int(t) for t in f.readline().split()[1:]]
    return ticks[7], sum(ticks)


def _spread(values: list[float], fmt: str) -> str:
    if not values:
        return ""
    med, lo, hi = statistics.median(values), min(values), max(values)
    return f"{med:{fmt}} ({lo:{fmt}}-{hi:{fmt}})"


def table(alone: list[tuple[float, float]], rows: list[Scanner]) -> list[str]:
    out = [
        "| beside | its requests/s, of alone | its p99, of alone | scan keys/s | scan keys/s, no application | keys per SCAN | scan CPU µs/key |",
        "|---|---:|---:|---:|---:|---:|---:|",
    ]
    rps, p99 = _spread([a[0] for a in alone], ",.0f"), _spread([a[1] for a in alone], ".3f")
    out.append(f"| nothing else (absolute) | {rps} | {p99} ms | | | | |")
    for s in rows:
        p99 = _spread(s.p99, ".2f").replace(" (", "x (").replace(")", "x)")
        out.append(f"| {s.label} | {_spread(s.rps, '.0%')} | {p99} | {_spread(s.keys_s, ',.0f')} | {_spread(s.alone_s, ',.0f')} | {_spread(s.per_scan, '.1f')} | {_spread(s.cpu_us, '.1f')} |")  # fmt: skip
    return out


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--keys", type=int, default=1_000_000, help="big enough to outlast a slice")
    parser.add_argument("--rate", type=float, default=50_000)
    parser.add_argument("--rounds", type=int, default=8)
    parser.add_argument(
        "--requests", type=int, default=150_000, help="the application's, per slice"
    )
    parser.add_argument("--before", help="a checkout of the previous version, to compare with")
    parser.add_argument(
        "--alone", type=float, default=2.0, help="seconds of each scanner alone, per round"
    )
    args = parser.parse_args()
    stolen0, ticks0 = _steal()
    alone: list[tuple[float, float]] = []
    with LocalServer(config={"maxmemory": "0"}) as server:
        load(server.port, args.keys)
        c = server.client()
        rows = scanners(server.port, args)
        for rnd in range(args.rounds):
            alone.append(app(server.port, args.requests))
            rps0, p99_0 = alone[-1]
            for s in rows:
                rps, p99, keys_s, cpu_us, per_scan = _slice(c, s, lambda: app(server.port, args.requests))  # fmt: skip
                s.rps.append(rps / rps0)
                s.p99.append(p99 / p99_0)
                if not s.spins:
                    s.keys_s.append(keys_s)
                    s.cpu_us.append(cpu_us)
                    s.per_scan.append(per_scan)
                    s.alone_s.append(_slice(c, s, lambda: _idle(args.alone))[2])
            print(f"round {rnd + 1} of {args.rounds} done", file=sys.stderr, flush=True)
        keys = int(c.dbsize())
    stolen, ticks = _steal()
    print(f"\n{keys:,} keys, {os.cpu_count()} cores, {args.rounds} rounds of {args.requests:,} GETs per run; median (range)\n")  # fmt: skip
    print("\n".join(table(alone, rows)))
    print(f"\nCPU time stolen by the hypervisor meanwhile: {(stolen - stolen0) / max(ticks - ticks0, 1):.0%}")  # fmt: skip
    return 0


if __name__ == "__main__":
    sys.exit(main())
