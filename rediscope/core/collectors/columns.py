"""Column helpers for the collectors: a batch's rows grouped by a column's value, and a
column's values at some rows, with the loops in C rather than per key in Python. group_rows is
compiled (_columns.c) where the build had a C compiler, unless REDISCOPE_PURE_PYTHON is set;
the Python one here gives the same groups."""

from __future__ import annotations

import contextlib
import os
from collections.abc import Callable, Hashable, Sequence
from operator import itemgetter
from typing import Any, TypeVar, cast

T = TypeVar("T")


def pick(column: Sequence[T], idx: list[int]) -> Sequence[T]:
    """The items of COLUMN at the indices IDX (in C: itemgetter), as a sequence."""
    if len(idx) == len(column):  # the whole column (indices are distinct rows of it)
        return column
    if len(idx) == 1:
        return (column[idx[0]],)
    got: tuple[T, ...] = itemgetter(*idx)(column)
    return got


def py_group_rows(column: Sequence[Hashable]) -> dict[Any, list[int]]:
    """The row indices of each distinct value of COLUMN, values in order of first appearance
    (a batch's keys by type: what several collectors sum per type)."""
    groups: dict[Any, list[int]] = {}
    for i, value in enumerate(column):
        groups.setdefault(value, []).append(i)
    return groups


def known(values: Sequence[int | None]) -> Sequence[int]:
    """VALUES without the Nones (not measured); VALUES itself when none is None."""
    nones = values.count(None)
    if not nones:
        return cast("Sequence[int]", values)
    if nones == len(values):  # a column nothing was measured in (idle times in most files)
        return ()
    return [v for v in values if v is not None]


group_rows: Callable[[Sequence[Hashable]], dict[Any, list[int]]] = py_group_rows
if not os.environ.get("REDISCOPE_PURE_PYTHON"):
    with contextlib.suppress(ImportError):  # not built: the Python one
        from rediscope.core.collectors._columns import group_rows

#: whether group_rows is the compiled one (tests/unit/test_collectors_columns.py wants it in CI)
COMPILED = group_rows is not py_group_rows
