"""Tiers 1-3: `--format jsonl|csv` of bigkeys, memory and patterns: one row per key scanned,
from a live server and an RDB file, filtered by --min-bytes, --match and --type."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path
from typing import Any

import pytest
import redis

from rediscope.core.localserver import LocalServer
from rediscope.core.pipeline.records import Batch
from rediscope.render.rows import COLUMNS, csv_rows, jsonl_rows
from tests.conftest import invoke, schema_validator

BINARY = b"bin:\x00\xff"


def _load(c: redis.Redis) -> None:
    pipe = c.pipeline(transaction=False)
    for i in range(500):
        pipe.set(f"user:{i}", "x" * (i % 50))
    for i in range(200):
        pipe.rpush(f"queue:{i}", *range(1 + i % 20))
    pipe.hset("big:hash", mapping={f"f{i}": "v" * 100 for i in range(3000)})
    pipe.set("sess:1", "v", ex=3600)
    pipe.set(BINARY, "v")
    pipe.set('comma,"quote"\nline', "v")
    pipe.execute()


def _jsonl(text: str) -> list[dict[str, Any]]:
    validator = schema_validator("key-row")
    rows = []
    for line in text.splitlines():
        row = json.loads(line)
        errors = list(validator.iter_errors(row))
        assert not errors, errors[0].message
        rows.append(row)
    return rows


def _csv(text: str) -> list[dict[str, str]]:
    reader = csv.DictReader(io.StringIO(text))
    assert tuple(reader.fieldnames or ()) == COLUMNS
    return list(reader)


def test_bigkeys_jsonl_is_one_parsable_line_per_key(plain: LocalServer) -> None:
    c = plain.client()
    _load(c)
    res = invoke("bigkeys", "-p", str(plain.port), "--format", "jsonl")
    assert res.exit_code == 0, res.stderr
    rows = _jsonl(res.stdout)
    assert len(rows) == len(res.stdout.splitlines()) == c.dbsize()
    by_key = {r["key"]: r for r in rows}
    assert len(by_key) == len(rows)  # every key once
    assert by_key['"bin:\\x00\\xff"']["key_escaped"] is True
    big = by_key["big:hash"]
    assert big["type"] == "hash" and big["elements"] == 3000
    assert big["bytes"] == c.memory_usage("big:hash") and big["encoding"] == "hashtable"
    assert 0 < by_key["sess:1"]["ttl"] <= 3600 and by_key["user:1"]["ttl"] is None
    assert big["idle"] is not None and big["node"] == f"127.0.0.1:{plain.port}"
    c.close()


def test_csv_has_a_header_and_one_row_per_key(plain: LocalServer) -> None:
    c = plain.client()
    _load(c)
    res = invoke("memory", "-p", str(plain.port), "--format", "csv")
    assert res.exit_code == 0, res.stderr
    rows = _csv(res.stdout)
    assert len(rows) == c.dbsize()
    keys = {r["key"] for r in rows}
    assert 'comma,"quote"\nline' in keys and '"bin:\\x00\\xff"' in keys
    assert {r["key_escaped"] for r in rows} == {"true", "false"}
    c.close()


def test_filters_min_bytes_match_and_type(plain: LocalServer) -> None:
    c = plain.client()
    _load(c)
    port = str(plain.port)
    res = invoke("patterns", "-p", port, "--format", "jsonl", "--min-bytes", "10KB")
    assert [r["key"] for r in _jsonl(res.stdout)] == ["big:hash"]
    res = invoke("bigkeys", "-p", port, "--format", "csv", "--match", "queue:*")
    rows = _csv(res.stdout)
    assert len(rows) == 200 and all(r["type"] == "list" for r in rows)
    res = invoke("memory", "-p", port, "--format", "jsonl", "--type", "hash")
    assert [r["key"] for r in _jsonl(res.stdout)] == ["big:hash"]
    res = invoke("bigkeys", "-p", port, "--format", "jsonl", "--min-elements", "19")
    want = {"big:hash"} | {f"queue:{i}" for i in range(200) if 1 + i % 20 >= 19}
    want |= {f"user:{i}" for i in range(500) if i % 50 >= 19}  # strings: STRLEN
    assert {r["key"] for r in _jsonl(res.stdout)} == want


def test_rows_from_an_rdb_file_and_to_a_file(plain: LocalServer, tmp_path: Path) -> None:
    c = plain.client()
    _load(c)
    c.save()
    held = c.dbsize()
    c.close()
    assert plain.dir is not None
    out = tmp_path / "keys.jsonl"
    rdb = str(Path(plain.dir) / "dump.rdb")
    res = invoke("bigkeys", "--rdb", rdb, "--format", "jsonl", "-o", str(out))
    assert res.exit_code == 0, res.stderr
    assert res.stdout == ""
    rows = _jsonl(out.read_text())
    assert len(rows) == held
    assert {r["key"]: r["elements"] for r in rows}["big:hash"] == 3000


def test_row_filters_need_a_row_format(plain: LocalServer) -> None:
    res = invoke("memory", "-p", str(plain.port), "--min-bytes", "1MB")
    assert res.exit_code == 2
    assert res.stderr.startswith("rediscope: error: --min-bytes filters the rows")
    res = invoke("bigkeys", "-p", str(plain.port), "--format", "csv", "--fail-if-found")
    assert res.exit_code == 2 and "--fail-if-found" in res.stderr


@pytest.mark.parametrize("render", [jsonl_rows, csv_rows])
def test_unmeasured_columns_are_empty_not_invented(render: Any) -> None:
    batch = Batch(node="n", db=3, keys=[b"k", BINARY], types=[b"string", b"set"])
    text = render(batch)
    rows = _jsonl(text) if render is jsonl_rows else list(csv.reader(io.StringIO(text)))
    assert len(rows) == 2
    if render is jsonl_rows:
        assert rows[0]["bytes"] is None and rows[1]["db"] == 3 and rows[1]["key_escaped"]
    else:
        assert rows[0] == ["k", "false", "3", "string", "", "", "", "", "", "", "n"]
