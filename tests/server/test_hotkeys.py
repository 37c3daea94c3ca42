"""hotkeys: MONITOR parsing (pure) and both methods against real servers."""

from __future__ import annotations

import threading
import time
from pathlib import Path

import pytest
import redis

from rediscope.core.hotkeys import KeyFinder
from rediscope.core.localserver import LocalServer
from rediscope.exitcodes import ExitStatus
from tests.helpers import (
    ADMIN_PASSWORD,
    assert_valid_json_output,
    invoke,
    monitor_attached,
    wait_until,
)


@pytest.mark.parametrize(
    ("args", "keys"),
    [
        ((b"MGET", b"a", b"b", b"c"), [b"a", b"b", b"c"]),
        ((b"mset", b"a", b"1", b"b", b"2"), [b"a", b"b"]),
        ((b"DEL", b"a", b"b"), [b"a", b"b"]),
        ((b"EXISTS", b"a"), [b"a"]),
        ((b"EVAL", b"return 1", b"2", b"k1", b"k2", b"arg"), [b"k1", b"k2"]),
        ((b"XREAD", b"COUNT", b"2", b"STREAMS", b"s1", b"s2", b"0", b"0"), [b"s1", b"s2"]),
        (
            (b"ZUNIONSTORE", b"dst", b"2", b"z1", b"z2", b"WEIGHTS", b"1", b"2"),
            [b"dst", b"z1", b"z2"],
        ),
        ((b"PING",), []),
        ((b"OBJECT", b"FREQ", b"k"), [b"k"]),
        ((b"get",), []),
    ],
)
def test_key_positions(plain: LocalServer, args: tuple[bytes, ...], keys: list[bytes]) -> None:
    from rediscope.core.connection import ConnectionOptions, resolve

    spec = resolve(ConnectionOptions(port=plain.port), None, environ={})
    for finder in (KeyFinder.from_server(spec), KeyFinder()):  # server table and built-in
        assert finder.keys(args) == keys, args


def _load(port: int, stop: threading.Event, hot: bytes = b"hot:key") -> None:
    """10x more traffic to one key than to each of its neighbours."""
    c = redis.Redis(port=port)
    i = 0
    while not stop.is_set():
        pipe = c.pipeline(transaction=False)
        for n in range(20):
            pipe.get(f"item:{n}")
        for _ in range(10):
            pipe.get(hot)
        pipe.hset(f"profile:{i % 20}", "f", i)
        pipe.execute()
        i += 1
        time.sleep(0.002)
    c.close()


def _monitors(port: int) -> int:
    c = redis.Redis(port=port)
    try:
        return sum(1 for cl in c.client_list() if "O" in cl.get("flags", ""))
    finally:
        c.close()


def test_monitor_puts_the_hot_key_first_and_rolls_up_patterns(plain: LocalServer) -> None:
    stop = threading.Event()
    thread = threading.Thread(target=_load, args=(plain.port, stop))
    thread.start()
    try:
        res = invoke("hotkeys", "-p", str(plain.port), "--duration", "2s", "--format", "json")
    finally:
        stop.set()
        thread.join()
    assert res.exit_code == 0, res.stderr
    doc = assert_valid_json_output(res, "hotkeys")
    assert doc["window_s"] >= 2.0  # the whole window asked for was sampled
    assert doc["method"] == "monitor" and "keeps no access frequencies" in doc["reason"]
    assert "MONITOR costs server throughput" in res.stderr
    assert doc["keys"][0]["key"] == "hot:key" and doc["keys"][0]["reads"] > 0
    top, second = doc["keys"][0]["hits"], doc["keys"][1]["hits"]
    assert 8 <= top / second <= 12
    pats = {p["pattern"]: p["share"] for p in doc["patterns"]}
    # per round: 20 item gets, 10 hot gets, 1 profile write -> 20/31, 10/31, 1/31
    assert abs(pats["item:*"] - 20 / 31) < 0.03 and abs(pats["hot:key"] - 10 / 31) < 0.03
    assert abs(pats["profile:*"] - 1 / 31) < 0.02
    assert {c["name"] for c in doc["commands"]} == {"get", "hset"}
    assert doc["flagged"] and doc["flagged"][0]["key"] == "hot:key"
    wait_until("the MONITOR client to be gone", lambda: _monitors(plain.port) == 0)


