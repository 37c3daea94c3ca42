"""A cluster's nodes scanned in worker processes (one per node, every core) give the report
threads give (REDISCOPE_PARALLEL=0), and Ctrl-C still prints what every node measured."""

from __future__ import annotations

import json
import signal
from typing import Any

import redis

from rediscope.core.localserver import LocalServer
from rediscope.exitcodes import ExitStatus
from tests.conftest import load_json, run_cli, scan_calls, start_slow_bigkeys, wait_for_scans


def _fill(cluster: list[LocalServer], n: int) -> None:
    c = redis.RedisCluster(host="127.0.0.1", port=cluster[0].port)
    try:
        for start in range(0, n, 1000):
            p = c.pipeline(transaction=False)
            for i in range(start, min(n, start + 1000)):
                p.set(f"user:{i}", "x" * (i % 500))
                if i % 10 == 0:
                    p.rpush(f"list:{{u{i % 7}}}:{i}", *range(i % 50 + 1))
            p.execute()
    finally:
        c.close()


def _flush(cluster: list[LocalServer]) -> None:
    for node in cluster:
        node.client().flushall()


def _stable(doc: dict[str, Any]) -> dict[str, Any]:
    """The report without timings and the servers' own INFO figures (used_memory moves
    between two runs as client buffers come and go)."""
    doc = json.loads(json.dumps(doc))
    for live in ("generated_at", "totals", "recommendations"):
        doc.pop(live)
    doc["scan"].pop("seconds")
    for node in doc["scan"]["nodes"]:
        node.pop("seconds")
    return doc


def test_processes_give_the_report_threads_give(cluster: list[LocalServer]) -> None:
    _flush(cluster)  # what an earlier test may have left
    try:
        _fill(cluster, 6000)
        port = str(cluster[0].port)
        docs = {}
        for parallel in ("0", ""):
            r = run_cli(
                "memory", "-p", port, "--format", "json", env={"REDISCOPE_PARALLEL": parallel}
            )
            assert r.exit_code == 0, r.stderr
            docs[parallel] = _stable(load_json(r.stdout))
        assert docs["0"] == docs[""]
        assert docs[""]["scan"]["keys_scanned"] == 6000 + 600
    finally:
        _flush(cluster)


def test_ctrl_c_gives_every_nodes_partial_report(cluster: list[LocalServer]) -> None:
    _flush(cluster)
    try:
        _fill(cluster, 30_000)
        for node in cluster:
            node.client().config_resetstat()
        before = {s.port: scan_calls(s) for s in cluster}
        proc = start_slow_bigkeys(cluster[0].port, 2000, 50)
        try:
            wait_for_scans(cluster, before)  # every node's worker is walking its keys
            proc.send_signal(signal.SIGINT)
            out, err = proc.communicate(timeout=60)
        finally:
            proc.kill()
            proc.wait()
        assert proc.returncode == ExitStatus.INTERRUPTED, err
        doc = json.loads(out)
        assert doc["complete"] is False and doc["scan"]["interrupted"] is True
        nodes = doc["scan"]["nodes"]
        assert len(nodes) == 3 and all(n["keys_scanned"] > 0 for n in nodes), nodes
        assert 0 < doc["scan"]["keys_scanned"] < 30_000 + 3000
    finally:
        _flush(cluster)
