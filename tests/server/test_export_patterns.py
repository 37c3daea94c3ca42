"""`patterns --format jsonl|csv`: every row names the pattern its key was folded into, the
same pattern (and so the same key count per pattern) as the patterns report of the same keys,
live and from an RDB file, folds included (keys named before the fold was seen)."""

from __future__ import annotations

import csv
import io
import itertools
import json
from collections import Counter
from pathlib import Path
from typing import Any

import pytest
import redis

from rediscope.core.localserver import LocalServer
from rediscope.render.rows import COLUMNS, PATTERN_COLUMNS
from tests.helpers.cli import assert_valid_json_output, invoke, schema_validator

#: client-side behaviour: the matrix runs it on the distribution's server only (.ci/matrix)
pytestmark = pytest.mark.once

#: 300 literal words (no digits, so inference keeps them): more than fold_at (100) at one
#: position, so the report folds them into tag:*:count
WORDS = ["".join(w) for w in itertools.islice(itertools.product("bcdfghjklm", repeat=3), 300)]


def _load(c: redis.Redis) -> None:
    pipe = c.pipeline(transaction=False)
    for w in WORDS:
        pipe.set(f"tag:{w}:count", "1")
    for i in range(400):
        pipe.set(f"user:{i}:name", "x" * (i % 30))
    for i in range(50):
        pipe.rpush(f"queue:{i}", *range(5))
    pipe.set("config", "v")
    pipe.execute()


def _report_keys(*args: str) -> Counter[str]:
    res = invoke("patterns", *args, "--no-idle", "--format", "json")
    assert res.exit_code == 0, res.stderr
    doc = assert_valid_json_output(res, "patterns")
    return Counter({p["pattern"]: p["keys"] for p in doc["patterns"]})


def _jsonl(text: str) -> list[dict[str, Any]]:
    validator = schema_validator("key-row")
    rows = [json.loads(line) for line in text.splitlines()]
    for row in rows:
        errors = list(validator.iter_errors(row))
        assert not errors, errors[0].message
    return rows


def test_rows_name_the_report_s_patterns_live_and_from_a_file(plain: LocalServer) -> None:
    c = plain.client()
    _load(c)
    held = c.dbsize()
    c.save()
    c.close()
    port = str(plain.port)
    want = _report_keys("-p", port)
    assert want["tag:*:count"] == 300 and want["user:*:name"] == 400  # the fold happened
    res = invoke("patterns", "-p", port, "--format", "jsonl")
    assert res.exit_code == 0, res.stderr
    rows = _jsonl(res.stdout)
    assert len(rows) == held and all("pattern" in r for r in rows)
    assert Counter(r["pattern"] for r in rows) == want
    by_key = {r["key"]: r["pattern"] for r in rows}
    assert by_key["tag:bbb:count"] == "tag:*:count" and by_key["config"] == "config"

    assert plain.dir is not None
    rdb = str(Path(plain.dir) / "dump.rdb")
    res = invoke("patterns", "--rdb", rdb, "--format", "csv")
    assert res.exit_code == 0, res.stderr
    reader = csv.DictReader(io.StringIO(res.stdout))
    assert tuple(reader.fieldnames or ()) == PATTERN_COLUMNS
    assert Counter(r["pattern"] for r in reader) == _report_keys("--rdb", rdb) == want


def test_filtered_rows_keep_the_unfiltered_fold(plain: LocalServer) -> None:
    """--min-bytes writes fewer rows, but the folds are learned from every key scanned: a
    row is named as the report (which counts every key) names it."""
    c = plain.client()
    _load(c)
    c.set("tag:zzz:count", "y" * 5000)
    c.close()
    res = invoke("patterns", "-p", str(plain.port), "--format", "jsonl", "--min-bytes", "4KB")
    assert res.exit_code == 0, res.stderr
    assert [(r["key"], r["pattern"]) for r in _jsonl(res.stdout)] == [
        ("tag:zzz:count", "tag:*:count")
    ]


def test_past_the_lookahead_rare_patterns_wait_for_their_fold(
    plain: LocalServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A keyspace bigger than the rows held back (500 here): the rows of common patterns are
    written as they come, those of patterns still rare (the 150 tag words, scattered over
    3,000 users) wait for the fold the later keys show: every row once, named as the report."""
    monkeypatch.setattr("rediscope.core.collectors.rows.LOOKAHEAD", 500)
    c = plain.client()
    pipe = c.pipeline(transaction=False)
    for i in range(3000):
        pipe.set(f"user:{i}:name", "x")
    for w in WORDS[:150]:
        pipe.set(f"tag:{w}:count", "1")
    pipe.execute()
    held = c.dbsize()
    c.close()
    port = str(plain.port)
    want = _report_keys("-p", port)
    assert want == {"user:*:name": 3000, "tag:*:count": 150}
    res = invoke("patterns", "-p", port, "--format", "jsonl", "--scan-count", "100")
    assert res.exit_code == 0, res.stderr
    rows = _jsonl(res.stdout)
    assert len(rows) == held and len({r["key"] for r in rows}) == held
    assert Counter(r["pattern"] for r in rows) == want


def test_bigkeys_and_memory_rows_have_no_pattern_column(plain: LocalServer) -> None:
    c = plain.client()
    _load(c)
    c.close()
    for command in ("bigkeys", "memory"):
        res = invoke(command, "-p", str(plain.port), "--format", "csv")
        assert res.exit_code == 0, res.stderr
        assert res.stdout.splitlines()[0] == ",".join(COLUMNS)


def test_cluster_rows_are_named_by_the_folds_of_every_node(cluster: list[LocalServer]) -> None:
    """Each node sees about a third of the tag words (near the fold threshold alone): the
    rows are named after the nodes' patterns are merged, as the report folds them."""
    c = redis.RedisCluster(host="127.0.0.1", port=cluster[0].port)
    keys = [f"tag:{w}:count" for w in WORDS] + [f"user:{i}:name" for i in range(300)]
    try:
        for k in keys:
            c.set(k, "1")
        port = str(cluster[0].port)
        want = _report_keys("-p", port)
        assert want["tag:*:count"] == 300
        res = invoke("patterns", "-p", port, "--format", "jsonl")
        assert res.exit_code == 0, res.stderr
        rows = _jsonl(res.stdout)
        assert Counter(r["pattern"] for r in rows) == want
    finally:
        for k in keys:
            c.delete(k)
        c.close()
