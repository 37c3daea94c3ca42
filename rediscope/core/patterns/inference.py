"""Key-pattern inference: each key to the pattern a person would name, deterministically.

Per key (pure, no state but a cache of literal words):
- user rules first (glob or regex, first match wins);
- split on the separators (default ':'), keep literal words, replace variable segments with
  '*': integers, UUIDs, hex ids (>= 8 hex chars with a digit, e.g. sha1), dates and timestamps,
  IPv4 and IPv6 addresses, e-mail addresses, base64/url-safe tokens, and segments mixing letters
  with long digit runs (>= 4 digits);
- inside a segment, variable parts next to literal text are generalised too: values after '='
  (`page=3` -> `page=*`), digit runs between punctuation (`post#123#c` -> `post#*#c`), UUIDs and
  hex ids; short digit runs glued to letters (`v2`, `ec2`) stay literal;
- Redis Cluster hash tags keep their braces: `{user:42}:cart` -> `{user:*}:cart`.

Across keys, PatternFolder folds literal siblings that are clearly variable (more than
`fold_at` distinct words at the same position under the same prefix become '*'), with bounded
memory and a result that does not depend on key order.
"""

from __future__ import annotations

import fnmatch
import re
from collections.abc import Iterable
from dataclasses import dataclass
from itertools import repeat
from pathlib import Path
from typing import Any, cast

import yaml

from rediscope.errors import ConfigError

DEFAULT_SEPARATORS = ":"
STAR = "*"

_HEX = r"[0-9a-fA-F]"
_UUID = rf"{_HEX}{{8}}-{_HEX}{{4}}-{_HEX}{{4}}-{_HEX}{{4}}-{_HEX}{{12}}"
_DATE = r"\d{4}-\d{2}(?:-\d{2})?(?:[T ]\d{2}(?:[:.]?\d{2}){0,2}(?:\.\d+)?(?:Z|[+-]\d{2}:?\d{2})?)?"
_IPV4 = r"(?:\d{1,3}\.){3}\d{1,3}"
_EMAIL = r"[^@\s]+@[^@\s]+\.[A-Za-z]{2,}"
# a whole segment that is an identifier, not a word
_VARIABLE = re.compile(
    rf"(?:{_UUID}|(?={_HEX}{{8,}}\Z){_HEX}*\d{_HEX}*|{_DATE}|{_IPV4}|{_EMAIL}"
    r"|[A-Za-z_-]*\d{4,}[A-Za-z0-9_-]*"  # letters mixed with a long digit run
    r"|(?=[A-Za-z0-9+/_=-]*[A-Z])(?=[A-Za-z0-9+/_=-]*[a-z])(?=[A-Za-z0-9+/_=-]*\d)"
    r"[A-Za-z0-9+/_-]{16,}={0,2})"  # base64 / url-safe token
)
# inside a segment: values after '=', and digit runs / uuids / hex ids / dates / IPs that
# stand between punctuation rather than glued to letters
_INNER = re.compile(
    rf"(?<==)[^&;,=#|/]+"
    rf"|(?<![A-Za-z0-9])(?:{_UUID}|{_DATE}|{_IPV4}|{_EMAIL}|(?=[0-9a-fA-F]*\d){_HEX}{{8,}}|\d+)"
    rf"(?![A-Za-z0-9])"
)
_IPV6 = re.compile(
    r"(?<![0-9A-Za-z])(?=[0-9a-fA-F:]*\d)"
    r"(?:(?:[0-9a-fA-F]{1,4}:){7}[0-9a-fA-F]{1,4}"
    r"|(?:[0-9a-fA-F]{1,4}:){0,6}(?:[0-9a-fA-F]{1,4})?::(?:[0-9a-fA-F]{1,4}:){0,6}"
    r"[0-9a-fA-F]{0,4})(?![0-9A-Za-z])"
)
_IPV6_MARK = "\x00ip6\x00"


@dataclass(frozen=True)
class Rule:
    """A user rule: a glob or a regex; the key's pattern becomes `name` (or the rule's text)."""

    name: str
    glob: str | None = None
    regex: str | None = None
    #: for `audit`: the pattern's role, checks silenced for it, and check thresholds
    role: str | None = None
    ignore: tuple[str, ...] = ()
    thresholds: tuple[tuple[str, float], ...] = ()

    def compiled(self) -> re.Pattern[str]:
        return (
            re.compile(fnmatch.translate(self.glob)) if self.glob else re.compile(self.regex or "")
        )


