"""Benchmark: a cluster backup's files (one per shard) read at once, in worker processes, vs
one after another (REDISCOPE_PARALLEL=0), same run, same files; the two reports compared.

    python -m bench.shards --keys 1000000 --shards 3 --rounds 3

Each shard is a throwaway redis-server loaded with KEYS/SHARDS keys of the demo keyspace and
saved. Prints the median wall time of each way over the rounds (they alternate), the ratio,
and whether the JSON reports are the same (timings left out). Peak RSS is the reading
process's own (the workers are forked processes of their own).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
from pathlib import Path
from typing import Any

from bench.bigkeys import load, run_measured
from bench.rdb import _saved
from rediscope.core.localserver import LocalServer


def _argv(files: list[Path], command: str) -> list[str]:
    rdb = [a for f in files for a in ("--rdb", str(f))]
    return [sys.executable, "-m", "rediscope", command, *rdb, "--format", "json"]


def _comparable(text: bytes) -> Any:
    doc = json.loads(text)
    doc.pop("generated_at", None)
    doc["scan"].pop("seconds", None)
    for node in doc["scan"]["nodes"]:
        node.pop("seconds", None)
    return doc


def _shards(tmp: Path, keys: int, shards: int) -> tuple[list[Path], int]:
    files, total = [], 0
    for i in range(shards):
        d = tmp / f"shard{i}"
        d.mkdir()
        server = LocalServer(dir=d).start()
        try:
            total += load(server, keys // shards)
            files.append(_saved(server).rename(tmp / f"shard{i}.rdb"))
        finally:
            server.cleanup()
    return files, total


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--keys", type=int, default=1_000_000)
    parser.add_argument("--shards", type=int, default=3)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--command", default="memory", choices=["memory", "bigkeys", "patterns"])
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        files, keys = _shards(Path(tmp), args.keys, args.shards)
        size = sum(f.stat().st_size for f in files) / 1e6
        times: dict[str, list[float]] = {"one after another": [], "at once": []}
        rss: dict[str, float] = {}
        reports: dict[str, Any] = {}
        for _ in range(args.rounds):
            for name, env in (("one after another", "0"), ("at once", "")):
                os.environ["REDISCOPE_PARALLEL"] = env
                out = Path(tmp) / "out.json"
                with out.open("wb") as fh:
                    t = run_measured(name, _argv(files, args.command), keys, fh)
                times[name].append(t.seconds)
                rss[name] = max(rss.get(name, 0.0), t.rss_mb)
                reports[name] = _comparable(out.read_bytes())
    serial, parallel = (statistics.median(times[n]) for n in times)
    print(f"{args.command} --rdb of {args.shards} files, {keys:,} keys, {size:.0f} MB, "
          f"{os.cpu_count()} cores; median of {args.rounds} rounds\n")  # fmt: skip
    print("| way | seconds | keys/s | peak RSS MB |\n|---|---:|---:|---:|")
    for name, secs in (("one after another", serial), ("at once", parallel)):
        print(f"| {name} | {secs:.2f} | {keys / secs:,.0f} | {rss[name]:.0f} |")
    print(f"\nat once: {serial / parallel:.2f}x one after another")
    same = reports["one after another"] == reports["at once"]
    print(f"reports the same: {'yes' if same else 'NO'}")


if __name__ == "__main__":
    main()
