from collections.abc import Hashable, Sequence
from typing import Any

def group_rows(column: Sequence[Hashable], /) -> dict[Any, list[int]]: ...
