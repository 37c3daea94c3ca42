"""Benchmark: the live scanner against redis-cli 7.4.1 and against its own previous version, same
run (what a paced scan costs an application: bench.latency).

    git worktree add /tmp/before <commit>          # the version to compare with (optional)
    python -m bench.scan --keys 1000000 --before /tmp/before --rounds 2
    python -m bench.scan --keys 1000000 --only-new --rss-3m   # peak RSS at 1M and 3M keys
    python -m bench.scan --cluster --keys 1000000 --only-new  # a 3-primary cluster

The keyspace is the demo's scaled up (bench.bigkeys), with every TTL moved a day later so that
no key expires while the tools run: the reports of each run must be identical. Each server is a
throwaway one on a free loopback port: Debian's redis-server and the 7.4.1 build in
../shared/servers. Prints Markdown tables: keys/s (best of --rounds), ratios, peak RSS.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from bench.bigkeys import DEMO_KEYS_AT_SCALE_1, Timing, run_measured
from rediscope.core.connection import ConnectionSpec
from rediscope.core.demo.keyspace import demo_commands, send_pipelined
from rediscope.core.localserver import LocalServer, start_cluster
from rediscope.core.resp import Command

SERVERS = Path(__file__).resolve().parents[2] / "shared" / "servers"
CLI = SERVERS / "redis-7.4.1" / "bin" / "redis-cli"
BUILDS = {"debian-7.0": None, "7.4.1": SERVERS / "redis-7.4.1" / "bin"}
DAY = 86_400


def stable(scale: float) -> Iterator[Command]:
    """The demo's commands with every EX two days later: nothing expires during the benchmark,
    and no TTL crosses a bucket boundary of the reports."""
    for cmd in demo_commands(scale):
        if len(cmd) >= 5 and cmd[-2] == "EX":  # 2-3 days: one TTL bucket (1 day to 1 week)
            yield (*cmd[:-1], int(cmd[-1]) + 2 * DAY)
        else:
            yield cmd


def load(port: int, keys: int) -> None:
    send_pipelined(ConnectionSpec(port=port), stable(keys / DEMO_KEYS_AT_SCALE_1))


def rediscope(port: int, command: str, *extra: str) -> list[str]:
    return [sys.executable, "-m", "rediscope", command, "-p", str(port), "--format", "json",
            "--no-progress", *extra]  # fmt: skip


def measured(name: str, argv: list[str], keys: int, cwd: str | None = None) -> tuple[Timing, Any]:
    """One run; its JSON report (None for redis-cli). CWD: the checkout `-m rediscope` runs."""
    with tempfile.TemporaryFile() as out:
        here = os.getcwd()
        os.chdir(cwd or here)
        try:
            t = run_measured(name, argv, keys, out)
        finally:
            os.chdir(here)
        out.seek(0)
        data = out.read()
    return t, (json.loads(data) if data.startswith(b"{") else None)


def comparable(doc: Any) -> Any:
    """A report without what changes from run to run: timings, the scan summary, TTLs left,
    idle-time histograms (keys grow idle as the benchmark goes)."""
    if isinstance(doc, dict):
        skip = {
            "idle",
            "scan",
            "seconds",
            "generated_at",
            "elapsed",
            "ttl_s",
            "totals",
            "source",
            "used_memory",
        }
        return {k: comparable(v) for k, v in doc.items() if k not in skip}
    if isinstance(doc, list):
        return [comparable(v) for v in doc]
    return doc


def scores_only(doc: Any, field: str = "bytes") -> Any:
    """A report with each listed key reduced to its score (bytes, or elements in a listing by
    elements) and type: what stays when only the choice between keys of equal score differs
    (ties are broken by key name since this change; the previous version kept the first it
    met, in SCAN order)."""
    if isinstance(doc, dict):
        if "key" in doc:
            return (doc.get(field), doc.get("type"))
        return {
            k: scores_only(v, "elements" if k == "top_by_elements" else field)
            for k, v in doc.items()
        }
    if isinstance(doc, list):
        return [scores_only(v, field) for v in doc]
    return doc


def verdict(docs: list[Any]) -> str:
    """new vs --type-lookup ask (must be identical), and vs the previous version if given."""
    first = comparable(docs[0])
    same = comparable(docs[1]) == first
    out = f"new = --type-lookup ask: {'yes' if same else 'NO'}"
    if len(docs) > 2:
        before = comparable(docs[2])
        if before == first:
            out += "; = before: yes"
        elif scores_only(before) == scores_only(first):
            out += "; = before: yes but for ties (keys of equal score, now chosen by name)"
        else:
            out += "; = before: NO"
    return out


def best(rounds: int, name: str, argv: list[str], keys: int, cwd: str | None = None) -> Any:
    runs = [measured(name, argv, keys, cwd) for _ in range(rounds)]
    return min(runs, key=lambda r: r[0].seconds)


def _row(t: Timing, anchor: Timing | None = None) -> str:
    ratio = f"{t.keys_per_s / anchor.keys_per_s:.2f}x" if anchor else ""
    return (
        f"| {t.name} | {t.keys:,} | {t.seconds:.2f} | {t.keys_per_s:,.0f} | {t.rss_mb:.0f} | "
        f"{anchor.name if anchor else ''} | {ratio} |"
    )


def one_server(build: str, args: argparse.Namespace) -> list[str]:
    """Every tool on one server: redis-cli's two passes, rediscope's three commands (and the
    previous version's), with a check that every report is identical."""
    if BUILDS[build] is not None:
        os.environ["REDISCOPE_SERVER_BIN"] = str(BUILDS[build])
    rows: list[str] = []
    with LocalServer(config={"maxmemory": "0"}) as server:
        os.environ.pop("REDISCOPE_SERVER_BIN", None)
        load(server.port, args.keys)
        keys = int(server.client().dbsize())
        base = [str(CLI), "-p", str(server.port)]
        r = args.rounds
        big, _ = best(
            r, "redis-cli --bigkeys --count 1000", [*base, "--bigkeys", "--count", "1000"], keys
        )
        mem, _ = best(
            r, "redis-cli --memkeys --count 1000", [*base, "--memkeys", "--count", "1000"], keys
        )
        rows.append(_row(big))
        rows.append(_row(mem))
        docs: dict[str, list[Any]] = {}
        for command in ("bigkeys", "patterns", "memory"):
            new, doc = best(r, f"rediscope {command}", rediscope(server.port, command), keys)
            asked = measured(
                f"{command} --type-lookup ask",
                rediscope(server.port, command, "--type-lookup", "ask"),
                keys,
            )
            docs[command] = [doc, asked[1]]
            anchors = [big, mem] if command == "bigkeys" else []
            if args.before:
                old, old_doc = best(
                    r, f"{command} (before)", rediscope(server.port, command), keys, args.before
                )
                docs[command].append(old_doc)
                anchors.append(old)
            rows += [_row(new, a) for a in anchors] or [_row(new)]
        for command, found in docs.items():
            rows.append(f"| {command} reports: {verdict(found)} | | | | | | |")
    return rows


def rss(args: argparse.Namespace) -> list[str]:
    rows = []
    for n in (args.keys, 3 * args.keys):
        with LocalServer(config={"maxmemory": "0"}) as server:
            load(server.port, n)
            keys = int(server.client().dbsize())
            t, _ = measured(
                f"rediscope bigkeys ({keys:,} keys)", rediscope(server.port, "bigkeys"), keys
            )
            rows.append(_row(t))
    return rows


def cluster(args: argparse.Namespace) -> list[str]:
    """A 3-primary cluster: redis-cli on each primary in turn (it scans one node) against
    rediscope on the whole cluster (every primary in parallel)."""
    import redis

    servers = start_cluster(primaries=3)
    try:
        rc = redis.RedisCluster(host="127.0.0.1", port=servers[0].port)
        pipe = rc.pipeline(transaction=False)
        for i, cmd in enumerate(stable(args.keys / DEMO_KEYS_AT_SCALE_1)):
            pipe.execute_command(*cmd)
            if i % 5000 == 4999:
                pipe.execute()
        pipe.execute()
        keys = sum(int(s.client().dbsize()) for s in servers)
        runs = [measured("cli", [str(CLI), "-p", str(s.port), "--bigkeys", "--count", "1000"], keys)[0] for s in servers]  # fmt: skip
        cli = Timing("redis-cli --bigkeys on each primary in turn", sum(t.seconds for t in runs), max(t.rss_mb for t in runs), keys)  # fmt: skip
        ours, doc = best(args.rounds, "rediscope bigkeys (cluster)", rediscope(servers[0].port, "bigkeys"), keys)  # fmt: skip
        os.environ["REDISCOPE_PARALLEL"] = "0"  # the nodes in threads of one process (before)
        try:
            one, one_doc = best(args.rounds, "rediscope bigkeys (cluster, one process)", rediscope(servers[0].port, "bigkeys"), keys)  # fmt: skip
        finally:
            os.environ.pop("REDISCOPE_PARALLEL")
        same = "yes" if comparable(doc) == comparable(one_doc) else "NO"
        return [_row(cli), _row(ours, cli), _row(one), _row(ours, one),
                f"| reports of worker processes = one process: {same} | | | | | | |"]  # fmt: skip
    finally:
        for s in servers:
            s.stop()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--keys", type=int, default=1_000_000)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--before", help="a checkout of the previous version, to compare with")
    parser.add_argument("--servers", default=",".join(BUILDS), help="debian-7.0,7.4.1")
    parser.add_argument("--only-new", action="store_true", help="skip the per-server runs")
    parser.add_argument("--rss-3m", action="store_true", help="peak RSS at KEYS and 3x KEYS")
    parser.add_argument("--cluster", action="store_true", help="a 3-primary cluster too")
    args = parser.parse_args()
    head = "| tool | keys | wall s | keys/s | peak RSS MB | vs | ratio |\n|---|---:|---:|---:|---:|---|---:|"  # fmt: skip
    print(f"\n{args.keys:,}-key mixed keyspace, {os.cpu_count()} cores, redis-cli 7.4.1\n")
    if not args.only_new:
        for build in args.servers.split(","):
            print(f"\n### redis-server {build}\n\n{head}")
            print("\n".join(one_server(build, args)), flush=True)
    if args.rss_3m:
        print(f"\n### peak RSS\n\n{head}\n" + "\n".join(rss(args)), flush=True)
    if args.cluster:
        print(f"\n### 3-primary cluster (Debian's redis-server)\n\n{head}\n" + "\n".join(cluster(args)), flush=True)  # fmt: skip
    return 0


if __name__ == "__main__":
    sys.exit(main())
