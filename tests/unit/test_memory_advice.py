"""memory's recommendations from a hand-fed collector and hand-made server totals: each fires
on the evidence it names, none fires on a figure that could not be read. No server."""

from __future__ import annotations

from dataclasses import replace

from rediscope.core.collectors.memory import BIG_COLLECTION, BIG_STRING, MemoryCollector
from rediscope.core.memory.advice import recommendations
from rediscope.core.memory.report import Totals
from rediscope.core.pipeline.records import Batch
from rediscope.core.units import FRAGMENTATION_MIN_USED

QUIET = Totals(
    used_memory=10 << 20,
    used_memory_dataset=8 << 20,
    used_memory_overhead=2 << 20,
    used_memory_rss=12 << 20,
    mem_fragmentation_ratio=1.2,
    maxmemory=1 << 30,
    maxmemory_policy="allkeys-lru",
    keys_bytes=5 << 20,
    keys_bytes_estimate=5 << 20,
    estimate_ci95=None,
    keys=3,
)


def fed(db: int = 0, big: bool = False) -> MemoryCollector:
    keys = [b"s:1", b"l:1", b"s:big"] if big else [b"s:1", b"l:1"]
    mem = MemoryCollector()
    mem.add(
        Batch(
            node="n1",
            db=db,
            keys=keys,
            types=[b"string", b"list", b"string"][: len(keys)],
            memory=[120, 9000, BIG_STRING + 1][: len(keys)],
            lengths=[5, BIG_COLLECTION + 1 if big else 10, BIG_STRING + 1][: len(keys)],
            ttl_ms=[-1] * len(keys),
            encoding=[b"embstr", b"quicklist", b"raw"][: len(keys)],
        )
    )
    return mem


def ids(mem: MemoryCollector, totals: Totals) -> list[str]:
    return [r.id for r in recommendations(mem, {}, totals, {}, "server", 1.0)]


def test_a_healthy_keyspace_gets_no_advice() -> None:
    assert ids(fed(), QUIET) == []


def test_big_values_are_named_with_their_keys() -> None:
    recs = recommendations(fed(big=True), {}, QUIET, {}, "server", 1.0)
    by_id = {r.id: r for r in recs}
    assert set(by_id) == {"big_strings", "big_collections"}
    assert by_id["big_strings"].evidence["examples"] == [b"s:big"]
    assert by_id["big_collections"].evidence["examples"] == [b"l:1"]
    sampled = recommendations(fed(big=True), {}, QUIET, {}, "server", 10.0)
    assert {r.evidence["keys"] for r in sampled} == {10}  # a 10 % sample: scaled up


def test_server_figures_each_with_its_threshold() -> None:
    frag = replace(QUIET, mem_fragmentation_ratio=1.6, used_memory=FRAGMENTATION_MIN_USED)
    assert ids(fed(), frag) == ["high_fragmentation"]
    small = replace(frag, used_memory=FRAGMENTATION_MIN_USED - 1)  # a small server: noise
    assert ids(fed(), small) == []
    assert ids(fed(), replace(QUIET, maxmemory=0)) == ["no_maxmemory"]
    near = replace(QUIET, maxmemory_policy="noeviction", maxmemory=(10 << 20) * 5 // 4 - 1)
    assert ids(fed(), near) == ["noeviction_near_limit"]  # over 80 % of the limit
    unread = replace(QUIET, used_memory=None, maxmemory=None, mem_fragmentation_ratio=None)
    assert ids(fed(), unread) == []  # INFO not read: nothing said about it


def test_keys_in_two_dbs() -> None:
    mem = fed(db=0)
    mem.merge(fed(db=3))
    assert ids(mem, QUIET) == ["multiple_dbs"]
