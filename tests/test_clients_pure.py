"""`clients` without a server: CLIENT LIST lines as each server version writes them, bounded
memory for 100,000 clients, reservoir medians, buffer limits, culprits, gates."""

from __future__ import annotations

import json
import tracemalloc
from collections.abc import Iterator

import pytest
from rich.console import Console

from rediscope.core.clients.culprits import Culprits, parse_limits
from rediscope.core.clients.gates import parse_gate
from rediscope.core.clients.groups import RESERVOIR, Groups
from rediscope.core.clients.listing import parse_line, split_lines
from rediscope.core.clients.model import (
    ClientsOptions,
    ClientsReport,
    ClientTotals,
    GroupBy,
    NodeClients,
)
from rediscope.core.target import Node, Target
from rediscope.errors import UsageError
from rediscope.render.clients_tables import client_jsonl
from rediscope.render.jsonout import dumps
from rediscope.render.tables import render_table

R70 = (
    b"id=4 addr=127.0.0.1:40466 laddr=127.0.0.1:6391 fd=8 name=orders age=7 idle=3 flags=N "
    b"db=2 sub=0 psub=0 ssub=0 multi=-1 qbuf=26 qbuf-free=20448 argv-mem=10 multi-mem=0 "
    b"rbs=16384 rbp=16384 obl=0 oll=0 omem=0 tot-mem=37658 events=r cmd=client|list "
    b"user=default redir=-1 resp=2"
)
R62 = (
    b"id=3 addr=[::1]:47150 laddr=[::1]:6392 fd=8 name= age=0 idle=0 flags=P db=0 sub=2 psub=1 "
    b"multi=-1 qbuf=26 qbuf-free=40928 argv-mem=10 obl=0 oll=3 omem=5000 tot-mem=61466 "
    b"events=r cmd=subscribe user=default redir=-1"
)
VALKEY9 = (
    b"id=3 addr=/tmp/v.sock:0 laddr=/tmp/v.sock:0 fd=11 name=rediscope age=0 idle=0 flags=U "
    b"capa= db=0 sub=0 psub=0 ssub=0 multi=-1 watch=0 qbuf=0 qbuf-free=0 argv-mem=10 "
    b"multi-mem=0 rbs=16392 rbp=16392 obl=0 oll=0 omem=0 tot-mem=17002 events=r "
    b"cmd=client|list user=ops\xff redir=-1 resp=2 lib-name= lib-ver= tot-net-in=26"
)


def test_lines_of_every_server_version_parse() -> None:
    row = parse_line(R70, "n1")
    assert row is not None
    assert (row.id, row.name, row.host, row.db, row.age_s, row.idle_s) == (
        4,
        b"orders",
        b"127.0.0.1",
        2,
        7,
        3,
    )
    assert (row.qbuf, row.tot_mem, row.buffer_class, row.own) == (26, 37658, "normal", False)
    sub = parse_line(R62, "n1")
    assert sub is not None and sub.host == b"::1" and sub.subscriptions == 3
    assert sub.buffer_class == "pubsub" and sub.omem == 5000 and sub.ssub == 0
    own = parse_line(VALKEY9, "n1")
    assert own is not None and own.own and own.host == b"/tmp/v.sock" and own.user == b"ops\xff"
    assert parse_line(b"", "n1") is None and parse_line(b"garbage", "n1") is None


def test_replica_and_monitor_classes() -> None:
    replica = parse_line(R70.replace(b"flags=N", b"flags=S"), "n")
    monitor = parse_line(R70.replace(b"flags=N", b"flags=O"), "n")
    blocked = parse_line(R70.replace(b"flags=N", b"flags=b").replace(b"multi=-1", b"multi=2"), "n")
    assert replica is not None and replica.buffer_class == "replica"
    assert monitor is not None and monitor.monitor and monitor.buffer_class == "normal"
    assert blocked is not None and blocked.blocked and blocked.in_multi


