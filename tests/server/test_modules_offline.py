"""Module types offline and through restore (issue 37, item 3): `memory --rdb` estimates each
known module type within 25% of MEMORY USAGE (or says unknown, with the share), and module
values restore digest-identical into a server with the module, skipped and named into one
without. The server tests need ../shared (skipped with one line where absent, failed in CI)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import redis

from rediscope.core.localserver import LocalServer
from rediscope.core.rdbfile.modules import json_estimate
from tests.helpers import invoke, load_json, start_server
from tests.helpers.modules import MODULE_BUILDS, load_module_keys, start_with_modules
from tests.helpers.rdb import module_id, rdb_file, rdb_len, rdb_str

MODULE_TYPES = (
    "ReJSON-RL",
    "vectorset",
    "MBbloom--",
    "MBbloomCF",
    "CMSk-TYPE",
    "TopK-TYPE",
    "TDIS-TYPE",
)


def saved(directory: Path, build: str) -> Iterator[tuple[LocalServer, Path]]:
    """A server of BUILD with every module type's keys, and the file it SAVEd."""
    server = start_with_modules(directory, MODULE_BUILDS[build])
    try:
        c = server.client()
        load_module_keys(c)
        c.save()
        c.close()
        assert server.dir is not None
        yield server, server.dir / "dump.rdb"
    finally:
        server.cleanup()


@pytest.fixture(scope="module", params=sorted(MODULE_BUILDS))
def saved_modules(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[LocalServer, Path]]:
    """Each build the modules load into (Redis 8.2 with vector sets, Valkey 8.1 and 9.1)."""
    yield from saved(tmp_path_factory.mktemp("modules-rdb"), request.param)


@pytest.fixture(scope="module")
def saved_82(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[LocalServer, Path]]:
    yield from saved(tmp_path_factory.mktemp("modules-rdb-82"), "redis-8.2.3")


