"""The scan's typed walks and request builder: diverged cursors, the type predictor's bounds, the
rendered commands. No server."""

from __future__ import annotations

from rediscope.core.scan.predict import MAX_SHAPES, Predictor, shape
from rediscope.core.scan.typed import UNTYPED, Walks, cut, split, walks_for


def test_split_and_cut() -> None:
    """Diverged cursors: the step is walked again untyped (or taken from the untyped reply)."""
    walks = Walks((b"string", b"hash"), False)
    ok = split([[b"7", [b"a"]], [b"7", [b"b", b"c"]]], walks)
    assert (ok.cursor, ok.typed, ok.diverged) == (
        b"7",
        [(b"string", [b"a"]), (b"hash", [b"b", b"c"])],
        False,
    )
    assert split([[b"7", [b"a"]], [b"9", []]], walks).diverged
    with_untyped = Walks((b"string", b"hash"), True)
    got = split([[b"7", [b"a"]], [b"7", []], [b"7", [b"a", b"m"]]], with_untyped)
    assert got.typed == [(b"string", [b"a"])] and got.untyped == [b"m"]  # m: a module type
    got = split([[b"7", [b"a"]], [b"5", []], [b"9", [b"a", b"m"]]], with_untyped)
    assert (got.cursor, got.typed, got.untyped) == (b"9", [], [b"a", b"m"])
    step = split([[b"3", [b"s1", b"s2", b"s3", b"s4"]], [b"3", [b"h1", b"h2"]]], walks)
    half = cut(step, 3)
    assert sum(len(k) for _, k in half.typed) == 3 and {t for t, _ in half.typed} == {
        b"string",
        b"hash",
    }
    assert walks_for(None, False, True) == (UNTYPED, UNTYPED)
    assert walks_for("zset", True, True)[0] == Walks((b"zset",), False)


def test_predictor_is_bounded_and_learns_by_shape() -> None:
    p = Predictor()
    assert shape(b"user:1234:profile") == b"user:"
    p.learn([b"user:1", b"queue:7"], [b"hash", b"list"])
    groups, unknown = p.assign([b"user:99", b"queue:12", b"new"])
    assert dict(groups) == {b"hash": [b"user:99"], b"list": [b"queue:12"]} and unknown == [b"new"]
    p.learn(
        [f"k{i}x".encode() + bytes([i % 256]) for i in range(MAX_SHAPES * 2)],
        [b"string"] * (MAX_SHAPES * 2),
    )
    assert len(p.by_shape) <= MAX_SHAPES and len(p.by_head) <= MAX_SHAPES


def test_rendered_commands_are_the_formats_filled_in() -> None:
    """The fast request builder gives the bytes of %-formatting each key into each command,
    for any key (binary, empty) and any set of needs."""
    from rediscope.core.scan.requests import formats

    keys = [b"", b"user:1", b"\x00\xff\r\n$3", b"k" * 300]
    for needs in ({"memory", "length"}, {"memory", "ttl", "encoding", "length"}, {"ttl", "idle"}):
        for samples in (5, 0):
            fm = formats(set(needs), samples)
            for f in [fm.untyped, *fm.typed.values()]:
                assert f.render(keys) == b"".join(f.fmt % ((len(k), k) * f.ncols) for k in keys)