def _listing(clients: int, chunk: int = 65536) -> Iterator[bytes]:
    """A CLIENT LIST reply of `clients` rows in socket-sized chunks, made as it is read."""
    buf = b""
    for i in range(clients):
        name = b"app-%d" % (i % 50)
        buf += (
            R70.replace(b"id=4 ", b"id=%d " % i)
            .replace(b"name=orders", b"name=" + name)
            .replace(b"idle=3", b"idle=%d" % (i % 1000))
            .replace(b"omem=0", b"omem=%d" % (i % 7))
            + b"\n"
        )
        while len(buf) >= chunk:
            yield buf[:chunk]
            buf = buf[chunk:]
    yield buf


def _tally(clients: int, culprits: Culprits) -> Groups:
    groups = Groups("name")
    for line in split_lines(_listing(clients)):
        row = parse_line(line, "n1")
        assert row is not None
        groups.add(row)
        culprits.add(row)
    return groups


def test_many_clients_keep_bounded_state() -> None:
    """What is kept does not grow with the clients: counts per group, reservoirs of at most
    RESERVOIR, the --top culprits of each kind, idle tallies per name and host."""
    culprits = Culprits(ClientsOptions(omem=5, idle=999))
    groups = _tally(30_000, culprits)
    assert groups.total.connections == 30_000 and len(groups.tallies) == 50
    assert all(t.connections == 600 for t in groups.tallies.values())
    assert all(len(t.idle) == len(t.age) == RESERVOIR for t in groups.tallies.values())
    assert all(len(heap) <= 20 for heap in culprits.heaps.values())
    kept = culprits.result()
    assert len([c for c in kept if c.kind == "output_buffer"]) == 20  # the --top of them
    idle = [c for c in kept if c.kind == "idle"]
    assert [(c.name, c.connections, c.value) for c in idle] == [(b"app-49", 30, 999)]


def _peak(clients: int) -> int:
    tracemalloc.start()
    try:
        _tally(clients, Culprits(ClientsOptions()))
        return tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


def test_the_listing_is_never_held_whole() -> None:
    """Four times the clients (1.1 MB of reply) cost no more memory than a quarter of them:
    rows are tallied and dropped as they are read."""
    _tally(500, Culprits(ClientsOptions()))  # imports and caches warmed
    small, big = _peak(1_000), _peak(4_000)
    assert big < small + 150_000 and big < 700_000, (small, big)


def test_medians_exact_in_a_small_group_estimated_in_a_big_one() -> None:
    groups = Groups("name")
    for i in range(RESERVOIR):
        row = parse_line(R70.replace(b"idle=3", b"idle=%d" % i), "n1")
        assert row is not None
        groups.add(row)
    small = groups.top(1)[0]
    assert small.idle_median_s == (RESERVOIR - 1) / 2 and not small.median_sampled
    for i in range(RESERVOIR, 10_000):
        row = parse_line(R70.replace(b"idle=3", b"idle=%d" % i), "n1")
        assert row is not None
        groups.add(row)
    big = groups.top(1)[0]
    assert big.median_sampled and big.idle_max_s == 9_999 and big.connections == 10_000
    assert 3_500 < big.idle_median_s < 6_500  # a 256-sample estimate of 5,000


def test_buffer_limits_from_config_get() -> None:
    limits = parse_limits("normal 0 0 0 slave 268435456 67108864 60 pubsub 1048576 524288 10")
    assert limits["pubsub"].hard == 1 << 20 and limits["pubsub"].soft_s == 10
    assert limits["replica"].soft == 64 << 20 and limits["normal"].hard == 0