def types_of(doc: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {t["name"]: t for t in doc["by_type"]}


def test_each_module_type_from_the_file_is_within_a_quarter_of_memory_usage(
    saved_modules: tuple[LocalServer, Path],
) -> None:
    server, path = saved_modules
    live = load_json(invoke("memory", "--url", server.url, "--format", "json").stdout)
    r = invoke("memory", "--rdb", str(path), "--format", "json")
    assert r.exit_code == 0, r.stderr
    offline = load_json(r.stdout)
    assert offline["totals"]["keys_unknown"] == 0 and offline["totals"]["unknown_share"] == 0
    got, want = types_of(offline), types_of(live)
    assert set(got) == set(want)
    for t in set(MODULE_TYPES) & set(want):
        ratio = got[t]["bytes"] / want[t]["bytes"]
        assert 0.75 <= ratio <= 1.25, (
            f"{t}: {got[t]['bytes']:,} from the file, {want[t]['bytes']:,} live"
        )
        assert got[t]["type_name"] == want[t]["type_name"] is not None


def test_module_element_counts_from_the_file_match_the_live_ones(
    saved_modules: tuple[LocalServer, Path],
) -> None:
    server, path = saved_modules
    args = ("--top", "500", "--format", "json")
    live = {
        k["key"]: k for k in load_json(invoke("bigkeys", "--url", server.url, *args).stdout)["keys"]
    }
    r = invoke("bigkeys", "--rdb", str(path), *args)
    assert r.exit_code == 0, r.stderr
    offline = {k["key"]: k for k in load_json(r.stdout)["keys"]}
    assert set(offline) == set(live)
    for key in ("doc:3", "arr:1", "scalar:1", "vec:1", "bloom:2", "cuckoo:1", "cms:1", "td:1"):
        if key not in live:  # vec:1 where the server has no vector sets
            continue
        assert offline[key]["elements"] == live[key]["elements"], key
        assert offline[key]["type_name"] == live[key]["type_name"], key


def test_a_module_type_with_no_model_is_unknown_and_the_total_says_its_share(
    tmp_path: Path,
) -> None:
    """TimeSeries (no build here) and any other module: bytes unknown, never a guess."""
    series = rdb_len(2) + rdb_len(1000) + rdb_len(5) + rdb_str(b"\x00" * 4000) + rdb_len(0)
    value = b"\x07" + rdb_str("ts:1") + b"\x81" + module_id("TSDB-TYPE", 4).to_bytes(8, "big")
    path = rdb_file(
        tmp_path, b"REDIS0012", value + series + b"\x00" + rdb_str("s:1") + rdb_str("v")
    )
    doc = load_json(invoke("memory", "--rdb", str(path), "--format", "json").stdout)
    totals, ts = doc["totals"], types_of(doc)["TSDB-TYPE"]
    assert totals["keys_unknown"] == 1 and ts["keys_unknown"] == 1 and ts["bytes"] == 0
    assert 0.9 < totals["unknown_share"] < 1  # nearly all the file's key bytes
    assert ts["type_name"] == "timeseries"
    table = invoke("memory", "--rdb", str(path), env={"COLUMNS": "200"})
    assert table.exit_code == 0, table.stderr
    row = next(line for line in table.stdout.splitlines() if "TSDB-TYPE (timeseries)" in line)
    assert "unknown" in row and "1 key of unknown bytes" in table.stdout
    module_rows = [e for e in doc["by_encoding"] if e["name"] == "module"]
    assert [(e["type"], e["keys_unknown"]) for e in module_rows] == [("TSDB-TYPE", 1)]


def test_the_json_model_reads_every_kind_of_root() -> None:
    assert json_estimate(b'{"a":1,"b":[1,2,{"c":3}],"d":"x,y"}')[1] == 3
    assert json_estimate(b"[[1],[2],3]")[1] == 3
    assert json_estimate(b'"text"')[1] is None and json_estimate(b"[]")[1] == 0
    small, big = json_estimate(b"[1,2,3]")[0], json_estimate(b"[100000000,2,3]")[0]
    assert small < big  # a wide integer is its own allocation


def digests(c: redis.Redis) -> dict[bytes, Any]:
    """Per key, what tells its value: DEBUG DIGEST-VALUE, and since RedisJSON and RedisBloom
    give it no digest function (every value of theirs digests to the same constant), also what
    the module serializes (DUMP: the same server re-serializing what it loaded), or for Top-K,
    whose DUMP carries unset padding, its INFO and list with counts."""
    out: dict[bytes, Any] = {}
    for k in c.scan_iter(count=1000):
        digest = c.execute_command("DEBUG", "DIGEST-VALUE", k)[0]
        kind = c.type(k)
        if kind == b"TopK-TYPE":
            seen = (
                c.execute_command("TOPK.INFO", k),
                c.execute_command("TOPK.LIST", k, "WITHCOUNT"),
            )
        elif kind == b"vectorset":  # the graph's DUMP depends on how it was rebuilt
            seen = (c.execute_command("VCARD", k), c.execute_command("VDIM", k))
        else:
            seen = c.dump(k)
        out[k] = (digest, seen)
    return out


def test_module_values_restore_digest_identical_into_a_server_with_the_modules(
    saved_modules: tuple[LocalServer, Path], tmp_path: Path
) -> None:
    server, path = saved_modules
    target = start_with_modules(tmp_path, Path(server.binary))
    try:
        url = f"redis://127.0.0.1:{target.port}"
        r = invoke("backup", "restore", str(path), "--url", url, "--yes", "--format", "json")
        assert r.exit_code == 0, r.stderr
        doc = load_json(r.stdout)
        assert doc["skipped"]["module_missing"] == 0 and doc["failed"] == 0
        want = digests(server.client())
        assert digests(target.client()) == want and len(want) == doc["restored"]
    finally:
        target.cleanup()


def test_module_values_are_skipped_and_named_where_the_target_lacks_the_module(
    saved_82: tuple[LocalServer, Path], tmp_path: Path
) -> None:
    """Debian's server with no module: the module keys are skipped, each module named."""
    _, path = saved_82
    target = start_server(LocalServer(dir=tmp_path))
    try:
        url = f"redis://127.0.0.1:{target.port}"
        r = invoke("backup", "restore", str(path), "--url", url, "--yes", "--format", "json")
        assert r.exit_code == 0, r.stderr  # skipped keys are reported, not an error
        doc = load_json(r.stdout)
        missing = doc["modules_missing"]
        assert {"ReJSON-RL", "MBbloom--"} <= set(missing)
        # vector sets are built into Redis 8: missing only where the target has no VADD
        try:
            target.client().execute_command("VADD")
        except redis.ResponseError as exc:
            built_in = "unknown command" not in str(exc).lower()
        assert ("vectorset" in missing) != built_in
        # the string, and the one vector set where the target has them built in
        assert missing["ReJSON-RL"] == 202 and doc["restored"] == (2 if built_in else 1)
        assert any("ReJSON-RL" in n for n in doc["notes"])
        assert target.client().get("plain:1") == b"v" * 100
    finally:
        target.cleanup()
