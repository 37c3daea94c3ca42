"""Keys per power-of-two size bucket and type (bytes of strings, elements of collections), as
INFO KEYSIZES counts them: what a sampled scan sets beside the server's own histogram."""

from __future__ import annotations

from collections.abc import Sequence

from rediscope.core.pipeline.records import Batch

_KEYSIZES_TYPES = frozenset({b"string", b"list", b"set", b"zset", b"hash"})


class SizeHistogramCollector:
    needs: frozenset[str] = frozenset({"length"})

    def __init__(self) -> None:
        self.hists: dict[str, dict[int, int]] = {}  # type -> {bucket min: keys}

    def add(self, batch: Batch) -> None:
        if batch.lengths is None:
            return
        for t, n in zip(batch.types, batch.lengths, strict=True):
            if n is None or t not in _KEYSIZES_TYPES:
                continue
            hist = self.hists.setdefault(t.decode(), {})
            low = 0 if n <= 0 else 1 << (n.bit_length() - 1)
            hist[low] = hist.get(low, 0) + 1

    def merge(self, other: SizeHistogramCollector) -> None:
        if other is self:
            return
        for t, theirs in other.hists.items():
            mine = self.hists.setdefault(t, {})
            for low, n in theirs.items():
                mine[low] = mine.get(low, 0) + n


def histograms(collectors: Sequence[object]) -> dict[str, dict[int, int]] | None:
    """The histograms of the first SizeHistogramCollector among COLLECTORS (None: none)."""
    found = next((c for c in collectors if isinstance(c, SizeHistogramCollector)), None)
    return found.hists if found is not None else None
