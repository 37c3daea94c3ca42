"""Tier 1: the collectors sum a batch per group of rows (type, encoding, pattern) and look at a
key on its own only where it can enter a top-N: fed one batch or the same rows one by one (where
the per-row path is all there is), they must end in the same state. The compiled grouping and
the shortcuts of pattern inference are held to their Python references."""

from __future__ import annotations

import os
import random
import string
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from rediscope.core.collectors import columns
from rediscope.core.collectors.bigkeys import BigKeysCollector
from rediscope.core.collectors.memory import MemoryCollector
from rediscope.core.collectors.patterns import PatternCollector
from rediscope.core.patterns.inference import PatternInferer, _hex_id, _hex_id_ascii
from rediscope.core.pipeline.records import Batch
from rediscope.core.rdbfile.details import Details

TYPES = {
    b"string": (b"embstr", b"int", b"raw"),
    b"hash": (b"listpack", b"hashtable"),
    b"set": (b"intset", b"listpack", b"hashtable"),
    b"zset": (b"listpack", b"skiplist"),
    b"list": (b"quicklist", b"listpack"),
    b"ReJSON-RL": (b"module",),
}


def test_the_compiled_grouping_is_built() -> None:
    """CI builds it with the compiled RDB reader (pip install -e .); elsewhere the Python one
    gives the same groups."""
    if not os.environ.get("CI") and not columns.COMPILED:
        pytest.skip("the compiled grouping is not built here (no C compiler at install)")
    assert columns.COMPILED


values = st.one_of(
    st.sampled_from([b"string", b"hash", "x", 1, 1.0, True, None, (b"a", None), (b"a", b"b")]),
    st.binary(max_size=3),
    st.integers(-3, 3),
)


@given(st.lists(values, max_size=60))
def test_compiled_and_python_grouping_agree(column: list[Any]) -> None:
    got, want = columns.group_rows(column), columns.py_group_rows(column)
    assert got == want and list(got) == list(want)  # the same groups, in the same order


def test_grouping_refuses_what_is_not_a_sequence_of_hashables() -> None:
    with pytest.raises(TypeError):
        columns.group_rows([[1], [2]])
    with pytest.raises(TypeError):
        columns.group_rows(5)  # type: ignore[arg-type]


ascii_text = st.text(alphabet=string.hexdigits + "-gxz: .\x01", max_size=40)


def _uuid_shaped(draw: st.DrawFn) -> str:
    parts = [
        draw(st.text(alphabet=string.hexdigits + "g", min_size=n, max_size=n))
        for n in (8, 4, 4, 4, 12)
    ]
    return "-".join(parts)


@given(st.one_of(ascii_text, st.composite(_uuid_shaped)()))
def test_hex_ids_are_told_apart_in_bytes_as_in_text(seg: str) -> None:
    assert _hex_id_ascii(seg.encode()) == _hex_id(seg)


key_parts = st.one_of(
    st.sampled_from(["user", "session", "cache", "page", "v2", "tags", "game12", ""]),
    st.text(alphabet=string.hexdigits, min_size=6, max_size=40),
    st.uuids().map(str),
    st.integers(0, 10**6).map(str),
    st.text(max_size=6),
)


@settings(max_examples=300)
@given(
    st.lists(st.lists(key_parts, min_size=1, max_size=4), max_size=40), st.sampled_from([":", ":/"])
)
def test_inferring_a_batch_gives_each_key_its_pattern(parts: list[list[str]], seps: str) -> None:
    keys = [":".join(p).encode("utf-8", "surrogatepass") for p in parts]
    keys += keys[: len(keys) // 2]  # keys seen before: the remembered shapes and heads
    one_by_one = PatternInferer(seps)
    assert PatternInferer(seps).infer_many(keys) == [one_by_one.infer(k) for k in keys]


def _batch(rng: random.Random, n: int) -> Batch:
    """N keys of every type, with sizes that tie (ties decide by key name), unknown sizes and
    lengths (None), TTLs, and a few big strings and collections."""
    types = [rng.choice(list(TYPES)) for _ in range(n)]
    lengths = [None if t == b"ReJSON-RL" else rng.choice([1, 3, 3, 200, 300, 6000]) for t in types]
    memory: list[int | None] = []
    for t in types:
        big = 200_000 if t == b"string" and rng.random() < 0.05 else rng.choice([50, 64, 64, 900])
        memory.append(None if t == b"ReJSON-RL" and rng.random() < 0.5 else big)
    return Batch(
        node=rng.choice(["n1", "n2"]),
        db=0,
        keys=[f"{rng.choice(['user', 'session'])}:{rng.randrange(40)}".encode() for _ in range(n)],
        types=types,
        memory=memory,
        lengths=lengths,
        ttl_ms=[rng.choice([-1, -1, 5_000, 90_000_000]) for _ in range(n)],
        encoding=[rng.choice(TYPES[t]) for t in types],
        idle=[None] * n,
        freq=[None] * n,
        serialized=[rng.randrange(10, 100) for _ in range(n)],
    )


def _rows(b: Batch) -> list[Batch]:
    """B's rows as batches of one row each."""
    cols = (
        "keys",
        "types",
        "memory",
        "lengths",
        "ttl_ms",
        "encoding",
        "idle",
        "freq",
        "serialized",
    )
    return [
        Batch(b.node, b.db, **{c: [getattr(b, c)[i]] for c in cols}) for i in range(len(b.keys))
    ]


def _state(c: Any) -> Any:
    """What a collector ends with, comparable between two instances."""
    if isinstance(c, Details):
        return c.lookup()
    if isinstance(c, PatternCollector):
        table = c.finish()
        return {p: (a.keys, a.bytes, a.types, a.ttl, a.examples, a.sizes and a.sizes.counts,
                    a.elements, a.lengths and a.lengths.counts) for p, a in table.items()}  # fmt: skip
    out = {}
    for name, v in vars(c).items():
        if hasattr(v, "ranked"):
            v = [(e.score, e.key, e.db, e.node, e.type, e.bytes, e.elements) for e in v.ranked()]
        elif name == "sizes":
            v = {
                t: s.counts
                for t, s in (v.bytes | {f"e:{k}": e for k, e in v.elements.items()}).items()
            }
        elif name == "by_elements":
            v = {t: [(e.score, e.key) for e in heap.ranked()] for t, heap in v.items()}
        elif isinstance(v, dict):
            v = list(v.items())  # the order too
        out[name] = v
    return out


@pytest.mark.parametrize("seed", range(12))
def test_a_batch_and_its_rows_one_by_one_end_in_the_same_state(seed: int) -> None:
    rng = random.Random(seed)
    batches = [_batch(rng, rng.randrange(1, 400)) for _ in range(4)]

    def make() -> list[Any]:
        return [MemoryCollector(), BigKeysCollector(5, min_bytes=800, min_elements=300), Details(),
                PatternCollector(":", (), frozenset({"memory", "ttl", "length"}))]  # fmt: skip

    whole, rows = make(), make()
    for b in batches:
        for c in whole:
            c.add(b)
        for row in _rows(b):
            for c in rows:
                c.add(row)
    for a, b in zip(whole, rows, strict=True):
        assert _state(a) == _state(b), type(a).__name__
