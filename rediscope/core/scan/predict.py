"""Type prediction: a key's type guessed from keys of the same shape measured before, and
confirmed by the length command sent with the key's other commands.

Each length command (STRLEN, LLEN, SCARD, ZCARD, HLEN, XLEN) answers only for its own type
(WRONGTYPE for any other), so when the predicted one answers for a key that exists, the key is
of that type: TYPE is not needed, nor a second request for the length. A key with no prediction
or a wrong one is measured with TYPE asked (a wrong guess costs one error reply). Keys of one
naming pattern share a type, so after the first few batches nearly every guess is right.
"""

from __future__ import annotations

from rediscope.core.scan.replies import LENGTH_FORMATS

#: the shapes remembered at most (bounded memory whatever the keyspace)
MAX_SHAPES = 20_000

_DIGITS = bytes.maketrans(b"123456789", b"000000000")


def shape(key: bytes) -> bytes:
    """The key up to its first digit ("user:1234" -> "user:", "cache:page:/p/9" ->
    "cache:page:/p/"): ids are where keys of one pattern differ."""
    cut = key.translate(_DIGITS).find(b"0")
    return key if cut < 0 else key[:cut]


def head(key: bytes) -> bytes:
    """The key's first segment ("cache:page:x" -> "cache")."""
    return key.partition(b":")[0]


#: by_head's mark for a first segment seen with more than one type: look at the whole shape
_MIXED = b""


class Predictor:
    """Remembers the type of each first segment and, where one segment holds several types,
    of each key shape, as keys are measured."""

    def __init__(self) -> None:
        self.by_shape: dict[bytes, bytes] = {}
        self.by_head: dict[bytes, bytes] = {}

    def learn(self, keys: list[bytes], types: list[bytes]) -> None:
        by_shape, by_head = self.by_shape, self.by_head
        for k, t in zip(keys, types, strict=True):
            if t not in LENGTH_FORMATS:  # module types: nothing to confirm them with
                continue
            s = shape(k)
            if by_shape.get(s) != t and len(by_shape) < MAX_SHAPES:
                by_shape[s] = t
            h = head(k)
            known = by_head.get(h)
            if known is None:
                if len(by_head) < MAX_SHAPES:
                    by_head[h] = t
            elif known != t:
                by_head[h] = _MIXED

    def assign(self, keys: list[bytes]) -> tuple[list[tuple[bytes, list[bytes]]], list[bytes]]:
        """The keys grouped by predicted type, and those with no prediction. The first
        segment decides (one cheap split), the shape only where the segment holds several
        types."""
        by_shape, get_head = self.by_shape, self.by_head.get
        groups: dict[bytes, list[bytes]] = {}
        unknown: list[bytes] = []
        for k in keys:
            t = get_head(k.partition(b":")[0])
            if t is _MIXED or t == _MIXED:
                t = by_shape.get(shape(k))
            if t is None:
                unknown.append(k)
            else:
                group = groups.get(t)
                if group is None:
                    groups[t] = [k]
                else:
                    group.append(k)
        return list(groups.items()), unknown
