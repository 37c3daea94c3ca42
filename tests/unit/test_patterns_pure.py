"""Tier 1: key-pattern inference and folding. No server."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import pytest

from rediscope.core.collectors.patterns import PatternCollector
from rediscope.core.patterns.command import pattern_tree, stats_from
from rediscope.core.patterns.inference import PatternInferer, Rule, load_rules
from rediscope.core.pipeline.records import Batch, ScanSummary
from rediscope.errors import ConfigError
from tests.helpers.patterns import RNG, schemes


def test_each_scheme_is_one_pattern_holding_all_its_keys() -> None:
    inferer = PatternInferer()
    for expected, keys in schemes().items():
        assert len(set(keys)) == len(keys), expected
        got = Counter(inferer.infer(k) for k in keys)
        assert got == Counter({expected: len(keys)}), (expected, got.most_common(3))


@pytest.mark.parametrize(
    ("key", "pattern"),
    [
        (b"k:deadbeef", "k:deadbeef"),  # a word made of hex letters, no digit: literal
        (b"k:a1", "k:a1"),  # short letters+digit: literal until the fold says otherwise
        (b"order12345", "*"),  # letters with a long digit run
        (b"ts:1700000000000", "ts:*"),  # epoch millis
        (b"", ""),
        (b":::", ":::"),
        (b"page=3", "page=*"),
        (b"x:2026-11-25T10", "x:*"),
        (b"feature:dark_mode", "feature:dark_mode"),
    ],
)
def test_single_keys(key: bytes, pattern: str) -> None:
    assert PatternInferer().infer(key) == pattern


def test_other_separators() -> None:
    inferer = PatternInferer(separators=":/|#")
    assert inferer.infer(b"img/2026/11/photo.jpg") == "img/*/*/photo.jpg"
    assert inferer.infer(b"a|b#42") == "a|b#*"


def test_rules_win_first_match(tmp_path: Path) -> None:
    rules = [
        Rule(name="legacy sessions", regex=r"^sess_[0-9a-f]+$"),
        Rule(name="user profiles", glob="user:*:profile"),
        Rule(name="users", glob="user:*"),
    ]
    inferer = PatternInferer(rules=rules)
    assert inferer.infer(b"sess_abc123") == "legacy sessions"
    assert inferer.infer(b"user:7:profile") == "user profiles"
    assert inferer.infer(b"user:7") == "users"
    path = tmp_path / "rules.yaml"
    path.write_text("- glob: 'a:*'\n  name: A\n- regex: '^b'\n- 'c:*'\n")
    loaded = load_rules(path)
    assert [r.name for r in loaded] == ["A", "^b", "c:*"]
    path.write_text("- regex: '('\n")
    with pytest.raises(ConfigError, match="invalid regex"):
        load_rules(path)
    path.write_text("{a: 1}\n")
    with pytest.raises(ConfigError, match="must be a list"):
        load_rules(path)
    path.write_text("- {glob: x, regex: y}\n")
    with pytest.raises(ConfigError, match="exactly one"):
        load_rules(path)


def _summary(n: int) -> ScanSummary:
    return ScanSummary(
        nodes=(),
        keys_scanned=n,
        keys_vanished=0,
        keys_retyped=0,
        seconds=0.0,
        sampled=False,
        complete=True,
        interrupted=False,
        extrapolation=1.0,
    )


def _collect(keys: list[bytes], shards: int = 1) -> dict[str, int]:
    """Feed keys through per-shard collectors in batches, merge, finish: pattern -> keys."""
    cols = [PatternCollector(needs=frozenset()) for _ in range(shards)]
    for i in range(0, len(keys), 97):
        chunk = keys[i : i + 97]
        col = cols[(i // 97) % shards]
        col.add(Batch(node="n", db=0, keys=chunk, types=[b"string"] * len(chunk)))
    main = cols[0]
    for other in cols[1:]:
        main.merge(other)
    table = main.finish()
    return {s.pattern: s.keys for s in stats_from(table, _summary(len(keys)), False, None)}


def test_fold_is_order_and_shard_independent_and_conserves_keys() -> None:
    words = [f"w{RNG.getrandbits(40):x}z" for _ in range(3000)]  # distinct literal words
    keys = [f"tags:{w}".encode() for w in words]
    keys += [f"{{tenant{i % 40}}}:config".encode() for i in range(400)]
    keys += [f"leaderboard:game{i % 20}:2026-11-{1 + i % 28:02d}".encode() for i in range(200)]
    keys += [b"api:v2:user:1", b"api:v2:user:2", b"feature:a", b"feature:b"]
    expected = {
        "tags:*": 3000,
        "{tenant*}:config": 400,
        "leaderboard:game*:*": 200,
        "api:v2:user:*": 2,
        "feature:a": 1,
        "feature:b": 1,
    }
    assert _collect(keys) == expected
    shuffled = keys[:]
    RNG.shuffle(shuffled)
    assert _collect(shuffled, shards=3) == expected


def test_table_stays_bounded_with_a_million_distinct_words() -> None:
    col = PatternCollector(needs=frozenset())
    for start in range(0, 200_000, 1000):
        chunk = [f"k:{RNG.getrandbits(64):x}q:{j % 3}".encode() for j in range(start, start + 1000)]
        col.add(Batch(node="n", db=0, keys=chunk, types=[b"string"] * 1000))
        assert len(col.table) <= 2 * PatternCollector.COMPACT_AT + 10
    table = col.finish()
    assert sum(a.keys for a in table.values()) == 200_000
    assert set(table) == {"k:*:*"}


def test_tree_totals_at_each_level() -> None:
    stats = tuple(
        stats_from(
            {p: _agg(n) for p, n in {"user:*": 10, "user:*:profile": 5, "cache:page:*": 7}.items()},
            _summary(22),
            False,
            None,
        )
    )
    root = pattern_tree(stats)
    assert root.keys == 22
    assert root.children["user"].keys == 15
    assert root.children["user"].children["*"].children["profile"].keys == 5
    assert root.children["cache"].children["page"].keys == 7


def _agg(n: int) -> object:
    from rediscope.core.collectors.patterns import _Agg

    agg = _Agg()
    agg.keys = n
    return agg


def test_shortcuts_give_what_inference_gives() -> None:
    """The memo (keys alike but for their digits) and the `head:<hex id>` shortcut never change
    a pattern: every key of every scheme, plus keys made to trip them (digits that matter in a
    literal word, IPv6 addresses, binary heads, many separators, hex words without digits)."""
    tricky = [
        b"v2:x", b"v3:x", b"api:v2:order:1", b"api:v3:order:1", b"fe80::1:abcdef12",
        b"\x00:abcdef1234", b"k:\xc3\xa9:abcdef1234", b"::abcdef12", b"a:", b":", b"",
        b"head:abcdefab", b"head:deadbeefcafe", b"head:12345678", b"x:DEADBEEF12",
        b"s:6513270e-269e-4d37-b2a7-4de452e6b438", b"s:6513270e-269e-4d37-b2a7-4de452e6b43g",
        b"game12:2026-11-01", b"game13:2026-11-01", b"a:b:c:d:e:ff00aa11",
    ]  # fmt: skip
    keys = [k for ks in schemes(200).values() for k in ks] + tricky * 2
    fast, plain = PatternInferer(), PatternInferer()
    assert [fast.infer(k) for k in keys] == [plain._infer(k) for k in keys]
    assert fast.infer(b"v2:x") == "v2:x" and fast.infer(b"v3:x") == "v3:x"
