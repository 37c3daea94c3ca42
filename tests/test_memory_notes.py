"""memory says why its keys' bytes can exceed the server's used_memory (issue 32 item 20)."""

from __future__ import annotations

from rediscope.core.memory.command import _keys_beyond_used
from rediscope.core.memory.report import Totals


def _totals(used: int | None, keys_bytes: int) -> Totals:
    return Totals(
        used_memory=used,
        used_memory_dataset=None,
        used_memory_overhead=None,
        used_memory_rss=None,
        mem_fragmentation_ratio=None,
        maxmemory=0,
        maxmemory_policy="noeviction",
        keys_bytes=keys_bytes,
        keys_bytes_estimate=keys_bytes,
        estimate_ci95=None,
        keys=1000,
    )


def test_keys_above_used_memory_are_explained_once() -> None:
    [note] = _keys_beyond_used(_totals(13_700_000, 16_600_000))
    assert "2,900,000 bytes more than used_memory" in note and "shared" in note
    assert _keys_beyond_used(_totals(13_700_000, 9_000_000)) == []
    assert _keys_beyond_used(_totals(None, 9_000_000)) == []  # INFO not read: nothing to compare
