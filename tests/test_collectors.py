"""Tier 1: collectors fed with record batches made here, no server. A second key source (an
RDB file) feeds them the same way."""

from __future__ import annotations

from rediscope.core.collectors.bigkeys import BigKeysCollector
from rediscope.core.collectors.freq import FreqCollector
from rediscope.core.collectors.memory import MemoryCollector
from rediscope.core.collectors.patterns import TTL_BUCKETS, PatternCollector
from rediscope.core.collectors.topn import KeyEntry, KeyTally, TopN, TypeTally
from rediscope.core.pipeline.records import Batch


def _batch(node: str = "n1", db: int = 0, offset: int = 0) -> Batch:
    """Ten strings of rising size, three hashes, one big list."""
    keys = [f"s:{offset + i}".encode() for i in range(10)]
    keys += [f"h:{offset + i}".encode() for i in range(3)] + [b"list:big"]
    return Batch(
        node=node,
        db=db,
        keys=keys,
        types=[b"string"] * 10 + [b"hash"] * 3 + [b"list"],
        memory=[100 * (i + 1) for i in range(10)] + [80, 90, 70] + [200_000],
        lengths=[i + 1 for i in range(10)] + [2, 3, 1] + [6000],
        ttl_ms=[None] * 10 + [60_000, -1, -1] + [-1],
        encoding=[b"embstr"] * 10 + [b"listpack"] * 3 + [b"quicklist"],
        freq=[i for i in range(14)],
    )


def test_topn_keeps_the_biggest_and_merges_within_the_bound() -> None:
    a, b = TopN(3), TopN(3)
    for score in (5, 1, 9, 7):
        a.push(KeyEntry(score, key=f"a{score}".encode()))
    for score in (8, 2):
        b.push(KeyEntry(score, key=f"b{score}".encode()))
    assert [e.score for e in a.ranked()] == [9, 7, 5] and a.floor() == 5
    a.merge(b)
    assert [e.key for e in a.ranked()] == [b"a9", b"b8", b"a7"] and len(a) == 3


def test_bigkeys_collector_from_a_hand_made_batch() -> None:
    col = BigKeysCollector(top=2, min_bytes=1000)
    col.add(_batch())
    assert [e.key for e in col.by_bytes.ranked()] == [b"list:big", b"s:9"]
    assert [e.key for e in col.by_elements["string"].ranked()] == [b"s:9", b"s:8"]
    assert col.totals["hash"] == TypeTally(3, 240, 6, 3)  # 3 keys, all counted
    assert col.over == 2 and {e.key for e in col.offenders} == {b"list:big", b"s:9"}


def test_merging_per_node_collectors_equals_one_fed_everything() -> None:
    one = BigKeysCollector(top=3)
    one.add(_batch("n1"))
    one.add(_batch("n2", offset=100))
    left, right = BigKeysCollector(top=3), BigKeysCollector(top=3)
    left.add(_batch("n1"))
    right.add(_batch("n2", offset=100))
    left.merge(right)
    assert left.totals == one.totals
    assert [e.score for e in left.by_bytes.ranked()] == [e.score for e in one.by_bytes.ranked()]


def test_memory_collector_from_a_hand_made_batch() -> None:
    col = MemoryCollector()
    col.add(_batch())
    assert col.by_type[b"string"] == KeyTally(10, 5500) and col.by_type[b"list"] == KeyTally(
        1, 200_000
    )
    assert col.by_encoding[(b"hash", b"listpack")] == KeyTally(3, 240)
    assert col.big_strings == KeyTally(0, 0) and col.big_collections == KeyTally(1, 200_000)
    assert [e.key for e in col.big_collections_top.ranked()] == [b"list:big"]
    assert col.n == 14 and col.sum == 5500 + 240 + 200_000


def test_pattern_and_freq_collectors_from_a_hand_made_batch() -> None:
    pat = PatternCollector(needs=frozenset({"ttl", "memory"}))
    pat.add(_batch())
    table = pat.finish()
    assert table["s:*"].keys == 10 and table["h:*"].keys == 3
    ttl = dict(zip(TTL_BUCKETS, table["h:*"].ttl, strict=True))
    assert ttl["lt_1h"] == 1 and ttl["no_ttl"] == 2
    freq = FreqCollector(top=2, min_freq=5, separators=":")
    freq.add(_batch())
    assert [(e.key, e.score) for e in freq.hottest.ranked()] == [(b"list:big", 13), (b"h:2", 12)]
    assert freq.total == 14 and freq.zero == 1
