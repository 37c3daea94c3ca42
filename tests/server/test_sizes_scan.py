"""Tiers 2-3: size distributions (p50/p90/p99/max) in memory, bigkeys and patterns, from a live
scan and from an RDB file, against the exact percentiles of what the test loaded."""

from __future__ import annotations

import random
from pathlib import Path
from typing import Any

import pytest
import redis

from rediscope.core.localserver import LocalServer
from tests.helpers.cli import assert_valid_json_output, invoke

#: client-side behaviour: the matrix runs it on the distribution's server only (.ci/matrix)
pytestmark = pytest.mark.once

QS = {"p50": 0.5, "p90": 0.9, "p99": 0.99, "max": 1.0}


def exact(ordered: list[int], q: float) -> int:
    """Nearest rank: the value at 1-based rank ceil(q * n) of the values in order."""
    return ordered[max(1, -(-round(q * 10_000) * len(ordered) // 10_000)) - 1]


def within(got: int, want: int) -> bool:
    return abs(got - want) <= 0.01 * want


def _load(c: redis.Redis) -> dict[str, list[int]]:
    """Strings and lists of known lengths under two patterns: pattern -> the elements."""
    r = random.Random(34)
    lengths: dict[str, list[int]] = {"s:*": [], "l:*": []}
    pipe = c.pipeline(transaction=False)
    for i in range(3000):
        n = int(r.lognormvariate(5, 1.5)) + 1
        pipe.set(f"s:{i}", "x" * n)
        lengths["s:*"].append(n)
    for i in range(1000):
        n = r.randrange(1, 400)
        pipe.rpush(f"l:{i}", *range(n))
        lengths["l:*"].append(n)
    pipe.execute()
    return lengths


def _check(dist: dict[str, int], values: list[int]) -> None:
    ordered = sorted(values)
    for name, q in QS.items():
        assert within(dist[name], exact(ordered, q)), (name, dist, exact(ordered, q))
    assert dist["max"] == ordered[-1] and dist["count"] == len(values)


def test_live_scan_percentiles_match_the_keys(plain: LocalServer) -> None:
    c = plain.client()
    lengths = _load(c)
    usage = {
        p: [int(c.memory_usage(k, samples=0)) for k in c.scan_iter(match=p, count=1000)]
        for p in lengths
    }
    port = str(plain.port)
    mem = invoke("memory", "-p", port, "--samples", "0", "--format", "json")
    assert mem.exit_code == 0, mem.stderr
    doc = assert_valid_json_output(mem, "memory")
    sizes = {t["type"]: t for t in doc["sizes"]}
    _check(sizes["string"]["elements_dist"], lengths["s:*"])
    _check(sizes["list"]["elements_dist"], lengths["l:*"])
    _check(sizes["string"]["bytes_dist"], usage["s:*"])
    pats = {p["pattern"]: p for p in doc["by_pattern"]}
    _check(pats["l:*"]["bytes_dist"], usage["l:*"])

    pat = invoke("patterns", "-p", port, "--memory", "--samples", "0", "--format", "json")
    assert pat.exit_code == 0, pat.stderr
    rows = {p["pattern"]: p for p in assert_valid_json_output(pat, "patterns")["patterns"]}
    for p, values in lengths.items():
        _check(rows[p]["elements_dist"], values)
        _check(rows[p]["bytes_dist"], usage[p])
        assert rows[p]["bytes_dist"]["p90"] <= rows[p]["bytes_dist"]["p99"]

    big = invoke("bigkeys", "-p", port, "--samples", "0", "--format", "json")
    assert big.exit_code == 0, big.stderr
    types = {t["type"]: t for t in assert_valid_json_output(big, "bigkeys")["by_type"]}
    _check(types["list"]["elements_dist"], lengths["l:*"])
    _check(types["string"]["bytes_dist"], usage["s:*"])
    table = invoke("bigkeys", "-p", port, "--wide")
    assert "key sizes by type" in table.stdout and "elements p99" in table.stdout
    c.close()


def test_patterns_without_memory_carry_no_byte_figures(plain: LocalServer) -> None:
    """Live without --memory nothing is measured per key: the fields are there, null, and the
    table says how to get them."""
    c = plain.client()
    _load(c)
    res = invoke("patterns", "-p", str(plain.port), "--format", "json")
    doc = assert_valid_json_output(res, "patterns")
    rows = doc["patterns"]
    assert rows and all(p["bytes_dist"] is None and p["elements_dist"] is None for p in rows)
    assert all("bytes_dist" in p and "elements_dist" in p for p in rows)
    assert doc["sizes"] == []
    table = invoke("patterns", "-p", str(plain.port))
    assert "not measured: add --memory" in table.stdout
    c.close()


def _dists(doc: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """Pattern or type -> (bytes_dist, elements_dist) of a patterns report."""
    out = {p["pattern"]: p for p in doc["patterns"]}
    out.update({f"type:{t['type']}": t for t in doc["sizes"]})
    return out


def test_patterns_from_an_rdb_fill_percentiles_without_memory_and_agree_with_live(
    plain: LocalServer,
) -> None:
    """From a file every key's bytes and elements come with its record: p50/p90/p99/max per
    pattern and per type without --memory, within 1% of a live --memory scan of the same keys
    (the module runs on the distribution's Redis 7.0, whose layout the RDB memory model
    matches exactly; docs/patterns.md gives the other builds' gaps)."""
    c = plain.client()
    lengths = _load(c)
    pipe = c.pipeline(transaction=False)
    for i in range(500):
        pipe.hset(f"h:{i}", mapping={f"f{j}": "v" * 10 for j in range(1 + i % 50)})
    pipe.execute()
    c.save()
    c.close()
    assert plain.dir is not None
    rdb = str(Path(plain.dir) / "dump.rdb")
    port = str(plain.port)
    live = invoke("patterns", "-p", port, "--memory", "--samples", "0", "--format", "json")
    off = invoke("patterns", "--rdb", rdb, "--format", "json")
    assert live.exit_code == 0 and off.exit_code == 0, (live.stderr, off.stderr)
    a = _dists(assert_valid_json_output(live, "patterns"))
    b = _dists(assert_valid_json_output(off, "patterns"))
    for name in (*lengths, "h:*", "type:string", "type:list", "type:hash"):
        for dist in ("bytes_dist", "elements_dist"):
            x, y = a[name][dist], b[name][dist]
            assert x is not None and y is not None, (name, dist)
            for q in QS:
                assert within(y[q], x[q]), (name, dist, q, x, y)
    for p, values in lengths.items():
        _check(b[p]["elements_dist"], values)
        assert b[p]["bytes"] and b[p]["bytes"] > 0
    sync = invoke("patterns", "-p", port, "--sync", "--format", "json")  # the same records
    assert sync.exit_code == 0, sync.stderr
    streamed = _dists(assert_valid_json_output(sync, "patterns"))
    for name in (*lengths, "h:*", "type:hash"):
        assert streamed[name]["bytes_dist"] == b[name]["bytes_dist"], name
        assert streamed[name]["elements_dist"] == b[name]["elements_dist"], name
    table = invoke("patterns", "--rdb", rdb)
    assert "size p99" in table.stdout or "key sizes by type" in table.stdout


def test_rdb_file_percentiles_match_the_keys(plain: LocalServer) -> None:
    c = plain.client()
    lengths = _load(c)
    c.save()
    c.close()
    assert plain.dir is not None
    rdb = Path(plain.dir) / "dump.rdb"
    res = invoke("patterns", "--rdb", str(rdb), "--memory", "--format", "json")
    assert res.exit_code == 0, res.stderr
    rows = {p["pattern"]: p for p in assert_valid_json_output(res, "patterns")["patterns"]}
    for p, values in lengths.items():
        _check(rows[p]["elements_dist"], values)
        assert rows[p]["bytes_dist"]["p99"] <= rows[p]["bytes_dist"]["max"]
    big = invoke("bigkeys", "--rdb", str(rdb), "--format", "json")
    types = {t["type"]: t for t in assert_valid_json_output(big, "bigkeys")["by_type"]}
    _check(types["string"]["elements_dist"], lengths["s:*"])
