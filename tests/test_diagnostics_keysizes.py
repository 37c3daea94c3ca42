"""The server's own size distribution (issue 37, item 4): INFO KEYSIZES on Redis 8.2 as
`size_distribution` in memory and bigkeys, compared with a --sample scan; null on a server
without it. The Redis 8.2 tests need ../shared (skipped with one line where absent, failed in
CI)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import redis

from rediscope.core.diagnostics.keysizes import SizeBucket, TypeSizes, bucket_min, build, parse
from rediscope.core.localserver import SERVER_BIN_ENV, LocalServer, start_cluster
from rediscope.render.sizes_tables import histogram
from tests.conftest import _start, invoke, load_json
from tests.test_modules_live import REDIS_82, need


@pytest.fixture(scope="module")
def redis82(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalServer]:
    server = _start(LocalServer(dir=tmp_path_factory.mktemp("keysizes"), binary=need(REDIS_82)))
    try:
        c = server.client()
        p = c.pipeline(transaction=False)
        for i in range(6000):
            p.set(f"s:{i}", "x" * (i % 200))
        for i in range(1000):
            p.rpush(f"l:{i}", *range(i % 40 + 1))
        p.hset("h:1", mapping={f"f{i}": i for i in range(5000)})
        p.execute()
        c.execute_command("SELECT", 2)
        c.set("other:db", "v")
        c.close()
        yield server
    finally:
        server.cleanup()


def test_the_sections_buckets_are_read_with_their_suffixes() -> None:
    hists: dict[tuple[int, str], dict[int, int]] = {}
    data = {"db0_distrib_strings_sizes": {"0": 1, "4": 10, "4K": 1, "2M": 3}, "other": 1}
    assert parse(data, hists) and not parse({"used_memory": 5}, {})
    parse({"db0_distrib_strings_sizes": "4=5,1G=1", "db1_distrib_hashes_items": "2=2"}, hists)
    dist = build(hists, 2)
    strings = next(t for t in dist.types if t.type == "string")
    assert [(b.min, b.max, b.keys) for b in strings.buckets] == [
        (0, 0, 1),
        (4, 7, 15),
        (4096, 8191, 1),
        (2 << 20, (4 << 20) - 1, 3),
        (1 << 30, (2 << 30) - 1, 1),
    ]
    assert strings.unit == "bytes" and strings.keys == 21
    assert bucket_min("16K") == 16384 and dist.nodes == 2


def test_the_table_histogram_has_a_cell_per_power_of_two() -> None:
    t = TypeSizes(0, "list", "elements", 9, (SizeBucket(1, 1, 1), SizeBucket(8, 15, 8)))
    assert histogram(t) == "▁··█"  # 1, 2-3, 4-7, 8-15


def test_memory_and_bigkeys_report_the_servers_own_distribution(redis82: LocalServer) -> None:
    info = redis82.client().info("keysizes")
    every_db = f"redis://127.0.0.1:{redis82.port}"
    doc = load_json(invoke("memory", "--url", every_db, "--format", "json").stdout)
    dist = doc["size_distribution"]
    assert dist["source"] == "INFO KEYSIZES" and dist["nodes"] == 1 and dist["comparison"] == []
    rows = {(t["db"], t["type"]): t for t in dist["types"]}
    assert rows[(0, "string")]["keys"] == 6000 and rows[(2, "string")]["keys"] == 1
    assert rows[(0, "hash")]["buckets"] == [{"min": 4096, "max": 8191, "keys": 1}]
    lists = {b["min"]: b["keys"] for b in rows[(0, "list")]["buckets"]}
    assert lists == {int(k): v for k, v in info["db0_distrib_lists_items"].items()}
    by_type = {t["name"]: t["keys"] for t in doc["by_type"]}
    assert by_type["list"] == rows[(0, "list")]["keys"]  # a full scan agrees with the server
    assert by_type["string"] == 6001
    assert any("INFO KEYSIZES" in n for n in doc["notes"])
    big = invoke("bigkeys", "--url", every_db, "-n", "2", "--format", "json")
    one = load_json(big.stdout)["size_distribution"]
    assert [(t["db"], t["type"], t["keys"]) for t in one["types"]] == [(2, "string", 1)]


def test_a_sample_says_how_its_figures_compare(redis82: LocalServer) -> None:
    r = invoke("bigkeys", "--url", redis82.url, "--sample", "2000", "--format", "json")
    assert r.exit_code == 0, r.stderr
    comparison = {c["type"]: c for c in load_json(r.stdout)["size_distribution"]["comparison"]}
    strings = comparison["string"]
    assert strings["server_keys"] == 6000 and strings["scan_keys"] > 0
    assert 0 <= strings["distance"] < 0.5  # a sample of the same keyspace has its shape
    args = ("--url", redis82.url, "--sample", "200", "--match", "l:*", "--format", "json")
    filtered = load_json(invoke("bigkeys", *args).stdout)
    assert filtered["size_distribution"]["comparison"] == []  # not the keyspace counted
    assert any("filtered" in n for n in filtered["notes"])
    table = invoke("bigkeys", "--url", redis82.url, "--sample", "2000", env={"COLUMNS": "160"})
    assert "size distribution (INFO KEYSIZES" in table.stdout
    assert "the sample beside INFO KEYSIZES" in table.stdout


def test_a_server_without_keysizes_reports_none(plain: LocalServer) -> None:
    c = plain.client()
    c.set("k", "v")
    if c.info("keysizes"):
        pytest.skip("this server has INFO KEYSIZES (REDISCOPE_SERVER_BIN is Redis 8+)")
    doc = load_json(invoke("memory", "--url", plain.url, "--format", "json").stdout)
    assert doc["size_distribution"] is None
    assert not any("KEYSIZES" in n for n in doc["notes"])
    saved = plain.client()
    saved.save()
    assert plain.dir is not None
    rdb = invoke("bigkeys", "--rdb", str(plain.dir / "dump.rdb"), "--format", "json")
    assert load_json(rdb.stdout)["size_distribution"] is None


@pytest.fixture
def redis82_cluster() -> Iterator[list[LocalServer]]:
    need(REDIS_82)
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv(SERVER_BIN_ENV, str(REDIS_82.parent))
        servers = start_cluster(3)
    try:
        yield servers
    finally:
        for server in servers:
            server.cleanup()


def test_a_cluster_sums_every_primarys_histogram(redis82_cluster: list[LocalServer]) -> None:
    c = redis.RedisCluster(host="127.0.0.1", port=redis82_cluster[0].port)
    for i in range(300):
        c.set(f"k:{i}", "x" * 10)  # every one in the 8..15 bytes bucket, on all three shards
    c.close()
    port = str(redis82_cluster[0].port)
    dist = load_json(invoke("bigkeys", "-p", port, "--format", "json").stdout)["size_distribution"]
    assert dist["nodes"] == 3
    assert dist["types"] == [
        {
            "db": 0,
            "type": "string",
            "unit": "bytes",
            "keys": 300,
            "buckets": [{"min": 8, "max": 15, "keys": 300}],
        }
    ]
