"""Benchmark: `rediscope memory --rdb` vs the live `rediscope memory` scan of the same data, and
vs redis-rdb-tools' memory report on the same keyspace saved by Redis 6.2 (RDB 9, the newest
it reads), same run.

    python -m bench.rdb --keys 1000000 --rounds 5                 # the ratio to the live scan
    python -m bench.rdb --keys 1000000 --rounds 5 --before /tmp/before   # and the previous version
    python -m bench.rdb --keys 1000000 --rdbtools /path/to/venv/bin/rdb
    python -m bench.rdb --keys 3000000 --no-live     # RSS at 3M keys (flat, not growing)

Each round runs the live scan, then `memory --rdb` (then the previous version's, with --before:
a checkout of it whose compiled reader is built in place), one after another; the medians of
the rounds and their ratio are printed, with each round's ratio (a shared machine's neighbours
move single runs). Peak RSS is the largest of any round, of the process or its worker (VmHWM).
redis-rdb-tools is not a dependency: install it in a venv of its own
(`python -m venv /tmp/rt && /tmp/rt/bin/pip install rdbtools python-lzf`) and pass its `rdb`.
Redis 6.2 comes from ../shared/servers/redis-6.2.16 (REDISCOPE_RDB9_BIN to point elsewhere).
Prints keys/s, MB/s of RDB read and peak RSS per tool, as a Markdown table.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from bench.bigkeys import Timing, _vm_hwm_kb, load, run_measured
from rediscope.core.localserver import LocalServer

RDB9_BIN = Path(__file__).resolve().parents[2] / "shared" / "servers" / "redis-6.2.16" / "bin"


def _saved(server: LocalServer) -> Path:
    c = server.client(socket_timeout=600)  # SAVE of millions of keys takes a while
    c.save()
    c.close()
    assert server.dir is not None
    return server.dir / "dump.rdb"


def _row(t: Timing, path: Path | None, anchor: Timing | None) -> str:
    mbs = path.stat().st_size / 1e6 / t.seconds if path is not None else None
    ratio = f"{t.keys_per_s / anchor.keys_per_s:.2f}x" if anchor and anchor.keys_per_s else ""
    cpu = f"{t.cpu:.2f}" if isinstance(t, Cpu) else "-"
    return (
        f"| {t.name} | {t.keys:,} | {t.seconds:.2f} | {cpu} | {t.keys_per_s:,.0f} | "
        f"{f'{mbs:.1f}' if mbs else '-'} | {t.rss_mb:.0f} | {ratio} |"
    )


def _rdb_argv(path: Path) -> list[str]:
    return [sys.executable, "-m", "rediscope", "memory", "--rdb", str(path), "--format", "json"]


@dataclass
class Cpu(Timing):
    """A run and the CPU seconds (user + system) of its process and worker."""

    cpu: float = 0.0


def _tree_hwm_kb(pid: int) -> int:
    """The peak RSS so far of PID and of each child process it has (the pattern worker)."""
    try:
        with open(f"/proc/{pid}/task/{pid}/children") as f:
            children = [int(c) for c in f.read().split()]
    except OSError:
        children = []
    return max((_vm_hwm_kb(p) or 0 for p in [pid, *children]), default=0)


def _tree_run(name: str, argv: list[str], keys: int, cwd: str | None = None) -> tuple[Timing, Any]:
    """One run: its wall time, the peak RSS of the process or of any worker it started (the
    largest, polled every 10 ms: VmHWM) and its JSON report. CWD: the checkout whose
    `-m rediscope` runs."""
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        start = time.perf_counter()
        proc = subprocess.Popen(argv, stdout=out, stderr=err, cwd=cwd)
        peak = 0
        while True:
            pid, status, usage = os.wait4(proc.pid, os.WNOHANG)
            if pid:
                break
            peak = max(peak, _tree_hwm_kb(proc.pid))
            time.sleep(0.01)
        seconds = time.perf_counter() - start
        proc.returncode = os.waitstatus_to_exitcode(status)
        if proc.returncode != 0:
            err.seek(0)
            raise SystemExit(f"{name} failed ({proc.returncode}): {err.read()[-500:]!r}")
        out.seek(0)
        doc = json.load(out)
    cpu = usage.ru_utime + usage.ru_stime  # with the worker's, which it waited for
    return Cpu(name, seconds, peak / 1024, keys, cpu), doc


def _median(name: str, runs: list[Cpu]) -> Cpu:
    """The median wall time and CPU time of the runs, the largest peak RSS."""
    return Cpu(
        name,
        statistics.median(t.seconds for t in runs),
        max(t.rss_mb for t in runs),
        runs[0].keys,
        statistics.median(t.cpu for t in runs),
    )


def _comparable(doc: Any) -> Any:
    """A report without its timings."""
    if isinstance(doc, dict):
        return {k: _comparable(v) for k, v in doc.items() if k not in ("generated_at", "seconds")}
    if isinstance(doc, list):
        return [_comparable(v) for v in doc]
    return doc


def rounds(path: Path, port: int | None, keys: int, n: int, before: str | None) -> list[str]:
    """N rounds of: the live scan (PORT), memory --rdb, the previous version's --rdb."""
    runs: dict[str, list[Cpu]] = {"live": [], "rdb": [], "before": []}
    docs: dict[str, Any] = {}
    live_argv = [sys.executable, "-m", "rediscope", "memory", "-p", str(port), "--format", "json"]
    for i in range(n):
        if port is not None:
            runs["live"].append(_tree_run("memory (live scan)", live_argv, keys)[0])
        t, docs["rdb"] = _tree_run("memory --rdb", _rdb_argv(path), keys)
        runs["rdb"].append(t)
        if before:
            t, docs["before"] = _tree_run("memory --rdb (before)", _rdb_argv(path), keys, before)
            runs["before"].append(t)
        got = "; ".join(
            f"{k} {v[-1].seconds:.2f} s ({v[-1].cpu:.2f} CPU)" for k, v in runs.items() if v
        )
        print(f"round {i + 1}: {got}; load {os.getloadavg()[0]:.1f}", file=sys.stderr, flush=True)
    live = _median(f"memory (live scan), median of {n}", runs["live"]) if port else None
    rdb = _median(f"memory --rdb, median of {n}", runs["rdb"])
    rows = [_row(live, None, None)] if live else []
    rows.append(_row(rdb, path, live))
    if before:
        old = _median(f"memory --rdb (before), median of {n}", runs["before"])
        rows.append(_row(old, path, live))
        rows.append(_row(replace(rdb, name="memory --rdb: now against before"), path, old))
        same = _comparable(docs["rdb"]) == _comparable(docs["before"])
        rows.append(f"| reports of --rdb before and now identical: {'yes' if same else 'NO'} |")
    if live:
        each = [
            f"{a.seconds / b.seconds:.2f}x" for a, b in zip(runs["live"], runs["rdb"], strict=True)
        ]
        rows.append(f"| each round's ratio (live s / --rdb s): {', '.join(each)} |")
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--keys", type=int, default=1_000_000)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--before", help="a checkout of the previous version, to compare with")
    parser.add_argument("--rdbtools", help="redis-rdb-tools' `rdb` command (its own venv)")
    parser.add_argument("--no-live", action="store_true", help="skip the live scan")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        (Path(tmp) / "current").mkdir()
        server = LocalServer(dir=Path(tmp) / "current").start()
        try:
            keys = load(server, args.keys)
            path = _saved(server)
            port = None if args.no_live else server.port
            rows = rounds(path, port, keys, args.rounds, args.before)
            mb = path.stat().st_size / 1e6
        finally:
            server.stop()
        if args.rdbtools:
            rows += _versus_rdbtools(Path(tmp) / "rdb9", args.keys, args.rdbtools)
    print(f"\n{args.keys:,}-key mixed keyspace ({mb:.0f} MB RDB), {os.cpu_count()} cores\n")
    print(
        "| tool | keys | wall s | CPU s | keys/s | RDB MB/s | peak RSS MB | "
        "speed vs live scan (or as named) |"
    )
    print("|---|---:|---:|---:|---:|---:|---:|---:|")
    print("\n".join(rows))
    print(
        f"\nload average at the end: {os.getloadavg()[0]:.1f} (CPU s: the process and its worker)"
    )


def _versus_rdbtools(d: Path, keys: int, rdbtools: str) -> list[str]:
    """The same keyspace saved by Redis 6.2 (RDB 9): redis-rdb-tools, then rediscope."""
    d.mkdir()
    os.environ["REDISCOPE_SERVER_BIN"] = os.environ.get("REDISCOPE_RDB9_BIN", str(RDB9_BIN))
    server = LocalServer(dir=d).start()
    try:
        n = load(server, keys)
        path = _saved(server)
    finally:
        server.stop()
        del os.environ["REDISCOPE_SERVER_BIN"]
    tools = run_measured(
        "redis-rdb-tools rdb -c memory (RDB 9)",
        [rdbtools, "-c", "memory", "-f", os.devnull, str(path)],
        n,
    )
    ours = run_measured("memory --rdb (RDB 9)", _rdb_argv(path), n)
    return [_row(tools, path, None), _row(ours, path, tools)]


if __name__ == "__main__":
    main()
