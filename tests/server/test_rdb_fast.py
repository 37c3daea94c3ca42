"""The compiled RDB loop (_fast.c) against the Python reader it stands in for: the same rows,
the same file facts and the same errors, on files written by the test server in every encoding
it writes, on the legacy files in tests/data, and on damaged copies of them."""

from __future__ import annotations

import random
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import redis

from rediscope.core.demo.keyspace import load_demo
from rediscope.core.localserver import LocalServer
from rediscope.core.memory.command import memory
from rediscope.core.pipeline.offload import Offloaded
from rediscope.core.pipeline.options import ScanOptions
from rediscope.core.rdbfile import compiled, source
from rediscope.core.rdbfile.reader import BATCH
from rediscope.core.rdbfile.source import RdbSource, file_inputs
from rediscope.render.jsonout import to_jsonable
from tests.helpers import start_server
from tests.helpers.rdb import (
    damaged,
    populate,
    read_both,
    saved,
)


@pytest.fixture(scope="module")
def writer(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalServer]:
    server = start_server(LocalServer(dir=tmp_path_factory.mktemp("fastrdb")))
    try:
        yield server
    finally:
        server.cleanup()


def _extra(c: redis.Redis) -> None:
    """Keys the compiled loop leaves to Python or reads in a way of its own: integer-encoded
    and compressed key names, integer strings at the edges of 64 bits, a one-node list."""
    c.set("12345", "v")
    c.set("-7", "9223372036854775807")
    c.set("k" * 200, "-9223372036854775808")  # a key long enough to be compressed
    c.set("s:notint", "007")
    c.set("s:neg0", "-0")
    c.set("s:over", "9223372036854775808")
    c.rpush("l:one", "x")
    c.sadd("set:one", 5)
    c.zadd("z:ints", {str(i): i for i in range(200)})  # integer-encoded members
    c.hset("h:" + "x" * 30, mapping={"a" * 40: "b" * 40})  # a compressed listpack


@pytest.mark.parametrize(
    "settings",
    [
        {"maxmemory-policy": "allkeys-lru", "rdbcompression": "yes"},
        {"maxmemory-policy": "allkeys-lfu", "rdbcompression": "no"},
        {"maxmemory-policy": "noeviction", "list-max-ziplist-size": "4", "set-max-intset-entries": "2"},
    ],
    ids=["lru-compressed", "lfu-plain", "small-nodes"],
)  # fmt: skip
def test_both_paths_read_a_saved_file_the_same(
    writer: LocalServer, settings: dict[str, str], tmp_path: Path
) -> None:
    c = writer.client()
    c.flushall()
    for name, value in settings.items():
        c.config_set(name, value)
    populate(c)
    _extra(c)
    data = saved(writer).read_bytes()
    c.config_set("maxmemory-policy", "noeviction")
    c.close()
    fast, slow = read_both(data, tmp_path)
    assert fast == slow
    assert read_both(data, tmp_path, chunk=700) == (fast, fast)
    rows, info, error = fast
    assert error is None and info["complete"]
    assert info["keys_expired"] >= 1  # the 600 s key, an hour on
    assert sum(len(r[2]) for r in rows) == info["keys"] - info["keys_expired"] - info["keys_empty"]


def test_both_paths_fail_the_same_on_damaged_files(writer: LocalServer, tmp_path: Path) -> None:
    """Truncated at many places, a byte flipped at many places: the same rows before the damage
    and the same one error (message, offset, key), or the same complete read."""
    c = writer.client()
    c.flushall()
    c.config_set("rdbcompression", "yes")
    populate(c)
    _extra(c)
    data = saved(writer).read_bytes()
    c.close()
    rnd = random.Random(17)
    errors = 0
    for _ in range(150):
        fast, slow = read_both(damaged(data, rnd), tmp_path, chunk=rnd.choice([500, 1 << 20]))
        assert fast == slow
        errors += fast[2] is not None
    assert errors > 75  # most damage is caught (the CRC catches the rest of the flips)


def _memory_doc(path: Path, progress: Any = None) -> Any:
    """The memory report of PATH, as its JSON document holds it (timings left out)."""
    report = memory(RdbSource(file_inputs([str(path)])), ScanOptions(), progress=progress)
    doc = to_jsonable(report)
    doc.pop("generated_at")
    doc["scan"].pop("seconds")
    for node in doc["scan"]["nodes"]:
        node.pop("seconds")
    return doc


def test_an_offloaded_collector_gives_the_same_report(
    writer: LocalServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """memory's pattern collector in a worker process (what a big file gets), with the bigkeys
    collector along, gives the report it gives here, on a keyspace of every type, and after a
    Ctrl-C in the middle of the read."""
    if not compiled.FAST:
        pytest.skip("the worker is used with the compiled reader only")
    c = writer.client()
    c.flushall()
    load_demo(writer.port, scale=0.05)
    populate(c)
    data = saved(writer).read_bytes()
    c.close()
    path = tmp_path / "dump.rdb"
    path.write_bytes(data)
    here = _memory_doc(path)
    started: list[Offloaded] = []
    real_init = Offloaded.__init__

    def spy(self: Offloaded, collector: Any, *along: Any) -> None:
        real_init(self, collector, *along)
        started.append(self)

    monkeypatch.setattr(Offloaded, "__init__", spy)
    monkeypatch.setattr(source, "OFFLOAD_MIN_BYTES", 0)
    assert _memory_doc(path) == here
    assert len(started) == 1 and started[0]._proc.returncode == 0
    assert [type(c).__name__ for c in started[0].results()] == [
        "PatternCollector",
        "BigKeysCollector",
    ]
    assert here["by_pattern"] and here["scan"]["keys_scanned"] > 10_000

    calls = [0]

    def interrupt(*_args: Any) -> None:  # Ctrl-C after a few batches
        calls[0] += 1
        if calls[0] == 4:
            raise KeyboardInterrupt

    doc = _memory_doc(path, progress=interrupt)
    assert doc["scan"]["interrupted"] and len(started) == 2
    assert doc["scan"]["keys_scanned"] == 4 * BATCH
    assert sum(p["keys"] for p in doc["by_pattern"]) == 4 * BATCH  # what the worker saw
