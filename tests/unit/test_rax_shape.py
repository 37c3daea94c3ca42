"""The shape of a stream's radix trees from their IDs (rax.py), no server: hand-drawn trees, and
random sets of IDs against the tree as rax defines it (a node where the IDs branch or end, one
compressed node for each run of bytes all of them share below)."""

from __future__ import annotations

import random

import pytest

from rediscope.core.rdbfile.rax import NODE_ESTIMATE, RaxCounter, group_bytes, shape


def _id(ms: int, seq: int) -> bytes:
    return ms.to_bytes(8, "big") + seq.to_bytes(8, "big")


def _nodes(ids: list[bytes], depth: int = 0) -> int:
    """rax's nodes for IDS (all sharing their first DEPTH bytes), by its own definition."""
    if depth == 16:
        return 1  # the key's node
    by: dict[int, list[bytes]] = {}
    for i in ids:
        by.setdefault(i[depth], []).append(i)
    if len(by) > 1:  # a node with one child per byte that follows
        return 1 + sum(_nodes(group, depth + 1) for group in by.values())
    shared = depth
    while shared < 16 and len({i[shared] for i in ids}) == 1:
        shared += 1
    return 1 + _nodes(ids, shared)  # one compressed node of the bytes all share


@pytest.mark.parametrize(
    ("ids", "nodes"),
    [
        ([], 1),  # an empty tree: its root
        ([_id(1, 0)], 2),  # the root compressing all 16 bytes, and the key
        ([_id(5, 1), _id(5, 2)], 4),  # root "15 shared bytes", a branch, two keys
        ([_id(5, 1), _id(6, 1)], 6),  # the branch at byte 8: each side compresses 8 bytes
    ],
)
def test_hand_drawn_trees(ids: list[bytes], nodes: int) -> None:
    got = shape(ids)
    assert (got.keys, got.nodes) == (len(set(ids)), nodes)
    assert got.estimate == 16 * len(set(ids)) + NODE_ESTIMATE * nodes


@pytest.mark.parametrize("seed", range(8))
def test_random_ids_give_the_tree_rax_builds(seed: int) -> None:
    rng = random.Random(seed)
    base = 1_700_000_000_000
    spread = rng.choice([3, 50, 100_000, 1 << 40])  # IDs in one ms ... years apart
    ids = sorted(
        {_id(base + rng.randrange(spread), rng.randrange(1 + seed * 3)) for _ in range(2000)}
    )
    counter = RaxCounter()
    for i in ids:  # one at a time, in order, as the RDB holds them
        counter.add(i)
    got = counter.shape()
    assert got.nodes == _nodes(ids) and got.keys == len(ids)
    assert got.allocated >= 16 * got.nodes  # every node is an allocation of 16 bytes or more


def test_a_group_costs_its_tree_its_nacks_and_its_consumers() -> None:
    ids = [_id(10, s) for s in range(100)]
    pel, half = shape(ids), shape(ids[:50])
    cost = group_bytes(3, pel, [(5, half), (3, shape(ids[50:]))], False)
    consumers = 2 * 32 + 5 + 3 + half.estimate + shape(ids[50:]).estimate
    assert cost == 40 + pel.estimate + 24 * 100 + consumers
    assert group_bytes(3, pel, [], True) == 40 + pel.allocated + 32 * 100  # NACKs as allocated
