"""Tier 1: the HTML report's layout and size, on reports built by hand (no server)."""

from __future__ import annotations

import random
import re

import pytest

from rediscope.core.collectors.sketch import SizeSketch
from rediscope.core.patterns.command import PatternsReport, PatternStats
from rediscope.core.pipeline.records import NodeScan, ScanSummary
from rediscope.core.target import Node, Target
from rediscope.render.html import render_html
from rediscope.render.html_svg import squarify

TARGET = Target("redis://127.0.0.1:6379/0", "standalone", (Node("127.0.0.1:6379", "primary"),))


def scan(keys: int) -> ScanSummary:
    node = NodeScan("127.0.0.1:6379", "primary", dbs=[0], dbsize=keys, keys_scanned=keys)
    return ScanSummary(
        nodes=(node,),
        keys_scanned=keys,
        keys_vanished=0,
        keys_retyped=0,
        seconds=0.1,
        sampled=False,
        complete=True,
        interrupted=False,
        extrapolation=1.0,
    )


@pytest.mark.parametrize("n", [1, 2, 7, 50])
def test_squarify_tiles_the_rectangle_in_proportion(n: int) -> None:
    r = random.Random(n)
    values = sorted((r.uniform(1, 1000) for _ in range(n)), reverse=True)
    rects = squarify(values, (10, 20, 600, 400))
    assert len(rects) == n
    total = sum(values)
    for v, (x, y, w, h) in zip(values, rects, strict=True):
        assert w * h == pytest.approx(v / total * 600 * 400, rel=1e-6)
        assert x >= 10 - 1e-6 and x + w <= 610 + 1e-6
        assert y >= 20 - 1e-6 and y + h <= 420 + 1e-6
    assert sum(w * h for _x, _y, w, h in rects) == pytest.approx(600 * 400)


def _stats(i: int) -> PatternStats:
    sketch = SizeSketch()
    sketch.add_many([100 + i, 2000, 50_000])
    return PatternStats(
        pattern=f"app{i % 40}:svc{i}:*:item",
        keys=1000 + i,
        share=0.00002,
        bytes=100_000 + i,
        bytes_share=0.00002,
        types={"hash": 1000 + i},
        ttl={"no_ttl": 1000 + i},
        no_ttl_share=1.0,
        idle=None,
        freq=None,
        examples=(f"app{i % 40}:svc{i}:1:item".encode(),),
        estimated=False,
        bytes_dist=sketch.distribution(),
        elements_dist=sketch.distribution(),
    )


def test_a_page_of_fifty_thousand_patterns_stays_under_two_megabytes() -> None:
    """The most patterns the collector keeps: the page carries the top lists only."""
    report = PatternsReport(
        target=TARGET,
        complete=True,
        scan=scan(1_000_000),
        separators=":",
        sort="bytes",
        access=None,
        patterns=tuple(_stats(i) for i in range(50_000)),
        notes=(),
    )
    page = render_html(report)
    assert len(page.encode()) < 2 * 1024 * 1024
    assert not re.search(r"""\b(?:src|href)\s*=""", page) and "url(" not in page
    assert "app39:" in page and "49,800 more patterns in --format json" in page
