"""The two sides joined: the union of their pattern tables folded once (so a pattern has
one name on both sides), per pattern / type / db deltas, and the keys that grew most from the
two bounded top lists."""

from __future__ import annotations

from rediscope.core.collectors.patterns import OTHER, _Agg
from rediscope.core.collectors.topn import KeyEntry
from rediscope.core.diff.report import Figures, GroupDelta, KeyGrowth, KeysBound, PatternDelta
from rediscope.core.diff.tally import SideTally
from rediscope.core.patterns.inference import PatternFolder

#: the keys that grew most, listed
KEYS_LISTED = 50

Pair = list[_Agg | None]  # [OLD's, NEW's]


def _merge_pair(a: Pair, b: Pair) -> Pair:
    return [x if y is None else (y if x is None else x.merge(y)) for x, y in zip(a, b, strict=True)]


def fold_union(
    old: SideTally, new: SideTally, separators: str, fold_at: int = 100
) -> dict[str, Pair]:
    """Both tables under one folder that knows what either side's folder learned, folded to
    a fixpoint over the union of their patterns."""
    folder = PatternFolder(separators, fold_at)
    folder.folded = old.folder.folded | new.folder.folded
    folder.shapes = old.folder.shapes | new.folder.shapes
    union: dict[str, Pair] = {}
    for i, tally in enumerate((old, new)):
        for pattern, agg in tally.table.items():
            pair = union.setdefault(pattern, [None, None])
            pair[i] = agg if pair[i] is None else pair[i].merge(agg)  # type: ignore[union-attr]
    return folder.fold(union, _merge_pair)


def pct(old: float | None, new: float | None) -> float | None:
    """Growth in percent; None when OLD is 0 or either is unknown."""
    if old is None or new is None or old == 0:
        return None
    return round((new - old) / old * 100, 3)


def _figures(agg: _Agg | None, tally: SideTally) -> Figures:
    if agg is None:
        return Figures(0, 0 if tally.bytes_known else None, None, None)
    with_info = sum(agg.ttl)
    return Figures(
        keys=round(agg.keys * tally.factor),
        bytes=round(agg.bytes * tally.factor) if tally.bytes_known else None,
        ttl_share=round(sum(agg.ttl[1:]) / with_info, 6) if with_info else None,
        mean_elements=round(agg.elements / agg.measured, 3) if agg.measured else None,
    )


def pattern_rows(
    union: dict[str, Pair], old: SideTally, new: SideTally, days: float | None
) -> list[PatternDelta]:
    rows = []
    for pattern, (a, b) in union.items():
        fo, fn = _figures(a, old), _figures(b, new)
        bytes_delta = fn.bytes - fo.bytes if fo.bytes is not None and fn.bytes is not None else None
        keys_delta = fn.keys - fo.keys
        growth = pct(fo.bytes, fn.bytes) if bytes_delta is not None else pct(fo.keys, fn.keys)
        moved = bytes_delta if bytes_delta is not None else keys_delta
        if a is None or fo.keys == 0:
            status = "new"
        elif b is None or fn.keys == 0:
            status = "vanished"
        else:
            status = "grown" if moved > 0 else "shrunk" if moved < 0 else "unchanged"
        rows.append(
            PatternDelta(
                pattern=pattern,
                status=status,
                old=fo,
                new=fn,
                keys_delta=keys_delta,
                bytes_delta=bytes_delta,
                growth_pct=growth,
                keys_growth_pct=pct(fo.keys, fn.keys),
                bytes_per_day=per_day(bytes_delta, days),
            )
        )
    return rows


def per_day(delta: int | None, days: float | None) -> float | None:
    if delta is None or not days:
        return None
    return round(delta / days, 3)


def group_rows(
    old: dict[str, list[int]], new: dict[str, list[int]], known: tuple[bool, bool]
) -> list[GroupDelta]:
    """Types or dbs on both sides (bytes None on a side that does not know them)."""
    rows = []
    for name in sorted(set(old) | set(new)):
        o, n = old.get(name, [0, 0]), new.get(name, [0, 0])
        rows.append(group(name, o[0], n[0], o[1] if known[0] else None, n[1] if known[1] else None))
    return sorted(rows, key=lambda r: (-(r.bytes_delta or 0), -r.keys_delta, r.name))


def group(name: str, ok: int, nk: int, ob: int | None, nb: int | None) -> GroupDelta:
    both = ob is not None and nb is not None
    return GroupDelta(
        name=name,
        old_keys=ok,
        new_keys=nk,
        keys_delta=nk - ok,
        old_bytes=ob,
        new_bytes=nb,
        bytes_delta=nb - ob if both else None,  # type: ignore[operator]
        growth_pct=pct(ob, nb) if both else pct(ok, nk),
    )


def keys_grown(
    old: SideTally, new: SideTally, old_sampled: bool = False
) -> tuple[tuple[KeyGrowth, ...], tuple[KeyGrowth, ...], KeysBound] | None:
    """The keys that grew most and the biggest new keys: NEW was read first, and each of
    its biggest keys was looked up while OLD was read (old.watched). Found there: it grew by
    the exact difference (or shrank: not listed); not found: it is new."""
    if new.top is None or old.watched is None:
        return None
    grown, fresh = [], []
    for e in new.top:
        was = old.watched.get((e.db, e.key))
        if was is None:
            fresh.append(_growth(e, None, None, e.score, True))
        elif was[0] is not None and e.score > was[0]:
            grown.append(_growth(e, was[0], was[1], e.score - was[0], True))
    grown.sort(key=lambda g: (-g.bytes_delta, g.key))
    fresh.sort(key=lambda g: (-g.new_bytes, g.key))
    old_floor = old.top[-1].score if old.top and old.top_full else None
    new_floor = new.top[-1].score if new.top_full and new.top else None
    return (
        tuple(grown[:KEYS_LISTED]),
        tuple(fresh[:KEYS_LISTED]),
        KeysBound(
            top=new.top_size,
            old_floor=old_floor,
            new_floor=new_floor,
            how=_bound_text(new.top_size, new_floor, old_sampled),
        ),
    )


def _growth(
    e: KeyEntry, old_bytes: int | None, old_elements: int | None, delta: int, exact: bool
) -> KeyGrowth:
    return KeyGrowth(
        key=e.key,
        db=e.db,
        type=e.type,
        old_bytes=old_bytes,
        new_bytes=e.score,
        bytes_delta=delta,
        exact=exact,
        old_elements=old_elements,
        new_elements=e.elements,
    )


def _bound_text(top: int, new_floor: int | None, old_sampled: bool) -> str:
    text = (
        f"NEW's {top:,} biggest keys by bytes, each looked up by db and key name while OLD "
        "was read: a key found there grew by the exact difference, a key not found is new"
    )
    if new_floor is not None:
        text += f"; keys under {new_floor:,} bytes in NEW are not compared"
    if old_sampled:
        text += "; OLD was sampled: a key outside its sample is counted as new"
    return text


def movers(rows: list[PatternDelta], n: int = 10) -> tuple[str, ...]:
    """The patterns that added the most bytes (keys where bytes are unknown)."""
    added = [r for r in rows if (r.bytes_delta if r.bytes_delta is not None else r.keys_delta) > 0]
    added.sort(key=lambda r: (-(r.bytes_delta or 0), -r.keys_delta, r.pattern))
    return tuple(r.pattern for r in added[:n] if r.pattern != OTHER)
