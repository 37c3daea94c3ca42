"""Benchmark: `rediscope top`'s ops/s, hit ratio and top command beside redis-benchmark's own
numbers for the same load, same run.

    python -m bench.top                  # 2M GETs, 4 clients
    python -m bench.top --requests 5000000

A throwaway redis-server gets N keys (SET over a keyspace of N), then redis-benchmark sends GETs
over a keyspace of 2N (so about half of them miss) while `top --format json --interval 1`
watches. The intervals wholly inside the benchmark are compared with redis-benchmark's own
requests per second, and top's hit ratio with DBSIZE / 2N (the share of GETs that can hit).
"""

from __future__ import annotations

import argparse
import json
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
from pathlib import Path

from rediscope.core.localserver import LocalServer

TOP_ARGS = ("--format", "json", "--interval", "1")


def _benchmark(port: int, *args: str) -> float:
    """redis-benchmark's requests per second."""
    cli = shutil.which("redis-benchmark") or "redis-benchmark"
    out = subprocess.run(
        [cli, "-p", str(port), "-q", *args], capture_output=True, text=True, check=True
    ).stdout
    found = re.findall(r"([\d.]+) requests per second", out)
    return float(found[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--requests", type=int, default=2_000_000)
    parser.add_argument("--keys", type=int, default=100_000)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        server = LocalServer(dir=Path(tmp)).start()
        try:
            _benchmark(server.port, "-t", "set", "-r", str(args.keys), "-n", str(args.keys * 5))
            loaded = int(server.client().dbsize())
            top = subprocess.Popen(
                [sys.executable, "-m", "rediscope", "top", "-p", str(server.port), *TOP_ARGS],
                stdout=subprocess.PIPE,
                text=True,
            )
            assert top.stdout is not None
            lines: list[dict[str, object]] = []
            reader = threading.Thread(
                target=lambda: lines.extend(json.loads(x) for x in top.stdout or []), daemon=True
            )
            reader.start()
            space = str(args.keys * 2)
            rps = _benchmark(
                server.port, "-t", "get", "-r", space, "-n", str(args.requests), "-c", "4"
            )
            top.terminate()
            top.wait()
            reader.join(timeout=10)
        finally:
            server.stop()
    busy = [d for d in lines if d["totals"]["ops_per_s"] > rps / 2]  # type: ignore[index]
    inside = busy[1:-1] or busy  # the first and last intervals straddle the run's ends
    ops = statistics.median(d["totals"]["ops_per_s"] for d in inside)  # type: ignore[index]
    total_ops = sum(d["totals"]["ops"] for d in inside)  # type: ignore[index,misc]
    mean = total_ops / sum(d["interval_s"] for d in inside)  # type: ignore[misc]
    hits = statistics.median(d["totals"]["hit_ratio"] for d in inside)  # type: ignore[index]
    tops = {d["commands"][0]["name"] for d in inside}  # type: ignore[index]
    print(
        f"\nredis-benchmark GET, {args.requests:,} requests, 4 clients, {loaded:,} of {space} keys\n"
    )
    print("| measure | redis-benchmark / expected | rediscope top | ratio |")
    print("|---|---:|---:|---:|")
    print(f"| requests per second (median interval) | {rps:,.0f} | {ops:,.0f} | {ops / rps:.3f} |")
    print(
        f"| requests per second (mean of intervals) | {rps:,.0f} | {mean:,.0f} | {mean / rps:.3f} |"
    )
    expected = loaded / int(space)
    print(f"| hit ratio | {expected:.3f} | {hits:.3f} | {hits / expected:.3f} |")
    print(f"| top command | get | {', '.join(sorted(tops))} | |")
    print(f"\n{len(inside)} intervals inside the run")


if __name__ == "__main__":
    main()