def load_rules(path: str | Path) -> list[Rule]:
    """Rules from YAML: a list of {glob: ..} or {regex: ..}, each with an optional name."""
    p = Path(path)
    try:
        data = yaml.safe_load(p.read_text(encoding="utf-8"))
    except OSError as exc:
        raise ConfigError(f"cannot read rules file {p}: {exc.strerror or exc}") from None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"{p}:{mark.line + 1}" if mark is not None else str(p)
        raise ConfigError(f"{where}: invalid YAML: {getattr(exc, 'problem', exc)}") from None
    return rules_from_data(data, str(p))


def rules_from_data(data: Any, where: str) -> list[Rule]:
    if data is None:
        return []
    if isinstance(data, dict) and "rules" in data:
        data = data["rules"]
    if not isinstance(data, list):
        raise ConfigError(f"{where}: rules must be a list of {{glob|regex, name}} mappings")
    rules = []
    for i, item in enumerate(data, 1):
        if isinstance(item, str):
            item = {"glob": item}
        if not isinstance(item, dict) or not (("glob" in item) ^ ("regex" in item)):
            raise ConfigError(f"{where}: rule {i} needs exactly one of 'glob' or 'regex'")
        unknown = set(item) - {"glob", "regex", "name", "role", "ignore", "thresholds"}
        if unknown:
            raise ConfigError(f"{where}: rule {i} has unknown keys {sorted(unknown)}")
        glob, regex = item.get("glob"), item.get("regex")
        rule = Rule(
            name=str(item.get("name") or glob or regex),
            glob=glob,
            regex=regex,
            role=str(item["role"]) if item.get("role") is not None else None,
            ignore=_ignored(item.get("ignore"), f"{where}: rule {i}"),
            thresholds=_thresholds(item.get("thresholds"), f"{where}: rule {i}"),
        )
        try:
            rule.compiled()
        except re.error as exc:
            raise ConfigError(f"{where}: rule {i}: invalid regex: {exc}") from None
        rules.append(rule)
    return rules


def _ignored(value: Any, where: str) -> tuple[str, ...]:
    if value is None:
        return ()
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise ConfigError(f"{where}: 'ignore' must be a check id or a list of them")
    return tuple(value)


def _thresholds(value: Any, where: str) -> tuple[tuple[str, float], ...]:
    if value is None:
        return ()
    if not isinstance(value, dict):
        raise ConfigError(f"{where}: 'thresholds' must map threshold names to numbers")
    out = []
    for name, number in value.items():
        if isinstance(number, bool) or not isinstance(number, int | float):
            raise ConfigError(f"{where}: threshold {name!r} must be a number")
        out.append((str(name), float(number)))
    return tuple(out)


