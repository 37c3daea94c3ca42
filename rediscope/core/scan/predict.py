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


class Predictor:
    """Remembers the type of each key shape (and of each first segment) as keys are measured."""

    def __init__(self) -> None:
        self.by_shape: dict[bytes, bytes] = {}
        self.by_head: dict[bytes, bytes] = {}
        self.right = 0
        self.wrong = 0

    def learn(self, keys: list[bytes], types: list[bytes]) -> None:
        by_shape, by_head = self.by_shape, self.by_head
        for k, t in zip(keys, types, strict=True):
            if t not in LENGTH_FORMATS:  # module types: nothing to confirm them with
                continue
            s = shape(k)
            if by_shape.get(s) != t and len(by_shape) < MAX_SHAPES:
                by_shape[s] = t
            h = head(k)
            if by_head.get(h) != t and len(by_head) < MAX_SHAPES:
                by_head[h] = t

    def assign(self, keys: list[bytes]) -> tuple[list[tuple[bytes, list[bytes]]], list[bytes]]:
        """The keys grouped by predicted type, and those with no prediction."""
        by_shape, by_head = self.by_shape, self.by_head
        groups: dict[bytes, list[bytes]] = {}
        unknown: list[bytes] = []
        for k in keys:
            t = by_shape.get(shape(k)) or by_head.get(head(k))
            if t is None:
                unknown.append(k)
            else:
                groups.setdefault(t, []).append(k)
        return list(groups.items()), unknown
