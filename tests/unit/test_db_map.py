"""backup restore --db-map: each backup db mapped once, and into a target db of its own."""

from __future__ import annotations

import pytest

from rediscope.cli.restore import parse_db_map
from rediscope.errors import UsageError


def test_a_db_map_maps_each_db_once_and_into_a_db_of_its_own() -> None:
    assert parse_db_map("0:3,1:4") == {0: 3, 1: 4}
    for bad, says in (("0:1,0:2", "mapped twice"), ("0:1,1:1", "two backup dbs into target db 1")):
        with pytest.raises(UsageError, match=says):
            parse_db_map(bad)
