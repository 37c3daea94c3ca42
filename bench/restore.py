"""Benchmark: `rediscope backup restore` vs `redis-cli --pipe` loading the same keys as the
commands that built them, into an empty server of the same build, same run.

    python -m bench.restore --keys 1000000 --runs 5
    python -m bench.restore --keys 1000000 --runs 5 --keyspace strings   # mostly strings
    python -m bench.restore --keys 3000000 --no-pipe    # client RSS at 3M keys (flat)

The keyspace is the benchmark's mixed one (bench.bigkeys: the demo keyspace scaled). It is
loaded once, saved, and the RDB file restored into a fresh empty server; the same keyspace's
commands, written as RESP to a file, go into another fresh empty server through
`redis-cli --pipe` (C, no reply waited for: the fastest way to write keys there is). Prints
keys/s, MB/s of RDB and peak client RSS per tool as a Markdown table, with the ratio; with
--runs N, both tools N times, alternating, each run's ratio and the medians. --keyspace strings:
plain strings of 10 to 200 bytes, a tenth with a TTL, loaded by redis-cli --pipe instead.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

from bench.bigkeys import DEMO_KEYS_AT_SCALE_1, Timing, load, run_measured
from bench.rdb import _saved
from rediscope.core.demo.keyspace import demo_commands
from rediscope.core.localserver import LocalServer
from rediscope.core.resp import pack


def _strings(keys: int) -> Iterator[tuple[bytes, ...]]:
    """A mostly-strings keyspace: SETs of 10 to 200 bytes, every tenth with an hour's TTL."""
    for i in range(keys):
        value = b"v%d:" % i + b"x" * (10 + i * 7919 % 190)
        key = b"str:%d:%d" % (i % 1000, i)
        yield (b"SET", key, value, b"EX", b"3600") if i % 10 == 0 else (b"SET", key, value)


def _pipe_file(path: Path, keys: int, keyspace: str = "mixed") -> int:
    """The keyspace's commands as RESP in PATH; how many commands."""
    n = 0
    commands = (
        _strings(keys) if keyspace == "strings" else demo_commands(keys / DEMO_KEYS_AT_SCALE_1)
    )
    with path.open("wb") as out:
        for cmd in commands:
            out.write(pack(cmd))
            n += 1
    return n


def _pipe(server: LocalServer, commands: Path, keys: int) -> Timing:
    cli = shutil.which("redis-cli") or "redis-cli"
    start = time.perf_counter()
    with commands.open("rb") as src:
        proc = subprocess.run(
            [cli, "-p", str(server.port), "--pipe"],
            stdin=src,
            capture_output=True,
            check=False,
        )
    seconds = time.perf_counter() - start
    if proc.returncode != 0:
        raise SystemExit(f"redis-cli --pipe failed: {proc.stderr.decode()[-300:]}")
    return Timing("redis-cli --pipe (commands)", seconds, 0.0, keys)


def _fresh(root: Path, name: str) -> LocalServer:
    (root / name).mkdir()
    return LocalServer(dir=root / name).start()


def _row(t: Timing, mb: float | None, anchor: Timing | None) -> str:
    ratio = f"{t.keys_per_s / anchor.keys_per_s:.2f}x" if anchor else ""
    mbs = f"{mb / t.seconds:.1f}" if mb else "-"
    rss = f"{t.rss_mb:.0f}" if t.rss_mb else "-"
    return f"| {t.name} | {t.keys:,} | {t.seconds:.2f} | {t.keys_per_s:,.0f} | {mbs} | {rss} | {ratio} |"


def _restore(root: Path, rdb: Path, keys: int, run: int) -> Timing:
    target = _fresh(root, f"restore{run}")
    try:
        url = f"redis://127.0.0.1:{target.port}"
        argv = [sys.executable, "-m", "rediscope", "backup", "restore", str(rdb), "--yes"]
        with tempfile.TemporaryFile() as out:
            timing = run_measured(
                "rediscope backup restore", [*argv, "--url", url, "--format", "json"], keys, out
            )
            out.seek(0)
            report = json.load(out)
        # rate:* keys have a 60 s TTL: in a long run some expire before they are read
        # (skipped as expired) or after they are restored (gone from DBSIZE again)
        expired = report["skipped"]["expired"]
        assert report["restored"] == keys - expired and report["failed"] == 0
        assert target.client().dbsize() <= report["restored"]
        return Timing(timing.name, timing.seconds, timing.rss_mb, keys)
    finally:
        target.stop()


def _load(root: Path, keys: int, keyspace: str, commands: bool) -> tuple[int, Path]:
    """The source loaded and saved: its key count, its RDB file; the commands in
    root/commands.resp (when COMMANDS, or the keyspace is loaded from them)."""
    if commands or keyspace == "strings":
        n = _pipe_file(root / "commands.resp", keys, keyspace)
        print(f"{n:,} commands for {keys:,} keys", file=sys.stderr)
    source = _fresh(root, "source")
    try:
        if keyspace == "strings":
            _pipe(source, root / "commands.resp", keys)
            keys = int(source.client().dbsize())
        else:
            keys = load(source, keys)
        return keys, _saved(source)
    finally:
        source.stop()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--keys", type=int, default=1_000_000)
    parser.add_argument("--runs", type=int, default=1)
    parser.add_argument("--keyspace", choices=["mixed", "strings"], default="mixed")
    parser.add_argument("--no-pipe", action="store_true", help="skip redis-cli --pipe")
    args = parser.parse_args()
    rows, ratios = [], []
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        keys, rdb = _load(root, args.keys, args.keyspace, not args.no_pipe)
        mb = rdb.stat().st_size / 1e6
        for run in range(args.runs):
            anchor = None
            if not args.no_pipe:
                target = _fresh(root, f"pipe{run}")
                try:
                    anchor = _pipe(target, root / "commands.resp", keys)
                    assert target.client().dbsize() == keys, "redis-cli --pipe lost keys"
                finally:
                    target.stop()
                rows.append(_row(anchor, None, None))
            timing = _restore(root, rdb, keys, run)
            rows.append(_row(timing, mb, anchor))
            if anchor is not None:
                ratios.append(timing.keys_per_s / anchor.keys_per_s)
    print(f"\n{keys:,}-key {args.keyspace} keyspace ({mb:.0f} MB RDB), {os.cpu_count()} cores\n")
    print("| tool | keys | wall s | keys/s | RDB MB/s | peak RSS MB | vs redis-cli --pipe |")
    print("|---|---:|---:|---:|---:|---:|---:|")
    print("\n".join(rows))
    if ratios:
        shown = ", ".join(f"{r:.2f}x" for r in ratios)
        print(f"\nratio per run: {shown}; median {statistics.median(ratios):.2f}x")


if __name__ == "__main__":
    main()