class PatternInferer:
    """key (bytes) -> pattern (str). Deterministic per key; fast (a cache of literal words)."""

    CACHE_MAX = 100_000
    MEMO_MAX = 20_000

    def __init__(self, separators: str = DEFAULT_SEPARATORS, rules: Iterable[Rule] = ()) -> None:
        if not separators:
            raise ConfigError("--separators needs at least one character")
        self.separators = separators
        self._split = re.compile("([" + re.escape(separators) + "])").split
        self._one_sep = separators if len(separators) == 1 else None
        self._rules = [(r.compiled().match, r.name) for r in rules]
        self._cache: dict[str, str] = {}
        self._ipv6 = ":" in separators
        #: key with its digits zeroed -> pattern, for patterns without digits (see infer); off
        #: with rules, whose regexes may look at digit values
        self._memo: dict[bytes, str] | None = None if self._rules else {}
        self._heads: dict[bytes, str] = {}  # head -> the pattern of `head:<hex id>` (_id_tail)

    def segment(self, seg: str) -> str:
        """The pattern of one segment."""
        if seg.isdigit():
            return STAR
        cached = self._cache.get(seg)
        if cached is not None:
            return cached
        if not seg.isprintable() or _hex_id(seg):
            return STAR
        if _VARIABLE.fullmatch(seg):
            return STAR
        out = _INNER.sub(STAR, seg) if _HAS_DIGIT(seg) or "=" in seg else seg
        if out == seg and len(self._cache) < self.CACHE_MAX:
            self._cache[seg] = seg
        return out

    def infer(self, key: bytes) -> str:
        """The key's pattern. Keys that differ only in the values of their digits get the same
        pattern whenever that pattern has no digit left (every step that removes digits looks
        at digit classes, never values), so such patterns are remembered by the key with its
        digits zeroed: one translate and one lookup for most keys."""
        memo = self._memo
        if memo is None:
            return self._infer(key)
        norm = key.translate(_ZERO_DIGITS)
        hit = memo.get(norm)
        return hit if hit is not None else self._missed(key, norm, memo)

    def infer_many(self, keys: list[bytes]) -> list[str]:
        """infer() of each key: the memo's hits found in C (map), the rest one by one."""
        memo = self._memo
        if memo is None:
            return [self._infer(k) for k in keys]
        norms = list(map(bytes.translate, keys, repeat(_ZERO_DIGITS)))
        got: list[str | None] = list(map(memo.get, norms))
        missed, heads, tails = self._missed, self._heads, self._one_sep == ":"
        for i in [i for i, hit in enumerate(got) if hit is None]:
            key = keys[i]
            if tails and key.count(b":") < 3 and key.isascii():  # _id_tail, of a known head
                head, sep, last = key.rpartition(b":")
                if sep and (pattern := heads.get(head)) is not None and _hex_id_ascii(last):
                    got[i] = pattern
                    continue
            got[i] = missed(key, norms[i], memo)
        return cast("list[str]", got)

    def _missed(self, key: bytes, norm: bytes, memo: dict[bytes, str]) -> str:
        """infer() of a key its shape is not remembered for (NORM: its digits zeroed)."""
        pattern = self._id_tail(key)
        if pattern is not None:  # a unique key: remembering it would only push shapes out
            return pattern
        pattern = self._infer(key)
        if not _HAS_DIGIT(pattern):
            if len(memo) >= self.MEMO_MAX:  # unique keys (hashes, UUIDs) fill it: start over,
                memo.clear()  # the shapes that recur are back after their next key
            memo[norm] = pattern
        return pattern

    def _id_tail(self, key: bytes) -> str | None:
        """`head:<hex id or UUID>` (sessions, hashes: keys that never repeat, which the memo
        cannot help): the head's pattern (remembered) and `:*`, what _infer gives, when the one
        separator is ':' and the key has too few of them to hold an IPv6 address."""
        if self._one_sep != ":" or key.count(b":") >= 3 or not key.isascii():
            return None
        head, sep, last = key.rpartition(b":")
        if not sep or not _hex_id_ascii(last):
            return None
        pattern = self._heads.get(head)
        if pattern is None:
            if not head.decode().isprintable():
                return None
            pattern = self.infer(head) + ":" + STAR
            if len(self._heads) >= self.MEMO_MAX:
                self._heads.clear()
            self._heads[head] = pattern
        return pattern

    def _infer(self, key: bytes) -> str:
        text = key.decode("utf-8", "surrogateescape")
        for match, name in self._rules:
            if match(text):
                return name
        if self._ipv6 and text.count(":") >= 3:
            text = _IPV6.sub(_IPV6_MARK, text)
        seg = self.segment
        if not text.isprintable():  # binary: everything from the first binary segment is one *
            parts = self._split(text)
            for i in range(0, len(parts), 2):
                if not parts[i].isprintable():
                    text = "".join(parts[:i]) + STAR
                    break
        if self._one_sep is not None:
            get = self._cache.get  # literal words first, without a call
            parts = text.split(self._one_sep)
            pattern = self._one_sep.join(
                [c if (c := get(p)) is not None else seg(p) for p in parts]
            )
        else:
            parts = self._split(text)
            pattern = "".join([seg(p) if i % 2 == 0 and p else p for i, p in enumerate(parts)])
        if _IPV6_MARK in pattern:
            pattern = pattern.replace(_IPV6_MARK, STAR)
        return pattern


_DIGITS = re.compile(r"\d+")

_HEX_CHARS = "0123456789abcdefABCDEF"

_HAS_DIGIT = re.compile(r"\d").search

_ZERO_DIGITS = bytes.maketrans(b"123456789", b"000000000")


def _hex_id(seg: str) -> bool:
    """What _VARIABLE's hex and UUID branches match, checked without the regex: 8 or more hex
    digits with at least one decimal digit, or a UUID (8-4-4-4-12 hex digits)."""
    n = len(seg)
    if n < 8:
        return False
    if n == 36 and seg.count("-") == 4 and seg[8] == seg[13] == seg[18] == seg[23] == "-":
        return not seg.strip(_HEX_CHARS + "-")
    return not seg.strip(_HEX_CHARS) and not seg.isalpha()


