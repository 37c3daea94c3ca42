"""Benchmark: `rediscope diff` of two RDB files vs reading one of them, same run.

    python -m bench.diff                   # two 1M-key files
    python -m bench.diff --keys 200000     # a quicker run

Loads the demo keyspace (scaled to --keys) into a throwaway redis-server, SAVEs it (OLD), adds
a fifth more keys of the same shapes and deletes one pattern, SAVEs again (NEW), then times as
subprocesses `memory --rdb OLD` and `patterns --memory --rdb OLD` (reading one) and
`diff OLD NEW`. Peak RSS is each process's VmHWM, polled every 10 ms; "tree" adds the worker
process the pattern collector runs in (docs/architecture.md). Prints a Markdown table.
"""

from __future__ import annotations

import argparse
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from bench.bigkeys import DEMO_KEYS_AT_SCALE_1, _vm_hwm_kb
from rediscope.core.demo.keyspace import load_demo
from rediscope.core.localserver import LocalServer


def _children(pid: int) -> list[int]:
    out = []
    try:
        for task in os.listdir(f"/proc/{pid}/task"):
            with open(f"/proc/{pid}/task/{task}/children") as fh:
                out += [int(c) for c in fh.read().split()]
    except OSError:
        return out
    return out


def _cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def measured(argv: list[str]) -> tuple[float, float, float, float]:
    """Wall seconds, CPU seconds of the process and its workers (on a shared machine the
    fairer measure), its own peak RSS (MB) and the peak of its tree (itself + workers)."""
    cpu = _cpu()
    start = time.perf_counter()
    proc = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    own, hwm = 0, {}
    while proc.poll() is None:
        own = max(own, _vm_hwm_kb(proc.pid) or 0)
        for child in _children(proc.pid):
            hwm[child] = max(hwm.get(child, 0), _vm_hwm_kb(child) or 0)
        time.sleep(0.01)
    seconds = time.perf_counter() - start
    if proc.returncode not in (0, 1):
        err = proc.stderr.read().decode() if proc.stderr else ""
        raise SystemExit(f"{argv} failed: {err[-500:]}")
    return seconds, _cpu() - cpu, own / 1024, (own + sum(hwm.values())) / 1024


def _save(server: LocalServer, to: Path) -> Path:
    c = server.client(socket_timeout=600)
    c.save()
    c.close()
    assert server.dir is not None
    shutil.copy(server.dir / "dump.rdb", to)
    return to


def _grow(server: LocalServer, keys: int) -> None:
    """A fifth more keys (another seed: new sessions, carts, ...) and one pattern gone."""
    load_demo(server.port, scale=keys / DEMO_KEYS_AT_SCALE_1 / 5, seed=7)
    c = server.client(socket_timeout=600)
    for batch in c.scan_iter(match="rate:*", count=5000):
        c.unlink(batch)
    c.close()


def table(cases: dict[str, list[str]], runs: int) -> None:
    """Each run times every command in turn (so a busy spell of the machine hits them all);
    the table has the median of the runs, and the ratio of diff to each reading of one."""
    got: dict[str, list[tuple[float, float, float, float]]] = {name: [] for name in cases}
    for _ in range(runs):
        for name, argv in cases.items():
            got[name].append(measured([*argv, "--format", "json"]))
    print("| command | wall s | CPU s | peak RSS (MB) | peak RSS with worker (MB) |")
    print("|---|---:|---:|---:|---:|")
    med = {name: [statistics.median(col) for col in zip(*rows, strict=True)]
           for name, rows in got.items()}  # fmt: skip
    for name, (wall, cpu, rss, tree) in med.items():
        print(f"| {name} | {wall:.2f} | {cpu:.2f} | {rss:.0f} | {tree:.0f} |")
    diff = med["diff OLD NEW"]
    for name, row in med.items():
        if name != "diff OLD NEW":
            print(f"diff / {name}: wall {diff[0] / row[0]:.2f}x, CPU {diff[1] / row[1]:.2f}x")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--keys", type=int, default=1_000_000)
    parser.add_argument("--runs", type=int, default=5, help="runs of each command (median)")
    parser.add_argument(
        "--files", nargs=2, metavar=("OLD", "NEW"), help="diff these files (no server loaded)"
    )
    args = parser.parse_args()
    if args.files:
        table(_cases(Path(args.files[0]), Path(args.files[1])), args.runs)
        return
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        (work / "server").mkdir()
        server = LocalServer(dir=work / "server").start()
        try:
            load_demo(server.port, scale=args.keys / DEMO_KEYS_AT_SCALE_1)
            old = _save(server, work / "old.rdb")
            _grow(server, args.keys)
            new = _save(server, work / "new.rdb")
        finally:
            server.cleanup()
        table(_cases(old, new), args.runs)


def _cases(old: Path, new: Path) -> dict[str, list[str]]:
    print(f"OLD {old.stat().st_size / 1e6:.0f} MB, NEW {new.stat().st_size / 1e6:.0f} MB")
    rediscope = [sys.executable, "-m", "rediscope"]
    return {
        "memory --rdb OLD (reading one)": [*rediscope, "memory", "--rdb", str(old)],
        "patterns --memory --rdb OLD (reading one)": [
            *rediscope,
            "patterns",
            "--memory",
            "--rdb",
            str(old),
        ],
        "diff OLD NEW": [*rediscope, "diff", str(old), str(new)],
    }


if __name__ == "__main__":
    main()
