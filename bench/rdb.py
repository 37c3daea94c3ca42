"""Benchmark: `rediscope memory --rdb` vs the live `rediscope memory` scan of the same data, and
vs redis-rdb-tools' memory report on the same keyspace saved by Redis 6.2 (RDB 9, the newest
it reads), same run.

    python -m bench.rdb --keys 1000000 --rdbtools /path/to/venv/bin/rdb
    python -m bench.rdb --keys 3000000 --no-live     # RSS at 3M keys (flat, not growing)

redis-rdb-tools is not a dependency: install it in a venv of its own
(`python -m venv /tmp/rt && /tmp/rt/bin/pip install rdbtools python-lzf`) and pass its `rdb`.
Redis 6.2 comes from ../shared/servers/redis-6.2.16 (REDISCOPE_RDB9_BIN to point elsewhere).
Prints keys/s, MB/s of RDB read and peak RSS per tool, as a Markdown table.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
from pathlib import Path

from bench.bigkeys import Timing, load, run_measured
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
    ratio = f"{t.keys_per_s / anchor.keys_per_s:.1f}x" if anchor and anchor.keys_per_s else ""
    return (
        f"| {t.name} | {t.keys:,} | {t.seconds:.2f} | {t.keys_per_s:,.0f} | "
        f"{f'{mbs:.1f}' if mbs else '-'} | {t.rss_mb:.0f} | {ratio} |"
    )


def _rdb_argv(path: Path) -> list[str]:
    return [sys.executable, "-m", "rediscope", "memory", "--rdb", str(path), "--format", "json"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--keys", type=int, default=1_000_000)
    parser.add_argument("--rdbtools", help="redis-rdb-tools' `rdb` command (its own venv)")
    parser.add_argument("--no-live", action="store_true", help="skip the live scan")
    args = parser.parse_args()
    rows: list[str] = []
    with tempfile.TemporaryDirectory() as tmp:
        (Path(tmp) / "current").mkdir()
        server = LocalServer(dir=Path(tmp) / "current").start()
        try:
            keys = load(server, args.keys)
            path = _saved(server)
            offline = run_measured("memory --rdb", _rdb_argv(path), keys)
            live = None
            if not args.no_live:
                argv = [sys.executable, "-m", "rediscope", "memory", "-p", str(server.port)]
                live = run_measured("memory (live scan)", [*argv, "--format", "json"], keys)
                rows.append(_row(live, None, None))
            rows.append(_row(offline, path, live))
        finally:
            server.stop()
        if args.rdbtools:
            rows += _versus_rdbtools(Path(tmp) / "rdb9", args.keys, args.rdbtools)
    print(f"\n{args.keys:,}-key mixed keyspace, {os.cpu_count()} cores\n")
    print("| tool | keys | wall s | keys/s | RDB MB/s | peak RSS MB | vs anchor |")
    print("|---|---:|---:|---:|---:|---:|---:|")
    print("\n".join(rows))


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
