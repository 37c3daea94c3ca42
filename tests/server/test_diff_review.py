"""`rediscope diff`, what a review found: a key only in NEW is new, never "grew"; rates per
day are not extrapolated from seconds; a saved report that lacks what diff needs is refused."""

from __future__ import annotations

import json
import shutil
import time
from pathlib import Path

import pytest

from rediscope.core.capacity.history import PatternRow, PatternSample
from rediscope.core.localserver import LocalServer
from tests.helpers import invoke, load_json
from tests.server.test_diff_capacity import TARGET, _history, _report


def _snapshot(server: LocalServer, dest: Path) -> str:
    c = server.client()
    c.save()
    c.close()
    assert server.dir is not None
    shutil.copy(Path(server.dir) / "dump.rdb", dest)
    return str(dest)


def _two_files(server: LocalServer, tmp_path: Path, small: int) -> tuple[str, str]:
    """OLD: SMALL small strings and grow:me of 1 KB; NEW: grow:me of 50 KB, brand:new of
    100 KB (a key OLD did not have), shrink:me smaller."""
    c = server.client()
    pipe = c.pipeline(transaction=False)
    for i in range(small):
        pipe.set(f"s:{i}", "x" * 10)
    pipe.set("grow:me", "g" * 1000)
    pipe.set("shrink:me", "s" * 20_000)
    pipe.execute()
    old = _snapshot(server, tmp_path / "old.rdb")
    c.set("grow:me", "g" * 50_000)
    c.set("brand:new", "n" * 100_000)
    c.set("shrink:me", "s" * 10)
    c.close()
    return old, _snapshot(server, tmp_path / "new.rdb")


@pytest.mark.parametrize("small", [50, 3000])  # OLD's top list holds every key / is full
def test_a_key_only_in_new_is_new_not_grown(plain: LocalServer, tmp_path: Path, small: int) -> None:
    old, new = _two_files(plain, tmp_path, small)
    res = invoke("diff", old, new, "--format", "json")
    assert res.exit_code == 0, res.stderr
    doc = load_json(res.stdout)
    grown = {k["key"]: k for k in doc["keys_grown"]}
    assert "brand:new" not in grown and "shrink:me" not in grown
    assert list(grown) == ["grow:me"]  # the only key in both sides that grew
    g = grown["grow:me"]
    assert g["exact"] and g["old_bytes"] < 2000 and g["new_bytes"] > 50_000
    assert g["bytes_delta"] == g["new_bytes"] - g["old_bytes"]
    fresh = doc["keys_new"]
    assert [k["key"] for k in fresh] == ["brand:new"]
    assert fresh[0]["old_bytes"] is None and fresh[0]["bytes_delta"] == fresh[0]["new_bytes"]
    table = invoke("diff", old, new)
    assert table.exit_code == 0
    grew_part, new_part = table.stdout.split("keys that grew most")[1].split(
        "new keys (not in OLD)"
    )
    assert "grow:me" in grew_part and "brand:new" not in grew_part
    assert "brand:new" in new_part


def test_sides_seconds_apart_give_no_rate_per_day(plain: LocalServer, tmp_path: Path) -> None:
    """Two snapshots taken moments apart: deltas exact, rates null and "unknown", a note."""
    old, new = _two_files(plain, tmp_path, 50)
    doc = load_json(invoke("diff", old, new, "--format", "json").stdout)
    assert doc["seconds_between"] is not None and doc["seconds_between"] < 3600
    assert doc["bytes_per_day"] is None and doc["keys_per_day"] is None
    assert all(p["bytes_per_day"] is None for p in doc["patterns"])
    assert doc["totals"]["bytes_delta"] > 0 and doc["rates_min_seconds"] == 3600
    assert any("no growth per day" in n for n in doc["notes"])
    table = invoke("diff", old, new).stdout
    assert "unknown (the sides are less than 1.0 h apart" in table
    assert "/day" not in table.split("keys that grew most")[0].split("change")[1].splitlines()[0]


def _saved(server: LocalServer, path: Path, generated_at: str) -> str:
    res = invoke("patterns", "-p", str(server.port), "--memory", "--format", "json")
    assert res.exit_code == 0, res.stderr
    doc = load_json(res.stdout)
    doc["generated_at"] = generated_at
    path.write_text(json.dumps(doc))
    return str(path)


