"""`rediscope diff`: two backups of a real server between which patterns grew, shrank,
vanished and appeared; a backup against the live server; saved reports; the CI gates; the
union fold that lines pattern names up."""

from __future__ import annotations

import json
import random
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import redis

from rediscope.core.collectors.patterns import PatternCollector
from rediscope.core.collectors.topn import KeyEntry, TopN
from rediscope.core.diff.join import fold_union
from rediscope.core.diff.tally import SideCollector, SideTally
from rediscope.core.localserver import LocalServer
from rediscope.core.pipeline.offload import Offloaded
from rediscope.core.pipeline.records import Batch
from tests.helpers import invoke, load_json


def _load_old(server: LocalServer) -> None:
    c = server.client()
    p = c.pipeline(transaction=False)
    for i in range(1000):
        p.set(f"user:{i}:name", "x" * 20)
    for i in range(500):
        p.hset(f"session:{i}", mapping={"a": 1, "b": 2})
    for i in range(200):
        p.set(f"gone:{i}", "v", ex=86400)
    for i in range(300):
        p.rpush(f"queue:{i}", *range(10))
    p.rpush("big:list", *range(100))
    p.execute()
    c.close()


def _change(server: LocalServer) -> None:
    """user grows by 500 keys, session shrinks by 100, gone vanishes, fresh appears, queue
    keeps its keys but each list grows from 10 to 30 elements, big:list from 100 to 5000."""
    c = server.client()
    p = c.pipeline(transaction=False)
    for i in range(1000, 1500):
        p.set(f"user:{i}:name", "x" * 20)
    for i in range(200):
        p.delete(f"gone:{i}")
    for i in range(100):
        p.delete(f"session:{i}")
    for i in range(50):
        p.set(f"fresh:{i}", "y" * 100)
    for i in range(300):
        p.rpush(f"queue:{i}", *range(20))
    p.rpush("big:list", *range(4900))
    p.execute()
    c.close()


def _backup(server: LocalServer, dest: Path, name: str) -> str:
    res = invoke(
        "backup", "run", str(dest), "-p", str(server.port), "--name", name, "--format", "json"
    )
    assert res.exit_code == 0, res.stderr
    manifest = str(res.json()["manifest"])
    return str(dest / manifest[: -len(".manifest.json")])


@pytest.fixture
def two_backups(plain: LocalServer, tmp_path: Path) -> tuple[LocalServer, str, str]:
    _load_old(plain)
    old = _backup(plain, tmp_path, "old")
    _change(plain)
    new = _backup(plain, tmp_path, "new")
    return plain, old, new


