"""Where each key's type comes from (--type-lookup predict | scan | ask): the same reports from
each, on mixed keyspaces, with keys changing type mid-scan, --type, --sample, an ACL user that
cannot ask MODULE LIST, a cluster; and what --rate and --gentle send the server."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest
import redis

from rediscope.core.localserver import LocalServer
from rediscope.core.scan.predict import MAX_SHAPES, Predictor, shape
from rediscope.core.scan.typed import UNTYPED, Walks, cut, split, walks_for
from tests.conftest import ACL_PASSWORD, ACL_USER, invoke

LOOKUPS = ("predict", "scan", "ask")


def comparable(doc: Any) -> Any:
    """A report without what moves between two runs: timings, the scan summary, TTLs left."""
    if isinstance(doc, dict):
        skip = {"scan", "seconds", "generated_at", "elapsed", "ttl_s", "totals", "used_memory"}
        return {k: comparable(v) for k, v in doc.items() if k not in skip}
    if isinstance(doc, list):
        return [comparable(v) for v in doc]
    return doc


def mixed(c: redis.Redis, n: int = 3000) -> int:
    """Every type, keys of one shape with different types (wrong guesses), binary keys, TTLs,
    big and small encodings. Returns the key count."""
    pipe = c.pipeline(transaction=False)
    for i in range(n):
        pipe.hset(f"user:{i}", mapping={"name": f"n{i}", "age": i % 90})
        pipe.set(
            f"session:{i:08x}-cafe", "x" * (i % 300), ex=2 * 86_400 + i
        )  # far from a TTL bucket boundary
        pipe.set(f"counter:{i}", i)
        kind = i % 6  # one shape, six types: every guess from the shape is wrong somewhere
        key = f"obj:{i}"
        if kind == 0:
            pipe.set(key, "v")
        elif kind == 1:
            pipe.rpush(key, *range(i % 7 + 1))
        elif kind == 2:
            pipe.sadd(key, *range(i % 5 + 1))
        elif kind == 3:
            pipe.zadd(key, {f"m{j}": j for j in range(i % 4 + 1)})
        elif kind == 4:
            pipe.hset(key, "f", "v")
        else:
            pipe.xadd(key, {"f": "v"})
    pipe.set(b"bin:\x00\xff\x80", b"\x81")
    pipe.rpush("big:list", *range(5000))
    pipe.hset("big:hash", mapping={f"f{j}": "v" * 20 for j in range(2000)})
    pipe.execute()
    return int(c.dbsize())


def report(port: int, command: str, *extra: str) -> dict[str, Any]:
    res = invoke(command, "-p", str(port), "--format", "json", *extra)
    assert res.exit_code == 0, res.stderr
    doc: dict[str, Any] = res.json()
    return doc


@pytest.mark.parametrize("command", ["bigkeys", "memory", "patterns"])
def test_every_type_lookup_gives_the_same_report(plain: LocalServer, command: str) -> None:
    c = plain.client()
    keys = mixed(c)
    docs = {how: report(plain.port, command, "--type-lookup", how) for how in LOOKUPS}
    for how, doc in docs.items():
        assert doc["scan"]["keys_scanned"] == keys, how
        assert doc["scan"]["keys_retyped"] == 0, how
    assert comparable(docs["predict"]) == comparable(docs["ask"])
    assert comparable(docs["scan"]) == comparable(docs["ask"])
    if command == "bigkeys":
        by_type = {t["type"]: t["keys"] for t in docs["predict"]["by_type"]}
        assert by_type["stream"] == 3000 // 6 and by_type["hash"] == 3000 + 500 + 1
    c.close()


def test_predicted_types_leave_type_out(plain: LocalServer) -> None:
    """The point of predicting: TYPE only for keys not guessed right (a few per shape)."""
    c = plain.client()
    keys = mixed(c)
    report(plain.port, "bigkeys", "--scan-count", "100")
    calls = c.info("commandstats")
    types = calls.get("cmdstat_type", {}).get("calls", 0)
    assert types < keys / 3  # obj:* (a sixth of the keys here) is guessed wrong 5 times in 6
    memory = calls.get("cmdstat_memory|usage") or calls["cmdstat_memory"]  # 6.2: no subcommands
    assert memory["calls"] >= keys
    c.close()


def test_type_filter_is_one_typed_walk(plain: LocalServer) -> None:
    c = plain.client()
    mixed(c, 600)
    c.config_resetstat()
    full = report(plain.port, "bigkeys")
    c.config_resetstat()
    hashes = report(plain.port, "bigkeys", "--type", "hash")
    assert "cmdstat_type" not in c.info("commandstats") or (
        c.info("commandstats")["cmdstat_type"]["calls"] <= 1  # the probe
    )
    want = next(t for t in full["by_type"] if t["type"] == "hash")
    assert [{**t, "share": None} for t in hashes["by_type"]] == [{**want, "share": None}]
    c.close()


def test_sample_keeps_the_type_mix(plain: LocalServer) -> None:
    c = plain.client()
    mixed(c)
    docs = {
        how: report(plain.port, "bigkeys", "--sample", "900", "--type-lookup", how)
        for how in LOOKUPS
    }
    assert comparable(docs["predict"]) == comparable(docs["ask"])  # the same keys, SCAN's order
    for doc in docs.values():
        assert doc["scan"]["keys_scanned"] == 900 and doc["scan"]["sampled"] is True
    share = {}  # each type's share of the sample ("keys" are extrapolated to the keyspace)
    for how, doc in docs.items():
        total = sum(t["keys"] for t in doc["by_type"])
        share[how] = {t["type"]: t["keys"] / total for t in doc["by_type"]}
    for t, s in share["ask"].items():
        assert abs(share["scan"].get(t, 0.0) - s) < 0.1, (t, share)
    c.close()


@pytest.mark.parametrize("how", LOOKUPS)
def test_keys_changing_type_mid_scan_are_counted_once(plain: LocalServer, how: str) -> None:
    c = plain.client()
    pipe = c.pipeline(transaction=False)
    for i in range(20_000):
        pipe.set(f"stay:{i}", "x")
    for i in range(4000):
        pipe.set(f"flip:{i}", "s")
    pipe.execute()
    stop = threading.Event()
    flipped = threading.Event()

    def churn() -> None:
        w = plain.client()
        i = 0
        while not stop.is_set():
            key = f"flip:{i % 4000}"
            p = w.pipeline()  # MULTI: the key is never missing in between
            p.delete(key)
            if i % 2:
                p.set(key, "s")
            else:
                p.rpush(key, "l")
            p.execute()
            i += 1
            if i == 2000:
                flipped.set()
        w.close()

    thread = threading.Thread(target=churn)
    thread.start()
    try:
        flipped.wait(30)
        doc = report(plain.port, "bigkeys", "--type-lookup", how, "--scan-count", "100")
    finally:
        stop.set()
        thread.join()
    scan = doc["scan"]
    assert scan["complete"] is True
    assert sum(t["keys"] for t in doc["by_type"]) == scan["keys_scanned"]
    assert scan["keys_scanned"] <= 24_000  # never a key twice
    assert scan["keys_scanned"] + scan["keys_retyped"] + scan["keys_vanished"] >= 20_000
    c.close()


def test_without_module_list_the_scan_lookup_still_finds_every_key(acl_server: LocalServer) -> None:
    """The analyst of the tests may not run MODULE LIST: module types cannot be ruled out, so
    each step adds an untyped SCAN and measures what no typed SCAN returned."""
    admin = acl_server.client()
    admin.flushall()
    keys = mixed(admin, 600)
    url = f"redis://{ACL_USER}@127.0.0.1:{acl_server.port}/0"
    env = {"REDISCOPE_PASSWORD": ACL_PASSWORD}
    docs = {}
    for how in LOOKUPS:
        res = invoke("bigkeys", "--url", url, "--format", "json", "--type-lookup", how, env=env)
        assert res.exit_code == 0, res.stderr
        docs[how] = res.json()
        assert docs[how]["scan"]["keys_scanned"] == keys
    assert comparable(docs["scan"]) == comparable(docs["ask"]) == comparable(docs["predict"])
    admin.flushall()
    admin.close()


@pytest.mark.cluster
def test_cluster_reports_agree_across_lookups(cluster: list[LocalServer]) -> None:
    rc = redis.RedisCluster(host="127.0.0.1", port=cluster[0].port)
    for i in range(1500):
        rc.set(f"tl:{i}", "x" * (i % 50))
        rc.hset(f"tlh:{i}", "f", i)
        rc.rpush(f"tll:{i}", i)
    docs = {how: report(cluster[0].port, "bigkeys", "--type-lookup", how) for how in LOOKUPS}
    assert docs["ask"]["scan"]["keys_scanned"] >= 4500
    assert comparable(docs["predict"]) == comparable(docs["ask"]) == comparable(docs["scan"])
    for i in range(1500):
        rc.delete(f"tl:{i}", f"tlh:{i}", f"tll:{i}")
    rc.close()


def _scan_counts(c: redis.Redis) -> list[int]:
    counts = []
    for entry in c.slowlog_get(100_000):
        args = [a.upper() if isinstance(a, bytes) else a for a in entry["command"].split()]
        if args and args[0] == b"SCAN" and b"COUNT" in args:
            counts.append(int(args[args.index(b"COUNT") + 1]))
    return counts


@contextmanager
def every_command_logged(c: redis.Redis) -> Iterator[None]:
    """The slow log keeps every command meanwhile (what a scan sent, in order), then is reset."""
    c.config_set("slowlog-log-slower-than", 0)
    c.config_set("slowlog-max-len", 100_000)
    c.slowlog_reset()
    try:
        yield
    finally:
        c.config_set("slowlog-log-slower-than", 10_000)
        c.slowlog_reset()


def paced_scan(server: LocalServer, c: redis.Redis, *pace: str) -> tuple[dict[str, Any], list[int]]:
    """`bigkeys` with the pace options given: its report, and the COUNT of every SCAN it sent
    (from the slow log, logging every command meanwhile)."""
    with every_command_logged(c):
        return report(server.port, "bigkeys", *pace), _scan_counts(c)


@pytest.mark.parametrize("pace", [["--rate", "5000"], ["--gentle"]])
def test_paced_scans_send_small_requests(plain: LocalServer, pace: list[str]) -> None:
    """Paced, each request carries a few keys (its cost to the server is bounded), not a
    1000-key SCAN batch; the report is the one an unpaced scan gives."""
    c = plain.client()
    mixed(c, 400)
    flat = report(plain.port, "bigkeys")
    paced, counts = paced_scan(plain, c, *pace)
    assert len(counts) > 10 and max(counts) < 1000  # never a flat-out batch
    assert sorted(counts)[len(counts) // 2] <= 50  # a few keys per request
    assert comparable(paced) == comparable(flat)
    c.close()


def test_split_and_cut() -> None:
    """Diverged cursors: the step is walked again untyped (or taken from the untyped reply)."""
    walks = Walks((b"string", b"hash"), False)
    ok = split([[b"7", [b"a"]], [b"7", [b"b", b"c"]]], walks)
    assert (ok.cursor, ok.typed, ok.diverged) == (
        b"7",
        [(b"string", [b"a"]), (b"hash", [b"b", b"c"])],
        False,
    )
    assert split([[b"7", [b"a"]], [b"9", []]], walks).diverged
    with_untyped = Walks((b"string", b"hash"), True)
    got = split([[b"7", [b"a"]], [b"7", []], [b"7", [b"a", b"m"]]], with_untyped)
    assert got.typed == [(b"string", [b"a"])] and got.untyped == [b"m"]  # m: a module type
    got = split([[b"7", [b"a"]], [b"5", []], [b"9", [b"a", b"m"]]], with_untyped)
    assert (got.cursor, got.typed, got.untyped) == (b"9", [], [b"a", b"m"])
    step = split([[b"3", [b"s1", b"s2", b"s3", b"s4"]], [b"3", [b"h1", b"h2"]]], walks)
    half = cut(step, 3)
    assert sum(len(k) for _, k in half.typed) == 3 and {t for t, _ in half.typed} == {
        b"string",
        b"hash",
    }
    assert walks_for(None, False, True) == (UNTYPED, UNTYPED)
    assert walks_for("zset", True, True)[0] == Walks((b"zset",), False)


def test_predictor_is_bounded_and_learns_by_shape() -> None:
    p = Predictor()
    assert shape(b"user:1234:profile") == b"user:"
    p.learn([b"user:1", b"queue:7"], [b"hash", b"list"])
    groups, unknown = p.assign([b"user:99", b"queue:12", b"new"])
    assert dict(groups) == {b"hash": [b"user:99"], b"list": [b"queue:12"]} and unknown == [b"new"]
    p.learn(
        [f"k{i}x".encode() + bytes([i % 256]) for i in range(MAX_SHAPES * 2)],
        [b"string"] * (MAX_SHAPES * 2),
    )
    assert len(p.by_shape) <= MAX_SHAPES and len(p.by_head) <= MAX_SHAPES


def test_rendered_commands_are_the_formats_filled_in() -> None:
    """The fast request builder gives the bytes of %-formatting each key into each command,
    for any key (binary, empty) and any set of needs."""
    from rediscope.core.scan.requests import formats

    keys = [b"", b"user:1", b"\x00\xff\r\n$3", b"k" * 300]
    for needs in ({"memory", "length"}, {"memory", "ttl", "encoding", "length"}, {"ttl", "idle"}):
        for samples in (5, 0):
            fm = formats(set(needs), samples)
            for f in [fm.untyped, *fm.typed.values()]:
                assert f.render(keys) == b"".join(f.fmt % ((len(k), k) * f.ncols) for k in keys)
