"""Several RDB files read at once, each in a worker process, give the report reading them one
after another gives (REDISCOPE_PARALLEL=0): the same keys, bytes, patterns and top keys; a
damaged file is reported the same way."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

from rediscope.core.localserver import LocalServer
from tests.conftest import load_json, run_cli
from tests.test_rdb import saved


def _without_timings(doc: dict[str, Any]) -> dict[str, Any]:
    doc = json.loads(json.dumps(doc))
    doc.pop("generated_at")
    doc["scan"].pop("seconds")
    for node in doc["scan"]["nodes"]:
        node.pop("seconds")
    return doc


def _three_files(server: LocalServer, tmp_path: Path) -> list[str]:
    c = server.client()
    files = []
    for shard in range(3):
        c.flushall()
        p = c.pipeline(transaction=False)
        for i in range(2000 * (shard + 1)):
            p.set(f"user:{shard}:{i}", "x" * (i % 300), ex=3600 + i)
            p.hset(f"cart:{shard}:{i % 97}", f"item{i}", i)
        p.rpush(f"queue:{shard}", *range(5000 * (shard + 1)))
        p.execute()
        files.append(str(shutil.copy(saved(server), tmp_path / f"shard{shard}.rdb")))
    return files


def test_files_read_at_once_give_the_report_read_in_turn(
    plain: LocalServer, tmp_path: Path
) -> None:
    files = _three_files(plain, tmp_path)
    rdb = [a for f in files for a in ("--rdb", f)]
    for command in ("memory", "bigkeys", "patterns"):
        docs = {}
        for parallel in ("0", "3"):
            r = run_cli(command, *rdb, "--format", "json", env={"REDISCOPE_PARALLEL": parallel})
            assert r.exit_code == 0, r.stderr
            docs[parallel] = _without_timings(load_json(r.stdout))
        assert docs["0"] == docs["3"], command
        # every key of every file: users, 97 carts and a queue per shard
        assert docs["3"]["scan"]["keys_scanned"] == (2000 + 4000 + 6000) + 3 * 97 + 3


def test_a_damaged_file_among_them_is_reported_the_same_way(
    plain: LocalServer, tmp_path: Path
) -> None:
    files = _three_files(plain, tmp_path)
    data = bytearray(Path(files[1]).read_bytes())
    Path(files[1]).write_bytes(bytes(data[: len(data) // 2]))  # truncated
    rdb = [a for f in files for a in ("--rdb", f)]
    out = {}
    for parallel in ("0", "3"):
        r = run_cli("memory", *rdb, "--format", "json", env={"REDISCOPE_PARALLEL": parallel})
        out[parallel] = (r.exit_code, _without_timings(load_json(r.stdout)))
    assert out["0"] == out["3"]
    errors = [n["error"] for n in out["3"][1]["scan"]["nodes"]]
    assert errors[0] is None and errors[2] is None and "truncated" in errors[1]