@pytest.mark.once
def test_sides_a_day_apart_give_rates(plain: LocalServer, tmp_path: Path) -> None:
    c = plain.client()
    c.mset({f"a:{i}": "x" for i in range(100)})
    old = _saved(plain, tmp_path / "old.json", "2026-01-01T00:00:00Z")
    c.mset({f"a:{i}": "x" for i in range(100, 300)})
    c.close()
    new = _saved(plain, tmp_path / "new.json", "2026-01-03T00:00:00Z")
    doc = load_json(invoke("diff", old, new, "--format", "json").stdout)
    assert doc["days_between"] == 2.0 and doc["keys_per_day"] == 100.0
    assert doc["bytes_per_day"] is not None and doc["bytes_per_day"] > 0


@pytest.mark.once
def test_capacity_by_pattern_snapshots_minutes_apart_give_no_rate(tmp_path: Path) -> None:
    """INFO samples over days, but the two analyzed snapshots 10 minutes apart: no rate per
    pattern (not the 10 minutes' change times 144), the patterns by size, a note."""
    path = tmp_path / "h.sqlite"
    history = _history(path, days=5, with_patterns=0)
    now = time.time()
    for i, ts in enumerate((now - 600, now)):
        rows = (PatternRow("user:*", 100 + 50 * i, 10_000 + 5_000 * i), PatternRow("s:*", 5, 50))
        history.append_patterns(TARGET, PatternSample(ts, "backup:x", rows))
    bp = _report(path)["by_pattern"]
    assert bp["samples"] == 2 and bp["growth_bytes_per_day"] is None and bp["drivers"] == []
    assert [p["pattern"] for p in bp["patterns"]] == ["user:*", "s:*"]
    assert all(p["growth_bytes_per_day"] is None for p in bp["patterns"])
    assert "at least 1 h" in bp["note"]
    table = invoke("capacity", "report", "--history", str(path), "--target", TARGET, "--by-pattern")
    assert "at least 1 h" in table.stdout.replace("\n", " ")


MALFORMED = {
    # a report that lacks what diff needs: refused, not read as an empty keyspace
    "memory-bare": ('{"schema_version": 1, "command": "memory"}', "no by_pattern"),
    "memory-no-types": (
        '{"schema_version": 1, "command": "memory", "by_pattern": [{"pattern": "a", "keys": 1}]}',
        "no by_type and no by_db list",
    ),
    "patterns-not-a-list": (
        '{"schema_version": 1, "command": "patterns", "patterns": "a"}',
        "no patterns list",
    ),
    "row-without-keys": (
        '{"schema_version": 1, "command": "patterns", "patterns": [{"pattern": "a"}]}',
        "patterns[0] is not a row diff can read",
    ),
    "keys-not-a-number": (
        '{"schema_version": 1, "command": "patterns", "patterns": [{"pattern": "a", "keys": "9"}]}',
        "patterns[0] is not a row diff can read",
    ),
    "wrong-command": ('{"schema_version": 1, "command": "bigkeys"}', "is a bigkeys report"),
    "a-list": ("[]", "not a rediscope --format json report"),
    "a-string": ('"memory"', "not a rediscope --format json report"),
    "not-json-nor-rdb": ("hello\n", "neither an RDB file"),
    "empty": ("", "neither an RDB file"),
    "truncated": (
        '{"schema_version": 1, "command": "patterns", "patterns": [{"pattern": "a", "ke',
        "not a readable JSON report",
    ),
}


@pytest.mark.once
@pytest.mark.parametrize("name", sorted(MALFORMED))
def test_a_malformed_report_side_is_one_line_exit_2(
    plain: LocalServer, tmp_path: Path, name: str
) -> None:
    text, words = MALFORMED[name]
    bad = tmp_path / f"{name}.json"
    bad.write_text(text)
    good = _snapshot(plain, tmp_path / "good.rdb")
    for args in ((str(bad), good), (good, str(bad))):
        res = invoke("diff", *args, "--format", "json")
        assert res.exit_code == 2, (name, res.stderr)
        assert res.stdout == ""
        lines = res.stderr.strip().splitlines()
        assert len(lines) == 1 and lines[0].startswith("rediscope: error:"), lines
        assert words in lines[0] and "Traceback" not in res.stderr, lines
