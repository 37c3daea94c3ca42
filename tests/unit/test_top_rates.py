"""top's rates from two hand-made INFO samples: per second of the server's own clock, counters
that went down (a restart, CONFIG RESETSTAT) counted from zero, and the totals over nodes. No
server."""

from __future__ import annotations

from typing import Any

import pytest

from rediscope.core.top.model import NodeSample, NodeView
from rediscope.core.top.rates import at_us, merged_commands, node_view, totals

KINDS = {"get": "read", "set": "write"}


def kind(name: str) -> str:
    return KINDS.get(name, "other")


def info(**fields: Any) -> dict[str, Any]:
    base: dict[str, Any] = {"role": "master", "redis_version": "7.2.6", "uptime_in_seconds": 100}
    return {**base, **fields}


def test_rates_are_per_second_of_the_servers_clock() -> None:
    prev = NodeSample(
        "h:1",
        at_us=10_000_000,
        data=info(
            total_commands_processed=1000,
            keyspace_hits=90,
            keyspace_misses=10,
            total_net_input_bytes=5000,
            expired_keys=7,
            cmdstat_get={"calls": 500, "usec": 1000},
            cmdstat_set={"calls": 100, "usec": 400},
        ),
    )
    cur = NodeSample(
        "h:1",
        at_us=12_000_000,  # 2 s later by the server's clock
        data=info(
            total_commands_processed=3000,
            keyspace_hits=390,
            keyspace_misses=110,
            total_net_input_bytes=9000,
            expired_keys=27,
            used_memory=1 << 20,
            db0={"keys": 40, "expires": 4},
            db3={"keys": 2, "expires": 0},
            cmdstat_get={"calls": 1500, "usec": 3000},
            cmdstat_set={"calls": 300, "usec": 1400},
            cmdstat_ping={"calls": 9, "usec": 9},  # new in the interval: all of it counts
        ),
    )
    v = node_view(prev, cur, kind)
    assert v.interval_s == 2.0 and v.ops == 2000 and v.ops_per_s == 1000.0
    assert (v.hits, v.misses) == (300, 100) and v.hit_ratio == pytest.approx(0.75)
    assert v.net_in_per_s == 2000.0 and v.expired_per_s == 10.0
    assert v.reads_per_s == 500.0 and v.writes_per_s == 100.0  # get: read, set: write
    get = next(c for c in v.commands if c.name == "get")
    assert (get.calls, get.calls_per_s, get.usec_per_call) == (1000, 500.0, 2.0)
    assert [c.name for c in v.commands] == ["get", "set", "ping"]  # busiest first
    assert v.keys == {"db0": {"keys": 40, "expires": 4}, "db3": {"keys": 2, "expires": 0}}
    assert v.role == "primary" and v.version == "7.2.6"


def test_a_counter_that_went_down_counts_from_zero() -> None:
    prev = NodeSample("h:1", 0, info(total_commands_processed=10_000, keyspace_hits=500))
    cur = NodeSample("h:1", 1_000_000, info(total_commands_processed=40, keyspace_hits=0))
    v = node_view(prev, cur, kind)
    assert v.ops == 40 and v.hits == 0 and v.hit_ratio is None  # no lookups: no ratio


def test_totals_sum_the_nodes_that_answered() -> None:
    a = NodeView(address="a", role="primary", up=True, ops=10, ops_per_s=5.0, hits=3, misses=1,
                 used_memory=100, keys={"db0": {"keys": 7, "expires": 0}}, clients=2)  # fmt: skip
    b = NodeView(address="b", role="primary", up=True, ops=30, ops_per_s=15.0, hits=1, misses=3,
                 used_memory=50, keys={"db0": {"keys": 3, "expires": 1}}, clients=1)  # fmt: skip
    down = NodeView(address="c", role="primary", up=False, ops=999, used_memory=999)
    t = totals([a, b, down])
    assert (t.ops, t.ops_per_s, t.used_memory, t.keys, t.clients) == (40, 20.0, 150, 10, 3)
    assert (t.hits, t.misses, t.hit_ratio) == (4, 4, 0.5)


def test_merged_commands_sum_rates_and_keep_the_worst_latency() -> None:
    def view(addr: str, calls: int, p99: float) -> NodeView:
        prev = NodeSample(addr, 0, info(cmdstat_get={"calls": 0, "usec": 0}))
        data = info(
            cmdstat_get={"calls": calls, "usec": calls * 2},
            latency_percentiles_usec_get={"p50": 1.0, "p99": p99},
        )
        return node_view(prev, NodeSample(addr, 1_000_000, data), kind)

    (get,) = merged_commands([view("a", 100, 5.0), view("b", 300, 9.0)])
    assert (get.calls, get.calls_per_s, get.p99_usec, get.usec_per_call) == (400, 400.0, 9.0, 2.0)


def test_the_servers_clock_is_preferred_to_the_clients() -> None:
    assert at_us({"server_time_usec": "1700000000123456"}, 5) == 1_700_000_000_123_456
    assert at_us({}, 5) == 5  # before 6.0: the client's