def test_max_commands_bounds_the_window(plain: LocalServer) -> None:
    stop = threading.Event()
    thread = threading.Thread(target=_load, args=(plain.port, stop))
    thread.start()
    try:
        doc = invoke(
            "hotkeys",
            "-p",
            str(plain.port),
            "--method",
            "monitor",
            "--duration",
            "30s",
            "--max-commands",
            "500",
            "--format",
            "json",
        ).json()
    finally:
        stop.set()
        thread.join()
    # the count ended the window, long before the 30 s asked for
    assert 500 <= doc["commands_seen"] <= 700 and doc["window_s"] < 30


def test_lfu_method_ranks_by_counter(tmp_path: Path) -> None:
    with LocalServer(
        dir=tmp_path, config={"maxmemory-policy": "allkeys-lfu", "lfu-log-factor": "0"}
    ) as server:
        c = server.client()
        c.mset({**{f"item:{n}": "v" for n in range(20)}, "hot:key": "v", "cold:key": "v"})
        for _ in range(10):
            for n in range(20):
                c.get(f"item:{n}")
            for _ in range(10):
                c.get("hot:key")
        res = invoke("hotkeys", "-p", str(server.port), "--format", "json")
        doc = assert_valid_json_output(res, "hotkeys")
        assert doc["method"] == "lfu" and "allkeys-lfu" in doc["reason"]
        assert doc["keys"][0]["key"] == "hot:key" and doc["keys"][0]["freq"] > 100
        assert "cold:key" not in {k["key"] for k in doc["keys"]}  # still at the initial 5
        assert "logarithmic counter" in " ".join(doc["notes"])
        c.close()


def test_denied_monitor_and_object_name_the_permission(tmp_path: Path) -> None:
    (tmp_path / "users.acl").write_text(
        f"user default on >{ADMIN_PASSWORD} ~* &* +@all\n"
        "user ro on >ro-pass ~* +@read +info +ping +scan +type +command -monitor -object\n"
    )
    with LocalServer(
        dir=tmp_path,
        password=ADMIN_PASSWORD,
        config={"aclfile": str(tmp_path / "users.acl"), "maxmemory-policy": "allkeys-lfu"},
    ) as s:
        admin = s.client()
        admin.set("a", 1)
        env = {"REDISCLI_AUTH": "ro-pass"}
        res = invoke(
            "hotkeys",
            "--user",
            "ro",
            "-p",
            str(s.port),
            "--method",
            "monitor",
            "--duration",
            "1s",
            env=env,
        )
        assert res.exit_code == ExitStatus.ERROR
        assert "MONITOR" in res.stderr and "+monitor" in res.stderr
        assert res.stderr.count("\n") == 2  # the MONITOR warning, then the one-line error
        res = invoke("hotkeys", "--user", "ro", "-p", str(s.port), "--method", "lfu", env=env)
        assert res.exit_code == ExitStatus.ERROR and "+object|freq" in res.stderr
        admin.close()


def test_monitor_clients_grouped_by_name_and_host_and_limited_by_top(
    plain: LocalServer,
) -> None:
    """Five connections of two applications are two rows ("webapp @ 127.0.0.1"), not five
    ip:port rows; --top bounds the clients table too."""
    conns = []
    for name in ("webapp", "webapp", "webapp", "worker", "worker"):
        c = redis.Redis(port=plain.port, single_connection_client=True)
        c.client_setname(name)
        conns.append(c)
    stop = threading.Event()

    def traffic() -> None:
        while not stop.is_set():
            for i, c in enumerate(conns):
                c.get(f"k:{i}")

    result: dict[str, object] = {}

    def run() -> None:
        args = ("--method", "monitor", "--duration", "1.5s", "--top", "1", "--format", "json")
        result["res"] = invoke("hotkeys", "-p", str(plain.port), *args)

    runner = threading.Thread(target=run)
    runner.start()
    wait_until("MONITOR to attach", lambda: monitor_attached(plain))
    load = threading.Thread(target=traffic)
    load.start()
    runner.join(timeout=60)
    stop.set()
    load.join()
    for c in conns:
        c.close()
    res = result["res"]
    doc = assert_valid_json_output(res, "hotkeys")  # type: ignore[arg-type]
    names = [c["name"] for c in doc["clients"]]
    assert names == ["webapp @ 127.0.0.1"], doc["clients"]  # the busiest, and only --top 1
