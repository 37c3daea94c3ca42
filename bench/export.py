"""Benchmark: `--format jsonl|csv` keeps memory flat as the keyspace grows (issue 34).

    python -m bench.export                  # 1M and 3M keys (and a tenth of the first)
    python -m bench.export --keys 100000    # a quicker run

Loads the demo keyspace scaled up into a throwaway redis-server on a free loopback port, saves
it, and for each size times `bigkeys --format jsonl` from the RDB file and `bigkeys --format
csv` from the live server, both written to /dev/null, reading each one's peak RSS (VmHWM).
Prints a Markdown table: the peak RSS should not grow with the keys.
"""

from __future__ import annotations

import argparse
import os
import sys

from bench.bigkeys import Timing, load, run_measured
from rediscope.core.localserver import LocalServer


def export(*source: str, fmt: str) -> list[str]:
    return [sys.executable, "-m", "rediscope", "bigkeys", *source, "--format", fmt]


def measure(keys: int) -> list[Timing]:
    with LocalServer(config={"maxmemory": "0"}) as server:
        held = load(server, keys)
        conn = server.client()
        try:
            conn.save()  # our own throwaway server: the file the offline run reads
            held = int(conn.dbsize())
        finally:
            conn.close()
        assert server.dir is not None
        rdb = str(server.dir / "dump.rdb")
        sink = ("-o", os.devnull, "--no-progress")
        return [
            run_measured("jsonl from the RDB file", export("--rdb", rdb, *sink, fmt="jsonl"), held),
            run_measured(
                "csv from the live server", export("-p", str(server.port), *sink, fmt="csv"), held
            ),
        ]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--keys", type=int, default=1_000_000)
    args = parser.parse_args()
    rows = []
    for keys in (args.keys // 10, args.keys, 3 * args.keys):
        rows += measure(keys)
    print(f"\nbigkeys --format jsonl|csv -o /dev/null, demo keyspace, {os.cpu_count()} cores\n")
    print("| run | keys | wall s | keys/s | peak RSS MB |")
    print("|---|---:|---:|---:|---:|")
    for t in rows:
        print(f"| {t.name} | {t.keys:,} | {t.seconds:.2f} | {t.keys_per_s:,.0f} | {t.rss_mb:.0f} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
