"""The pattern of each exported row (`patterns --format jsonl|csv`): the key's inferred pattern
folded as `patterns` folds it, in bounded memory while the rows stream out."""

from __future__ import annotations

from collections import Counter

from rediscope.core.patterns.inference import PatternFolder, PatternInferer, Rule

#: rows held back before they are written, so that the folds the keyspace shows (more than
#: fold_at distinct words at a position) are learned before the first rows are named
LOOKAHEAD = 50_000


#: a pattern seen fewer times than this when its rows are due is still rare: its rows wait
#: (bounded by LOOKAHEAD too) for the fold its siblings may yet show (`tags:<word>` keys
#: scattered over millions of others)
RARE = 100


def _add(a: int, b: int) -> int:
    return a + b


class RowPatterns:
    """Per-key inference (rules first), then the folds learned from every key scanned so
    far. State: the set of patterns seen, compacted by folding as the pattern collector's
    table is (collectors/patterns.py), so the folds are the ones the report would make."""

    COMPACT_AT = 5_000

    def __init__(self, separators: str, rules: tuple[Rule, ...] = (), fold_at: int = 100) -> None:
        self.inferer = PatternInferer(separators, rules)
        self.folder = PatternFolder(separators, fold_at)
        self.seen: dict[str, int] = {}  # pattern (folded as known) -> keys
        self._compact_at = self.COMPACT_AT

    def infer(self, keys: list[bytes]) -> list[str]:
        """Each key's pattern before folding; learned from (every key scanned counts)."""
        infer = self.inferer.infer
        patterns = [infer(k) for k in keys]
        seen, known = self.seen, self.folder.apply_known
        for p, n in Counter(patterns).items():
            target = known(p)
            seen[target] = seen.get(target, 0) + n
        if len(seen) > self._compact_at:
            self.fold()
        return patterns

    def fold(self) -> None:
        """Fold what was seen to a fixpoint: every fold the keys so far show is known."""
        self.seen = self.folder.fold(self.seen, _add)
        self._compact_at = max(self.COMPACT_AT, 2 * len(self.seen))

    def name(self, patterns: list[str]) -> list[str]:
        """The patterns as folded by what is known now."""
        known = self.folder.apply_known
        return [known(p) for p in patterns]

    def rare(self, name: str) -> bool:
        """Whether a (named) pattern has been seen too few times to be sure of its name."""
        return self.seen.get(name, 0) < RARE

    def merge(self, other: RowPatterns) -> None:
        """Another node's (or file's) patterns and folds."""
        if other is self:
            return
        self.folder.folded |= other.folder.folded
        self.folder.shapes |= other.folder.shapes
        for pattern, n in other.seen.items():
            self.seen[pattern] = self.seen.get(pattern, 0) + n
