"""Where each key's type comes from (--type-lookup predict | scan | ask): the same reports from
each, on mixed keyspaces, with keys changing type mid-scan, --type, --sample, an ACL user that
cannot ask MODULE LIST, a cluster; and what --rate and --gentle send the server."""

from __future__ import annotations

import threading

import pytest
import redis

from rediscope.core.localserver import LocalServer
from tests.helpers import ACL_PASSWORD, ACL_USER, invoke
from tests.helpers.scans import comparable, mixed, paced_scan, report

LOOKUPS = ("predict", "scan", "ask")


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
    for doc in docs.values():
        assert doc["scan"]["keys_scanned"] == 900 and doc["scan"]["sampled"] is True
    share = {}  # each type's share of the sample ("keys" are extrapolated to the keyspace)
    for how, doc in docs.items():
        total = sum(t["keys"] for t in doc["by_type"])
        share[how] = {t["type"]: t["keys"] / total for t in doc["by_type"]}
    # the same mix whichever way types are looked up (the keys themselves may differ: SCAN's
    # order between two walks is not fixed while the server's table is still rehashing)
    for t, s in share["ask"].items():
        assert abs(share["scan"].get(t, 0.0) - s) < 0.1, (t, share)
        assert abs(share["predict"].get(t, 0.0) - s) < 0.1, (t, share)
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