def test_the_subscriber_nearest_its_limit_comes_first() -> None:
    culprits = Culprits(ClientsOptions(omem=1000))
    culprits.limits["n1"] = parse_limits("pubsub 10000 0 0")
    normal = parse_line(R70.replace(b"omem=0", b"omem=90000"), "n1")
    subscriber = parse_line(R62.replace(b"omem=5000", b"omem=9000"), "n1")
    assert normal is not None and subscriber is not None
    culprits.add(normal)
    culprits.add(subscriber)
    first, second = culprits.result()
    assert first.buffer_class == "pubsub" and first.limit_share == pytest.approx(0.9)
    assert "90% of the way" in first.evidence and second.limit_share is None


def test_gates() -> None:
    node = NodeClients(address="n1", role="primary", connected_clients=90, maxclients=100)
    node = NodeClients(**{**node.__dict__, "maxclients_share": 0.9, "omem_max": 70_000_000})
    assert parse_gate("connections>80%").check((node,)).tripped
    assert not parse_gate("connections>95%").check((node,)).tripped
    assert parse_gate("omem>64MB").check((node,)).tripped
    assert not parse_gate("connections>=91").check((node,)).tripped
    assert parse_gate("connections>=90").check((node,)).tripped
    down = NodeClients(address="n2", role="primary", error="down")
    assert not parse_gate("churn>1").check((down,)).tripped
    for bad in ("foo>1", "omem>lots", "omem>5%", "connections", "churn>-1"):
        with pytest.raises(UsageError):
            parse_gate(bad)


def _report(rows: list[bytes], by: GroupBy) -> ClientsReport:
    groups, culprits = Groups(by), Culprits(ClientsOptions(omem=1000))
    for line in rows:
        row = parse_line(line, "127.0.0.1:6379")
        assert row is not None
        groups.add(row)
        culprits.add(row)
    return ClientsReport(
        target=Target(
            "redis://127.0.0.1:6379/0", "standalone", (Node("127.0.0.1:6379", "primary"),)
        ),
        complete=True,
        by=by,
        window_s=0,
        idle_threshold_s=3600,
        omem_threshold=1000,
        qbuf_threshold=1 << 20,
        nodes=(NodeClients(address="127.0.0.1:6379", role="primary", connected_clients=2),),
        totals=ClientTotals(
            connections=2,
            own=0,
            blocked=0,
            in_multi=0,
            subscribers=1,
            tracking=0,
            monitors=0,
            tot_mem=0,
            omem=0,
            qbuf=0,
            connections_received=None,
            connections_per_s=None,
            rejected_in_window=None,
            maxclients_share=None,
        ),
        groups=groups.top(20),
        groups_total=len(groups.tallies),
        culprits=culprits.result(),
    )


def _text(report: ClientsReport) -> str:
    console = Console(width=80, record=True, color_system=None)
    console.print(render_table(report, width=80))
    return console.export_text()


def test_table_escapes_names_and_fits_80_columns() -> None:
    odd = b"bad\x1b[31mred\xff"  # a user name with an escape sequence and invalid UTF-8
    long_name = b"checkout-service-" + b"x" * 80
    report = _report(
        [
            R70.replace(b"name=orders", b"name=" + long_name),
            R62.replace(b"omem=5000", b"omem=9000").replace(b"user=default", b"user=" + odd),
        ],
        "user",
    )
    text = _text(report)
    assert max(len(line) for line in text.splitlines()) <= 80
    assert "\x1b" not in text and '"bad\\x1b[31mred\\xff"' in text
    by_name = _text(_report([R70.replace(b"name=orders", b"name=" + long_name)], "name"))
    assert max(len(line) for line in by_name.splitlines()) <= 80
    assert "checkout-service-" in by_name and "…" in by_name  # cut in the middle to fit
    doc = json.loads(dumps(report))
    assert doc["culprits"][0]["user"] == '"bad\\x1b[31mred\\xff"'
    assert doc["culprits"][0]["user_escaped"] is True
    row = parse_line(R62.replace(b"user=default", b"user=" + odd), "n")
    assert row is not None
    line = json.loads(client_jsonl(row))
    assert line["user_escaped"] is True and line["subscriptions"] == 3
