"""Benchmark: `rediscope clients` on a server with many connections, beside `redis-cli CLIENT
LIST` on the same server, same run: wall time and peak RSS of each, and the counts checked.

    python -m bench.clients                   # 10,000 connections in 20 named apps
    python -m bench.clients --connections 15000

A throwaway redis-server (maxclients raised) gets N connections from this process, each named
app-<i % 20>. rediscope reads CLIENT LIST as a stream and keeps bounded tallies; redis-cli
holds the whole reply. Needs `ulimit -n` above N + 100.
"""

from __future__ import annotations

import argparse
import json
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from rediscope.core.localserver import LocalServer


def _run(cmd: list[str]) -> tuple[float, int, str]:
    """Wall seconds, peak RSS (bytes) and stdout of one command, measured by /usr/bin/time (a
    child spawned from this process would count this process's pages in its peak: Linux keeps
    the larger of the pre-exec and the new peak)."""
    start = time.perf_counter()
    proc = subprocess.run(
        ["/usr/bin/time", "-f", "%M", *cmd], capture_output=True, text=True, check=True
    )
    seconds = time.perf_counter() - start
    return seconds, int(proc.stderr.strip().splitlines()[-1]) * 1024, proc.stdout


def _connect(port: int, n: int) -> list[socket.socket]:
    socks = []
    for i in range(n):
        s = socket.create_connection(("127.0.0.1", port))
        name = b"app-%d" % (i % 20)
        s.sendall(b"*3\r\n$6\r\nCLIENT\r\n$7\r\nSETNAME\r\n$%d\r\n%b\r\n" % (len(name), name))
        socks.append(s)
    for s in socks:
        s.recv(5)  # +OK
    return socks


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--connections", type=int, default=10_000)
    args = parser.parse_args()
    n = args.connections
    with tempfile.TemporaryDirectory() as tmp:
        server = LocalServer(dir=Path(tmp), config={"maxclients": str(n + 100)}).start()
        socks: list[socket.socket] = []
        try:
            socks = _connect(server.port, n)
            cli = shutil.which("redis-cli") or "redis-cli"
            cli_s, cli_rss, listing = _run([cli, "-p", str(server.port), "CLIENT", "LIST"])
            cmd = [sys.executable, "-m", "rediscope", "clients", "-p", str(server.port)]
            ours_s, ours_rss, out = _run([*cmd, "--window", "0", "--format", "json"])
        finally:
            for s in socks:
                s.close()
            server.cleanup()
    doc = json.loads(out)
    counted = sum(g["connections"] for g in doc["groups"] if g["key"].startswith("app-"))
    print(f"\n{n:,} connections, CLIENT LIST reply {len(listing.encode()) / 1e6:.2f} MB\n")
    print(f"{'':24}{'wall s':>10}{'peak RSS MB':>14}")
    print(f"{'redis-cli CLIENT LIST':24}{cli_s:>10.2f}{cli_rss / 1e6:>14.1f}")
    print(f"{'rediscope clients':24}{ours_s:>10.2f}{ours_rss / 1e6:>14.1f}")
    print(f"\nrediscope counted {counted:,} of the {n:,} app connections in 20 groups")


if __name__ == "__main__":
    main()