_HEX_BYTES = _HEX_CHARS.encode()
_UUID_BYTES = _HEX_BYTES + b"-"


def _hex_id_ascii(seg: bytes) -> bool:
    """_hex_id() of ASCII bytes, without decoding them (the same checks, in bytes methods)."""
    n = len(seg)
    if n < 8:
        return False
    if n == 36 and seg[8:24:5] == b"----" and seg.count(b"-") == 4:
        return not seg.translate(None, _UUID_BYTES)
    return not seg.translate(None, _HEX_BYTES) and not seg.isalpha()


def shape(word: str) -> str | None:
    """`game12` -> `game*`; None for a word without digits."""
    out = _DIGITS.sub(STAR, word)
    return out if out != word else None


class PatternFolder:
    """Folds literal siblings that are clearly variable, per position under the same prefix:
    - more than `fold_at` distinct words -> '*' (`tags:<thousands of words>` -> `tags:*`);
    - at least `shape_at` distinct words that differ only in their digits -> the shape
      (`game0` ... `game19` -> `game*`), while a lone `v2` shared by the keyspace stays.
    Works on a table pattern -> aggregate, merging aggregates with `merge`; state is bounded by
    the table it compacts; the result does not depend on key order."""

    def __init__(
        self, separators: str = DEFAULT_SEPARATORS, fold_at: int = 100, shape_at: int = 10
    ) -> None:
        self.fold_at = fold_at
        self.shape_at = shape_at
        self._split = re.compile("([" + re.escape(separators) + "])").split
        self.folded: set[tuple[str, ...]] = set()  # prefixes (segments+separators) that fold
        self.shapes: set[tuple[tuple[str, ...], str]] = set()  # (prefix, shape) that fold

    def parts(self, pattern: str) -> list[str]:
        return self._split(pattern)

    def apply_known(self, pattern: str) -> str:
        """Fold a new pattern by the prefixes already known to fold."""
        if not self.folded and not self.shapes:
            return pattern
        parts = self._split(pattern)
        changed = False
        for i in range(0, len(parts), 2):
            word = parts[i]
            if word == STAR:
                continue
            prefix = tuple(parts[:i])
            if prefix in self.folded:
                parts[i] = _fold_word(word)
                changed = True
            elif self.shapes:
                form = shape(word)
                if form is not None and (prefix, form) in self.shapes:
                    parts[i] = form
                    changed = True
        return "".join(parts) if changed else pattern

    def fold(self, table: dict[str, Any], merge: Any) -> dict[str, Any]:
        """Fold until nothing changes; returns the new table (aggregates merged)."""
        table = self._rekey(table, merge)
        while True:
            children: dict[tuple[str, ...], set[str]] = {}
            shaped: dict[tuple[tuple[str, ...], str], set[str]] = {}
            for pattern in table:
                parts = self._split(pattern)
                for i in range(0, len(parts), 2):
                    word = parts[i]
                    if word == STAR or word == "{*}" or not word:
                        continue
                    prefix = tuple(parts[:i])
                    seen = children.setdefault(prefix, set())
                    if len(seen) <= self.fold_at:
                        seen.add(word)
                    form = shape(word)
                    if form is not None:
                        same = shaped.setdefault((prefix, form), set())
                        if len(same) < self.shape_at:
                            same.add(word)
            new = {prefix for prefix, seen in children.items() if len(seen) > self.fold_at}
            new -= self.folded
            new_shapes = {k for k, words in shaped.items() if len(words) >= self.shape_at}
            new_shapes -= self.shapes
            if not new and not new_shapes:
                return table
            self.folded |= new
            self.shapes |= new_shapes
            table = self._rekey(table, merge)

    def _rekey(self, table: dict[str, Any], merge: Any) -> dict[str, Any]:
        if not self.folded and not self.shapes:
            return table
        out: dict[str, Any] = {}
        for pattern, agg in table.items():
            target = self.apply_known(pattern)
            out[target] = merge(out[target], agg) if target in out else agg
        return out


def _fold_word(word: str) -> str:
    return "{*}" if word.startswith("{") and word.endswith("}") else STAR
