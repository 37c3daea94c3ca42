"""top's screen from hand-made intervals, no server: fitted to 80x24 with a 3-node cluster (the
key hints stay on screen, no value wraps onto its own line), a node not read shown unknown
with partial totals, and no key hints where no key is read (--once, piped)."""

from __future__ import annotations

import io

from rich.console import Console

from rediscope.core.target import Node, Target
from rediscope.core.top.model import CommandRate, NodeView, TopReport
from rediscope.core.top.rates import merged_commands, totals
from rediscope.render.top_view import ViewState, top_line, top_screen

ADDRESSES = ("10.0.0.1:7000", "10.0.0.2:7000", "10.0.0.3:7000")
TARGET = Target("redis://10.0.0.1:7000/0", "cluster", tuple(Node(a, "primary") for a in ADDRESSES))


def _commands(n: int) -> tuple[CommandRate, ...]:
    return tuple(
        CommandRate(
            name=f"cmd{i}",
            calls=1000 - i,
            calls_per_s=1000.0 - i,
            usec_per_s=5e4,
            usec_per_call=2.0,
            p50_usec=1.0,
            p99_usec=9.0,
            kind="read",
        )
        for i in range(n)
    )


def _node(address: str, memory: int) -> NodeView:
    return NodeView(
        address=address,
        role="primary",
        up=True,
        version="7.0.15",
        uptime_s=86400,
        interval_s=1.0,
        ops=12345,
        ops_per_s=12345.0,
        reads_per_s=9000.0,
        writes_per_s=3000.0,
        net_in_per_s=1e6,
        net_out_per_s=4e6,
        hits=9,
        misses=1,
        hit_ratio=0.9,
        expired_per_s=12.0,
        evicted_per_s=0.0,
        rejected_per_s=0.0,
        used_memory=memory,
        used_memory_peak=2 * memory,
        maxmemory=0,
        rss=memory,
        fragmentation=1.1,
        clients=1234,
        blocked_clients=0,
        tracking_clients=0,
        max_output_buffer=0,
        keys={"db0": {"keys": 123456, "expires": 0}},
        commands=_commands(20),
    )


def _report(nodes: list[NodeView]) -> TopReport:
    return TopReport(
        target=TARGET,
        complete=all(n.up for n in nodes),
        seq=3,
        interval_s=1.0,
        nodes=tuple(nodes),
        totals=totals(nodes),
        commands=merged_commands(nodes),
        cluster_state="ok",
    )


def _draw(report: TopReport, state: ViewState, width: int, height: int) -> list[str]:
    console = Console(width=width, height=height, file=io.StringIO(), color_system=None)
    console.print(top_screen(report, state, width, height))
    out = console.file.getvalue()  # type: ignore[attr-defined]
    return [line.rstrip() for line in out.splitlines()]


def test_a_cluster_at_80x24_keeps_its_key_hints_and_values_beside_their_names() -> None:
    nodes = [_node(a, (i + 1) << 30) for i, a in enumerate(ADDRESSES)]
    nodes[2] = NodeView(ADDRESSES[2], "primary", False, "timed out after 5s talking to it")
    state = ViewState(ops_history=[1.0, 2.0], mem_history=[1.0, 2.0])
    lines = _draw(_report(nodes), state, 80, 24)
    assert len(lines) <= 24 and lines[-1].startswith("q quit")  # the hints on the screen
    assert max(len(line) for line in lines) <= 80
    text = "\n".join(lines)
    assert "evicted/s 0.0" in text and "peak 6.0 GiB" in text  # peak summed, as used is
    down = next(line for line in lines if line.lstrip().startswith(ADDRESSES[2]))
    assert down.split()[1:6] == ["DOWN", "unknown", "unknown", "unknown", "unknown"]
    assert "total of 2/3" in text and "totals are of 2 of 3 nodes" in text
    assert "mem 3.0 GiB" in text  # the two nodes read, never the third as 0 silently


def test_no_key_hints_where_no_key_is_read() -> None:
    report = _report([_node(a, 1 << 30) for a in ADDRESSES])
    once = "\n".join(_draw(report, ViewState(live=False), 100, 200))
    for hint in ("q quit", "n: hide", "s: sort"):
        assert hint not in once
    assert "cmd19" in once and "total " in once and "partial" not in once
    assert "partial" not in top_line(report)
