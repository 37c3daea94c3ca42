"""Benchmark: rediscope bigkeys vs redis-cli --bigkeys / --memkeys, same server, same run.

    python -m bench.bigkeys                  # 1M keys; add --rss-3m for the 3M-key RSS check
    python -m bench.bigkeys --keys 200000    # a quicker run

Builds a mixed keyspace (hashes, strings with TTLs, lists, sets, zsets, streams and a few huge
keys: the demo keyspace scaled up) in a throwaway redis-server on a free loopback port, then
times each tool as a subprocess and reads its peak RSS from wait4(). Prints a Markdown table.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from typing import IO

from rediscope.core.demo.keyspace import load_demo
from rediscope.core.localserver import LocalServer

DEMO_KEYS_AT_SCALE_1 = 210_614


@dataclass
class Timing:
    name: str
    seconds: float
    rss_mb: float
    keys: int

    @property
    def keys_per_s(self) -> float:
        return self.keys / self.seconds if self.seconds else 0.0


def _vm_hwm_kb(pid: int) -> int | None:
    try:
        with open(f"/proc/{pid}/status") as status:
            for line in status:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1])
    except OSError:
        return None
    return None


def run_measured(name: str, argv: list[str], keys: int, out: IO[bytes] | None = None) -> Timing:
    """Wall time and peak RSS of one command (its stdout into OUT, else discarded). Peak RSS
    is the process's own VmHWM, polled every 10 ms until it exits (ru_maxrss would also count
    the forking parent's memory)."""
    with tempfile.TemporaryFile() as err:
        start = time.perf_counter()
        proc = subprocess.Popen(argv, stdout=out or subprocess.DEVNULL, stderr=err)
        peak = 0
        while proc.poll() is None:
            hwm = _vm_hwm_kb(proc.pid)
            if hwm is not None and proc.poll() is None:
                peak = max(peak, hwm)
            time.sleep(0.01)
        seconds = time.perf_counter() - start
        if proc.returncode != 0:
            err.seek(0)
            raise SystemExit(
                f"{name} failed ({proc.returncode}): {err.read().decode(errors='replace')[-500:]}"
            )
    return Timing(name, seconds, peak / 1024, keys)


def load(server: LocalServer, keys: int) -> int:
    scale = keys / DEMO_KEYS_AT_SCALE_1
    start = time.perf_counter()
    stats = load_demo(server.port, scale=scale)
    print(f"loaded {stats.keys:,} keys in {time.perf_counter() - start:.1f}s", file=sys.stderr)
    return stats.keys


def rediscope(port: int, *extra: str) -> list[str]:
    return [
        sys.executable,
        "-m",
        "rediscope",
        "bigkeys",
        "-p",
        str(port),
        "--format",
        "json",
        "--no-progress",
        *extra,
    ]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--keys", type=int, default=1_000_000)
    parser.add_argument("--rss-3m", action="store_true", help="also measure RSS at 3M keys")
    parser.add_argument(
        "--exact", action="store_true", help="also compare --samples 0 with --memkeys-samples 0"
    )
    args = parser.parse_args()
    cli = shutil.which("redis-cli")
    if cli is None:
        raise SystemExit("redis-cli not found (apt-get install redis-tools)")
    rows: list[tuple[Timing, Timing | None]] = []
    with LocalServer(config={"maxmemory": "0"}) as server:
        keys = load(server, args.keys)
        port = str(server.port)
        base = [cli, "-h", "127.0.0.1", "-p", port]
        memkeys = run_measured("redis-cli --memkeys", [*base, "--memkeys"], keys)
        bigkeys = run_measured("redis-cli --bigkeys", [*base, "--bigkeys"], keys)
        ours = run_measured("rediscope bigkeys", rediscope(server.port), keys)
        rows.append((ours, memkeys))
        rows.append(
            (run_measured("rediscope bigkeys (2nd run)", rediscope(server.port), keys), bigkeys)
        )
        if args.exact:
            rows.append(
                (
                    run_measured(
                        "rediscope bigkeys --samples 0",
                        rediscope(server.port, "--samples", "0"),
                        keys,
                    ),
                    run_measured(
                        "redis-cli --memkeys-samples 0", [*base, "--memkeys-samples", "0"], keys
                    ),
                )
            )
    if args.rss_3m:
        with LocalServer(config={"maxmemory": "0"}) as server:
            keys3 = load(server, 3 * args.keys)
            rows.append(
                (run_measured("rediscope bigkeys (3x keys)", rediscope(server.port), keys3), None)
            )
    print(
        f"\n{args.keys:,}-key mixed keyspace, redis-server "
        f"{subprocess.run([cli, '--version'], capture_output=True, text=True).stdout.strip()}"
        f", {os.cpu_count()} cores\n"
    )
    print(
        "| rediscope | keys | wall s | keys/s | peak RSS MB | baseline | wall s | keys/s "
        "| peak RSS MB | speed ratio |"
    )
    print("|---|---:|---:|---:|---:|---|---:|---:|---:|---:|")
    for ours, theirs in rows:
        line = (
            f"| {ours.name} | {ours.keys:,} | {ours.seconds:.2f} | {ours.keys_per_s:,.0f} | "
            f"{ours.rss_mb:.0f} |"
        )
        if theirs is not None:
            ratio = ours.keys_per_s / theirs.keys_per_s if theirs.keys_per_s else 0
            line += (
                f" {theirs.name} | {theirs.seconds:.2f} | {theirs.keys_per_s:,.0f} | "
                f"{theirs.rss_mb:.0f} | {ratio:.1f}x |"
            )
        else:
            line += " | | | | |"
        print(line)
    return 0


if __name__ == "__main__":
    sys.exit(main())