def _by_pattern(doc: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {p["pattern"]: p for p in doc["patterns"]}


EXPECTED_KEYS = {
    "user:*:name": 500,
    "session:*": -100,
    "gone:*": -200,
    "fresh:*": 50,
    "queue:*": 0,
    "big:list": 0,
}


def test_two_backups_key_deltas_new_and_vanished(two_backups: tuple[LocalServer, str, str]) -> None:
    _, old, new = two_backups
    res = invoke("diff", old, new, "--format", "json")
    assert res.exit_code == 0, res.stderr
    doc = load_json(res.stdout)
    rows = _by_pattern(doc)
    assert {p: r["keys_delta"] for p, r in rows.items()} == EXPECTED_KEYS
    assert doc["new_patterns"] == ["fresh:*"] and doc["vanished_patterns"] == ["gone:*"]
    status = {p: r["status"] for p, r in rows.items()}
    assert status == {
        "user:*:name": "grown",
        "session:*": "shrunk",
        "gone:*": "vanished",
        "fresh:*": "new",
        "queue:*": "grown",  # same keys, three times the elements
        "big:list": "grown",
    }
    queue = rows["queue:*"]
    assert queue["old"]["mean_elements"] == 10 and queue["new"]["mean_elements"] == 30
    assert (
        rows["gone:*"]["old"]["ttl_share"] == 1.0 and rows["user:*:name"]["old"]["ttl_share"] == 0
    )
    assert doc["totals"]["keys_delta"] == 250 and doc["totals"]["bytes_delta"] > 0
    assert doc["old"]["kind"] == doc["new"]["kind"] == "backup"
    assert doc["seconds_between"] is not None and doc["seconds_between"] >= 0
    # sorted by bytes added: the grown patterns first, the vanished one last
    assert doc["patterns"][0]["pattern"] == "user:*:name" and doc["movers"][0] == "user:*:name"
    assert doc["patterns"][-1]["pattern"] == "gone:*"
    types = {t["name"]: t["keys_delta"] for t in doc["by_type"]}
    assert types == {"string": 350, "hash": -100, "list": 0}
    assert [d["name"] for d in doc["by_db"]] == ["db0"]
    # big:list is among the biggest keys of both sides: its growth is exact, and the most
    top = doc["keys_grown"][0]
    assert top["key"] == "big:list" and top["exact"] and top["bytes_delta"] > 0
    assert (top["old_elements"], top["new_elements"]) == (100, 5000)
    assert doc["keys_bound"]["top"] == 1000 and "biggest keys" in doc["keys_bound"]["how"]
    table = invoke("diff", old, new)
    assert table.exit_code == 0
    assert "vanished: gone:*" in table.stdout and "new: fresh:*" in table.stdout


def test_backup_against_the_live_server(two_backups: tuple[LocalServer, str, str]) -> None:
    server, old, _ = two_backups
    folder = Path(old).parent / "latest"
    folder.mkdir()
    _backup(server, folder, "now")
    res = invoke("diff", old, "--url", f"redis://127.0.0.1:{server.port}", "--format", "json")
    assert res.exit_code == 0, res.stderr
    doc = load_json(res.stdout)
    assert doc["new"]["kind"] == "live" and doc["new"]["bytes_model"] == "memory-usage"
    assert {p: r["keys_delta"] for p, r in _by_pattern(doc).items()} == EXPECTED_KEYS
    assert any("MEMORY USAGE" in n for n in doc["notes"])
    # the backup directory stands for its newest backup (NEW): nothing changed since
    same = load_json(invoke("diff", str(folder), "-p", str(server.port), "--format", "json").stdout)
    assert same["totals"]["keys_delta"] == 0 and same["old"]["kind"] == "backup"
    assert not same["new_patterns"] and not same["vanished_patterns"]


def test_gates(two_backups: tuple[LocalServer, str, str]) -> None:
    _, old, new = two_backups
    base = invoke("diff", old, new, "--format", "json").json()
    grew = base["totals"]["growth_pct"]
    assert grew > 5
    tripped = invoke("diff", old, new, "--fail-if-grown", "5")
    assert tripped.exit_code == 1
    assert "--fail-if-grown 5" in tripped.stderr and "Traceback" not in tripped.stderr
    assert invoke("diff", old, new, "--fail-if-grown", str(grew + 1)).exit_code == 0
    res = invoke("diff", old, new, "--fail-if-pattern-grown", "40", "--format", "json")
    assert res.exit_code == 1
    gate = load_json(res.stdout)["gates"][0]
    assert gate["tripped"] and "user:*:name" in gate["patterns"]  # +50% keys, same sizes
    assert "fresh:*" not in gate["patterns"]  # new: no growth in percent
    assert invoke("diff", old, new, "--fail-if-pattern-grown", "10000").exit_code == 0


def test_saved_reports_as_sides(two_backups: tuple[LocalServer, str, str], tmp_path: Path) -> None:
    _, old, new = two_backups
    saved = tmp_path / "patterns.json"
    res = invoke("patterns", "--memory", "--rdb", old + ".rdb.gz", "--format", "json")
    assert res.exit_code == 0, res.stderr
    saved.write_text(res.stdout)
    doc = invoke("diff", str(saved), new, "--format", "json").json()
    assert doc["old"]["kind"] == "report" and doc["old"]["time_source"] == "report-source"
    assert {p: r["keys_delta"] for p, r in _by_pattern(doc).items()} == EXPECTED_KEYS
    assert doc["keys_grown"] is None  # a saved report keeps no keys
    mem = tmp_path / "memory.json"
    mem.write_text(invoke("memory", "--rdb", new + ".rdb.gz", "--format", "json").stdout)
    both = invoke("diff", str(saved), str(mem), "--format", "json").json()
    assert _by_pattern(both)["fresh:*"]["status"] == "new"


def test_bad_sides_are_one_line_errors(plain: LocalServer, tmp_path: Path) -> None:
    other = tmp_path / "ping.json"
    other.write_text(json.dumps({"schema_version": 1, "command": "ping"}))
    listed = tmp_path / "list.json"
    listed.write_text("[1, 2]")
    odd = tmp_path / "odd.json"
    odd.write_text(json.dumps({"schema_version": 1, "command": "patterns", "patterns": [{}]}))
    cases = [
        (("diff", str(listed), str(other)), "not a rediscope --format json report"),
        (("diff", str(odd), str(odd)), "patterns[0] is not a row diff can read"),
        (("diff", str(tmp_path / "missing.rdb"), "live"), "no such RDB file"),
        (("diff", "live", "live", "-p", str(plain.port)), "only one side"),
        (("diff", str(other), str(other)), "diff reads saved memory or patterns reports"),
        (("diff", str(tmp_path)), "holds no backup"),
    ]
    for args, words in cases:
        res = invoke(*args)
        assert res.exit_code == 2, (args, res.stderr)
        assert res.stderr.startswith("rediscope: error:") and words in res.stderr
        assert len(res.stderr.strip().splitlines()) == 1


def _side(keys: list[bytes]) -> SideTally:
    col = PatternCollector(":", (), frozenset({"ttl", "memory", "length"}))
    n = len(keys)
    col.add(Batch("f", 0, keys, [b"string"] * n, [10] * n, [1] * n, [-1] * n))
    return SideTally(col.table, col.folder, {}, {}, True)


def test_union_fold_lines_names_up() -> None:
    """150 words under tag: fold to tag:* on the side that has them; the side with 50 of
    them does not fold alone, but the union folds both to tag:*."""
    old = _side([f"tag:{w}".encode() for w in _words(50)])
    new = _side([f"tag:{w}".encode() for w in _words(150)])
    union = fold_union(old, new, ":")
    assert list(union) == ["tag:*"]
    a, b = union["tag:*"]
    assert a is not None and b is not None and (a.keys, b.keys) == (50, 150)
    assert (a.elements, a.measured) == (50, 50)


def _words(n: int) -> list[str]:
    letters = "abcdefghijklmnopqrstuvwxyz"
    return [letters[i % 26] + letters[(i // 26) % 26] + "word" for i in range(n)]


def test_an_offloaded_pattern_collector_gets_the_element_counts() -> None:
    """A pattern collector that needs "length" counts the same elements in a worker process
    (pipeline/offload.py sends it the lengths) as here."""
    keys = [f"q:{i}".encode() for i in range(20)]
    lengths: list[int | None] = [i + 1 for i in range(20)]
    here = PatternCollector(":", (), frozenset({"ttl", "memory", "length"}))
    worker = Offloaded(PatternCollector(":", (), frozenset({"ttl", "memory", "length"})))
    for col in (here, worker):
        col.add(Batch("f", 0, keys, [b"list"] * 20, [64] * 20, lengths, [-1] * 20))
    there = worker.result()
    assert isinstance(there, PatternCollector)
    assert (here.table["q:*"].elements, here.table["q:*"].measured) == (210, 20)
    assert (there.table["q:*"].elements, there.table["q:*"].measured) == (210, 20)


def test_cluster_backups_every_shard_and_the_live_cluster(
    cluster: list[LocalServer], tmp_path: Path
) -> None:
    """A cluster backup is one file per shard: a side is all of them, and the live side walks
    every primary."""
    c = redis.RedisCluster(host="127.0.0.1", port=cluster[0].port)
    port = str(cluster[0].port)
    mine = ("dfa:*", "dfb:*", "dfc:*")
    try:
        c.mset_nonatomic({f"dfa:{i}": i for i in range(600)} | {f"dfb:{i}": i for i in range(300)})
        (tmp_path / "a").mkdir()
        (tmp_path / "b").mkdir()
        _backup(cluster[0], tmp_path / "a", "a")
        c.mset_nonatomic(
            {f"dfa:{i}": i for i in range(600, 900)} | {f"dfc:{i}": i for i in range(30)}
        )
        c.delete(*[f"dfb:{i}" for i in range(100)])
        _backup(cluster[0], tmp_path / "b", "b")
        doc = invoke("diff", str(tmp_path / "a"), str(tmp_path / "b"), "--format", "json").json()
        assert len(doc["old"]["files"]) == len(doc["new"]["files"]) == 3
        deltas = {p: r["keys_delta"] for p, r in _by_pattern(doc).items() if p in mine}
        assert deltas == {"dfa:*": 300, "dfb:*": -100, "dfc:*": 30}
        live = invoke("diff", str(tmp_path / "b"), "-p", port, "--format", "json").json()
        assert live["target"]["mode"] == "cluster"
        rows = _by_pattern(live)
        assert {p: rows[p]["keys_delta"] for p in mine} == {p: 0 for p in mine}
        assert rows["dfa:*"]["new"]["keys"] == 900
    finally:
        for pattern in mine:
            for key in c.scan_iter(match=pattern, target_nodes=c.ALL_NODES):
                c.delete(key)
        c.close()


def test_an_rdb_on_stdin(plain: LocalServer, tmp_path: Path) -> None:
    _load_old(plain)
    c = plain.client()
    c.save()
    old = tmp_path / "old.rdb"
    old.write_bytes(Path(str(c.config_get("dir")["dir"]), "dump.rdb").read_bytes())
    _change(plain)
    c.close()
    with old.open("rb") as stdin:
        proc = subprocess.run(
            [
                sys.executable,
                "-m",
                "rediscope",
                "diff",
                "-",
                "-p",
                str(plain.port),
                "--format",
                "json",
            ],
            stdin=stdin,
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
    assert proc.returncode == 0, proc.stderr
    doc = load_json(proc.stdout)
    assert doc["old"]["kind"] == "stdin" and doc["old"]["time_source"] == "rdb-ctime"
    assert {p: r["keys_delta"] for p, r in _by_pattern(doc).items()} == EXPECTED_KEYS


def test_sort_orders_the_pattern_rows(two_backups: tuple[LocalServer, str, str]) -> None:
    _, old, new = two_backups

    def order(sort: str) -> list[str]:
        res = invoke("diff", old, new, "--sort", sort, "--format", "json")
        assert res.exit_code == 0, res.stderr
        doc = load_json(res.stdout)
        assert doc["sort"] == sort
        return [p["pattern"] for p in doc["patterns"]]

    assert order("name") == sorted(EXPECTED_KEYS)
    assert order("keys-added")[0] == "user:*:name" and order("keys-added")[-1] == "gone:*"
    assert order("growth")[0] == "big:list"  # 100 to 5,000 elements
    assert order("growth")[-1] == "fresh:*"  # new: no growth in percent, last
    bad = invoke("diff", old, new, "--sort", "size")
    assert bad.exit_code == 2


def test_a_side_that_breaks_off_is_reported_incomplete_with_exit_1(
    plain: LocalServer, tmp_path: Path
) -> None:
    _load_old(plain)
    c = plain.client()
    c.save()
    whole = Path(str(c.config_get("dir")["dir"]), "dump.rdb").read_bytes()
    c.close()
    (tmp_path / "whole.rdb").write_bytes(whole)
    (tmp_path / "cut.rdb").write_bytes(whole[: len(whole) // 2])
    res = invoke("diff", str(tmp_path / "whole.rdb"), str(tmp_path / "cut.rdb"), "--format", "json")
    assert res.exit_code == 1 and "truncated" in res.stderr
    doc = load_json(res.stdout)
    assert not doc["complete"] and not doc["new"]["complete"] and doc["errors"]


def test_side_collector_keeps_the_topn_ranking_whatever_the_order() -> None:
    """The biggest keys by bytes, equal sizes by the smaller name (prefixes included), as
    collectors/topn.py ranks them, whatever order the keys arrive in."""
    rng = random.Random(7)
    keys = [f"k{rng.randint(0, 500)}{'x' * rng.randint(0, 2)}".encode() for _ in range(3000)]
    keys = sorted(set(keys))
    sizes = {k: rng.choice((10, 20, 20, 30, 30, 30)) for k in keys}
    reference = TopN(50)
    for k in keys:
        reference.push(KeyEntry(sizes[k], key=k))
    want = [(e.score, e.key) for e in reference.ranked()]
    for order in (keys, keys[::-1], rng.sample(keys, len(keys))):
        side = SideCollector(50)
        for start in range(0, len(order), 100):
            chunk = order[start : start + 100]
            n = len(chunk)
            side.add(Batch("n", 0, chunk, [b"string"] * n, [sizes[k] for k in chunk], [1] * n))
        assert [(e.score, e.key) for e in side.ranked()] == want
        assert side.full
