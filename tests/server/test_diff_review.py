"""`rediscope diff`, what a review found: a key only in NEW is new, never "grew"; rates per
day are not extrapolated from seconds; a saved report that lacks what diff needs is refused."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from rediscope.core.localserver import LocalServer
from tests.helpers import invoke, load_json


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
