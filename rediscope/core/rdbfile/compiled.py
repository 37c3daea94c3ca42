"""The compiled loops of the RDB reader (_fast.c), or None for each where it is not built (no C
compiler at install) or REDISCOPE_PURE_PYTHON is set: the Python reader then does it all, with
the same rows."""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import Any

Records = Callable[..., tuple[int, int, int, int, int, int]]
Elements = Callable[[bytes, int, int, int, int], tuple[int, int, int]]
Restores = Callable[
    [bytes, int, int, int, bool, bytes, int, int], tuple[int, bytes, int, int, int, int]
]

records: Records | None = None
elements: Elements | None = None
restores: Restores | None = None  # key records as RESTORE commands (backup restore)
if not os.environ.get("REDISCOPE_PURE_PYTHON"):
    try:
        from rediscope.core.rdbfile import _fast
    except ImportError:
        pass
    else:
        records, elements, restores = _fast.records, _fast.elements, _fast.restores

#: whether the compiled loops are in use (tests/unit/test_rdb_fast_bytes.py requires them in CI)
FAST = records is not None

#: what the compiled loops take as a count or a clock (a C long long)
INT64 = range(-(2**63), 2**63)


def fits(*values: Any) -> bool:
    """Whether every value fits the compiled loops' 64-bit arguments (a hostile file's ctime
    or length may not: the Python reader takes those)."""
    return all(v in INT64 for v in values)
