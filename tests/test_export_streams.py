"""Tiers 2-3: rows of `--format jsonl|csv` from every node of a cluster at once (the nodes'
threads share one sink), and a reader that closes the pipe ends the export quietly."""

from __future__ import annotations

import json
import subprocess
import sys
from collections import Counter
from pathlib import Path

import redis

from rediscope.core.localserver import LocalServer
from rediscope.exitcodes import ExitStatus
from tests.conftest import invoke


def test_cluster_rows_are_every_key_of_every_primary_once(cluster: list[LocalServer]) -> None:
    c = redis.RedisCluster(host="127.0.0.1", port=cluster[0].port)
    for i in range(3000):
        c.set(f"exp:{i}", "x" * (i % 100))
    c.close()
    res = invoke("bigkeys", "-p", str(cluster[1].port), "--format", "jsonl")
    assert res.exit_code == 0, res.stderr
    rows = [json.loads(line) for line in res.stdout.splitlines()]  # every line whole
    held: dict[str, int] = {}
    for server in cluster:
        node = server.client()
        held[f"127.0.0.1:{server.port}"] = int(node.dbsize())
        node.close()
    assert Counter(r["node"] for r in rows) == held  # the cluster is shared: its keys, all
    assert len({(r["node"], r["key"]) for r in rows}) == len(rows)
    assert {f"exp:{i}" for i in range(3000)} <= {r["key"] for r in rows}


def test_a_reader_that_closes_the_pipe_ends_the_export_quietly(plain: LocalServer) -> None:
    c = plain.client()
    pipe = c.pipeline(transaction=False)
    for i in range(50_000):
        pipe.set(f"k:{i}", i)
    pipe.execute()
    c.close()
    cmd = [sys.executable, "-m", "rediscope", "memory", "-p", str(plain.port)]
    proc = subprocess.Popen(
        [*cmd, "--format", "csv", "--scan-count", "100"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert proc.stdout is not None and proc.stderr is not None
        assert proc.stdout.readline().startswith("key,key_escaped,db,")  # the header
        proc.stdout.close()  # as head does after its lines
        err = proc.stderr.read()
        assert proc.wait(timeout=120) == ExitStatus.CLOSED_PIPE, err
        assert "error" not in err
    finally:
        proc.kill()
        proc.wait()


def test_output_file_takes_every_format(plain: LocalServer, tmp_path: Path) -> None:
    c = plain.client()
    c.set("one", "v")
    c.close()
    for fmt in ("table", "json", "csv"):
        out = tmp_path / f"out.{fmt}"
        res = invoke("bigkeys", "-p", str(plain.port), "--format", fmt, "-o", str(out))
        assert res.exit_code == 0 and res.stdout == "", res.stderr
        assert "one" in out.read_text()
    assert json.loads((tmp_path / "out.json").read_text())["command"] == "bigkeys"
    res = invoke("bigkeys", "-p", str(plain.port), "-o", str(tmp_path / "no" / "such.txt"))
    assert res.exit_code == 2 and res.stderr.startswith("rediscope: error: cannot write")


def test_rows_of_several_rdb_files_are_written_here_whole(
    plain: LocalServer, tmp_path: Path
) -> None:
    """Several files are otherwise read in worker processes: rows are written in this one."""
    c = plain.client()
    files = []
    for part in ("a", "b", "c"):
        c.flushall()
        pipe = c.pipeline(transaction=False)
        for i in range(2000):
            pipe.set(f"{part}:{i}", "x" * (i % 300))
        pipe.execute()
        c.save()
        assert plain.dir is not None
        path = tmp_path / f"{part}.rdb"
        path.write_bytes((plain.dir / "dump.rdb").read_bytes())
        files += ["--rdb", str(path)]
    c.close()
    res = invoke("bigkeys", *files, "--format", "jsonl")
    assert res.exit_code == 0, res.stderr
    rows = [json.loads(line) for line in res.stdout.splitlines()]
    assert sorted(r["key"] for r in rows) == sorted(
        f"{p}:{i}" for p in ("a", "b", "c") for i in range(2000)
    )
