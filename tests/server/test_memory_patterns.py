"""Tiers 2-3: `rediscope patterns` and `rediscope memory` on real servers."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import redis

from rediscope.core.localserver import LocalServer
from tests.helpers import assert_valid_json_output, invoke
from tests.helpers.patterns import schemes


def _load_schemes(c: redis.Redis) -> dict[str, int]:
    by_pattern = schemes(200)
    pipe = c.pipeline(transaction=False)
    for i, (_pattern, keys) in enumerate(by_pattern.items()):
        for j, key in enumerate(keys):
            if i % 3 == 0:
                pipe.hset(key, "f", j)
            elif i % 3 == 1:
                pipe.set(key, "x" * (j % 30), ex=30 + j)
            else:
                pipe.rpush(key, j)
    pipe.execute()
    return {p: len(k) for p, k in by_pattern.items()}


def test_patterns_each_scheme_one_pattern_and_counts_add_up(plain: LocalServer) -> None:
    c = plain.client()
    expected = _load_schemes(c)
    res = invoke("patterns", "-p", str(plain.port), "--format", "json")
    assert res.exit_code == 0, res.stderr
    doc = assert_valid_json_output(res, "patterns")
    got = {p["pattern"]: p["keys"] for p in doc["patterns"]}
    assert got == expected
    assert sum(got.values()) == doc["scan"]["keys_scanned"] == c.dbsize()
    session = next(p for p in doc["patterns"] if p["pattern"] == "session:*")
    assert session["types"] == {"string": 200}
    assert session["ttl"]["no_ttl"] == 0 and session["no_ttl_share"] == 0.0
    assert sum(session["ttl"].values()) == 200
    assert doc["access"] == "idletime" and sum(session["idle"].values()) == 200
    assert len(session["examples"]) == 3
    c.close()


def test_patterns_memory_sort_tree_and_separators(plain: LocalServer) -> None:
    c = plain.client()
    c.set("img/2026/photo.jpg", "x" * 10_000)
    c.set("img/2027/photo.jpg", "x" * 10_000)
    c.mset({f"small:{i}": "1" for i in range(10)})
    doc = invoke(
        "patterns",
        "-p",
        str(plain.port),
        "--separators",
        ":/",
        "--sort",
        "bytes",
        "--format",
        "json",
    ).json()
    assert [p["pattern"] for p in doc["patterns"]] == ["img/*/photo.jpg", "small:*"]
    assert doc["patterns"][0]["bytes"] > 20_000 and doc["sort"] == "bytes"
    res = invoke("patterns", "-p", str(plain.port), "--separators", ":/", "--tree")
    assert res.exit_code == 0 and "img" in res.stdout and "└──" in res.stdout
    # by keys the 10 small keys come first; --sort bytes puts the 20 KB of images first
    assert res.stdout.index("small") < res.stdout.index("img")
    args = ("--separators", ":/", "--tree", "--sort", "bytes")
    res = invoke("patterns", "-p", str(plain.port), *args)
    assert res.stdout.index("img") < res.stdout.index("small"), res.stdout
    c.close()


def test_patterns_rules_file(plain: LocalServer, tmp_path: Path) -> None:
    c = plain.client()
    c.mset({"sess_ab12": 1, "sess_cd34": 2, "user:1": 3})
    rules = tmp_path / "rules.yaml"
    rules.write_text("- regex: '^sess_'\n  name: legacy-session\n")
    doc = invoke(
        "patterns", "-p", str(plain.port), "--rules", str(rules), "--format", "json"
    ).json()
    assert {p["pattern"]: p["keys"] for p in doc["patterns"]} == {"legacy-session": 2, "user:*": 1}
    rules.write_text("- regex: '('\n")
    res = invoke("patterns", "-p", str(plain.port), "--rules", str(rules))
    assert res.exit_code == 2 and "invalid regex" in res.stderr
    c.close()


def test_memory_bytes_add_up_exactly_with_samples_0(plain: LocalServer) -> None:
    c = plain.client()
    _load_schemes(c)
    c.hset("big:hash", mapping={f"f{i}": "v" * 20 for i in range(2000)})
    res = invoke("memory", "-p", str(plain.port), "--samples", "0", "--format", "json")
    assert res.exit_code == 0, res.stderr
    doc = assert_valid_json_output(res, "memory")
    truth = sum(c.memory_usage(k, samples=0) for k in c.scan_iter(count=1000))
    assert doc["totals"]["keys_bytes"] == truth
    assert sum(t["bytes"] for t in doc["by_type"]) == truth
    assert sum(p["bytes"] for p in doc["by_pattern"]) == truth
    assert sum(e["bytes"] for e in doc["by_encoding"]) == truth
    assert sum(p["keys"] for p in doc["by_pattern"]) == c.dbsize()
    assert doc["top_keys"][0]["key"] == "big:hash"
    assert doc["totals"]["used_memory"] > 0 and doc["scan"]["sampled"] is False
    c.close()


def test_memory_sample_estimate_within_5_percent(plain: LocalServer) -> None:
    c = plain.client()
    pipe = c.pipeline(transaction=False)
    for i in range(200_000):
        if i % 4 == 0:
            pipe.hset(f"h:{i}", mapping={"a": i, "b": "x" * (i % 50)})
        else:
            pipe.set(f"s:{i}", "y" * (i % 200))
        if i % 5000 == 4999:
            pipe.execute()
    pipe.execute()
    full = invoke("memory", "-p", str(plain.port), "--format", "json").json()
    sampled = invoke(
        "memory", "-p", str(plain.port), "--sample", "10000", "--format", "json"
    ).json()
    assert sampled["scan"]["sampled"] is True and sampled["totals"]["estimate_ci95"] > 0
    estimate = sampled["totals"]["keys_bytes_estimate"]
    truth = full["totals"]["keys_bytes"]
    assert abs(estimate - truth) / truth < 0.05, (estimate, truth)
    table = " ".join(invoke("memory", "-p", str(plain.port), "--sample", "10000").stdout.split())
    assert "estimate for all 200,000 keys" in table and "(95% confidence)" in table
    c.close()


def _ids(doc: dict[str, object]) -> Counter[str]:
    return Counter(r["id"] for r in doc["recommendations"])  # type: ignore[attr-defined,index]


def test_recommendations_fire_on_a_bad_keyspace(tmp_path: Path) -> None:
    with LocalServer(
        dir=tmp_path,
        config={
            "maxmemory": "40mb",
            "maxmemory-policy": "noeviction",
            # the old name: every version knows it (6.2 and Valkey 8 default to 512, 7.x to 128)
            "hash-max-ziplist-entries": "128",
        },
    ) as server:
        c = server.client()
        c.set("blob", "x" * 200_000)  # big string
        c.rpush("log", *range(6000))  # big collection
        pipe = c.pipeline(transaction=False)
        for i in range(200):  # hashes with 150 fields: hashtable, fixable by the limit
            pipe.hset(f"wide:{i}", mapping={f"f{j}": j for j in range(150)})
        for i in range(10_000):  # tiny strings
            pipe.set(f"counter:{i}", i)
        for i in range(100):  # a TTL pattern with leaks
            pipe.set(f"tmp:{i}", 1, ex=600) if i % 10 else pipe.set(f"tmp:{i}", 1)
        pipe.execute()
        c1 = server.client(db=1)
        c1.set("other-db", 1)
        c1.close()
        filler = "z" * 10_000
        i = 0
        while c.info("memory")["used_memory"] < 34 * 1024 * 1024:  # > 80% of maxmemory
            c.set(f"fill:{i}", filler)
            i += 1
        doc = invoke("memory", "-p", str(server.port), "--format", "json").json()
        ids = _ids(doc)
        for rec in (
            "big_strings",
            "big_collections",
            "encoding_hash",
            "tiny_strings",
            "missing_ttl",
            "multiple_dbs",
            "noeviction_near_limit",
        ):
            assert ids[rec] >= 1, (rec, ids)
        leak = next(r for r in doc["recommendations"] if r["id"] == "missing_ttl")
        assert leak["evidence"] == {"pattern": "tmp:*", "keys_without_ttl": 10, "keys": 100}
        wide = next(r for r in doc["recommendations"] if r["id"] == "encoding_hash")
        assert wide["evidence"]["keys"] == 200 and wide["evidence"]["max_elements"] == 150
        assert all(
            r["severity"] in ("info", "warning", "critical") and r["doc"].startswith("https://")
            for r in doc["recommendations"]
        )
        c.close()


def test_recommendations_quiet_on_a_good_keyspace(tmp_path: Path) -> None:
    with LocalServer(
        dir=tmp_path, config={"maxmemory": "500mb", "maxmemory-policy": "allkeys-lru"}
    ) as server:
        c = server.client()
        pipe = c.pipeline(transaction=False)
        for i in range(500):
            pipe.hset(f"user:{i}", mapping={"name": f"n{i}", "age": i})
            pipe.set(f"session:{i}", "s" * 300, ex=3600)
        pipe.execute()
        doc = invoke("memory", "-p", str(server.port), "--format", "json").json()
        assert doc["recommendations"] == []
        assert "nothing to recommend" in invoke("memory", "-p", str(server.port)).stdout
        c.close()
