"""Tiers 2-3: the keyspace scanner and `rediscope bigkeys` on real servers."""

from __future__ import annotations

import os
import signal
import subprocess
import threading
from pathlib import Path

import pytest
import redis

from rediscope.core.bigkeys.command import bigkeys
from rediscope.core.connection import ConnectionOptions, resolve
from rediscope.core.localserver import LocalServer
from rediscope.core.pipeline.options import ScanOptions
from rediscope.exitcodes import ExitStatus
from tests.helpers import (
    ACL_PASSWORD,
    ACL_USER,
    assert_valid_json_output,
    invoke,
    load_json,
    run_cli,
    scan_started,
    start_slow_bigkeys,
    stopped_at_exit,
    wait_until,
)

LENGTH = {
    "string": "strlen",
    "list": "llen",
    "set": "scard",
    "zset": "zcard",
    "hash": "hlen",
    "stream": "xlen",
}


def _spec(server: LocalServer, **kw: object) -> object:
    return resolve(ConnectionOptions(port=server.port, **kw), None, environ={})  # type: ignore[arg-type]


def _fill_known(c: redis.Redis) -> None:
    """A keyspace whose biggest keys are known: one clear winner per type, plus noise."""
    pipe = c.pipeline(transaction=False)
    for i in range(3000):
        pipe.set(f"small:{i}", "v" * (i % 50))
        pipe.hset(f"h:{i}", mapping={"a": 1, "b": i})
    pipe.set("huge:string", "x" * 300_000)
    pipe.rpush("huge:list", *range(20_000))
    pipe.sadd("huge:set", *range(15_000))
    pipe.zadd("huge:zset", {f"m{i}": i for i in range(12_000)})
    pipe.hset("huge:hash", mapping={f"f{i}": i for i in range(10_000)})
    for i in range(700):
        pipe.xadd("huge:stream", {"i": i})
    pipe.execute()


def test_top_keys_match_memory_usage_and_lengths(plain: LocalServer) -> None:
    c = plain.client()
    _fill_known(c)
    res = invoke(
        "bigkeys", "-p", str(plain.port), "--top", "10", "--samples", "0", "--format", "json"
    )
    assert res.exit_code == 0, res.stderr
    doc = assert_valid_json_output(res, "bigkeys")
    assert doc["scan"]["keys_scanned"] == c.dbsize() == doc["scan"]["nodes"][0]["dbsize"]
    # every listed key: bytes = MEMORY USAGE SAMPLES 0 and elements = the length command
    for item in doc["keys"] + doc["top_by_elements"]:
        key = item["key"]
        assert item["bytes"] == c.memory_usage(key, samples=0), key
        assert item["elements"] == getattr(c, LENGTH[item["type"]])(key), key
    # the top by bytes is really the top: nothing outside it is bigger than its last entry
    listed = {k["key"] for k in doc["keys"]}
    floor = min(k["bytes"] for k in doc["keys"])
    for key in c.scan_iter(count=1000):
        if key.decode() not in listed:
            assert c.memory_usage(key, samples=0) <= floor
    biggest = {t["type"]: t["biggest"]["key"] for t in doc["by_type"]}
    assert biggest == {
        "string": "huge:string",
        "list": "huge:list",
        "set": "huge:set",
        "zset": "huge:zset",
        "hash": "huge:hash",
        "stream": "huge:stream",
    }
    by_type = {t["type"]: t for t in doc["by_type"]}
    assert by_type["hash"]["keys"] == 3001
    assert by_type["list"]["elements"] == 20_000
    assert sum(t["keys"] for t in doc["by_type"]) == doc["scan"]["keys_scanned"]
    assert doc["complete"] is True and doc["scan"]["sampled"] is False
    assert doc["keys"][0]["encoding"] in ("skiplist", "quicklist", "hashtable", "raw")
    c.close()


def test_per_type_bytes_add_up_to_the_sum_of_memory_usage(plain: LocalServer) -> None:
    c = plain.client()
    _fill_known(c)
    report = bigkeys(_spec(plain), ScanOptions(samples=0))  # type: ignore[arg-type]
    total = sum(c.memory_usage(k, samples=0) for k in c.scan_iter(count=1000))
    assert sum(t.bytes for t in report.by_type) == total
    c.close()


def test_all_dbs_are_scanned_and_db_flag_picks_one(plain: LocalServer) -> None:
    for db, n in ((0, 10), (3, 20), (7, 5)):
        c = plain.client(db=db)
        c.mset({f"k{db}:{i}": "v" for i in range(n)})
        c.close()
    doc = invoke("bigkeys", "-p", str(plain.port), "--format", "json").json()
    assert doc["scan"]["keys_scanned"] == 35 and doc["scan"]["nodes"][0]["dbs"] == [0, 3, 7]
    doc = invoke("bigkeys", "-p", str(plain.port), "-n", "3", "--format", "json").json()
    assert doc["scan"]["keys_scanned"] == 20 and {k["db"] for k in doc["keys"]} == {3}


def test_match_and_type_filters(plain: LocalServer) -> None:
    c = plain.client()
    _fill_known(c)
    doc = invoke("bigkeys", "-p", str(plain.port), "--match", "huge:*", "--format", "json").json()
    assert doc["scan"]["keys_scanned"] == 6
    doc = invoke("bigkeys", "-p", str(plain.port), "--type", "hash", "--format", "json").json()
    assert {t["type"] for t in doc["by_type"]} == {"hash"}
    assert doc["scan"]["keys_scanned"] == 3001
    c.close()


def test_thresholds_and_fail_if_found(plain: LocalServer) -> None:
    c = plain.client()
    _fill_known(c)
    res = invoke(
        "bigkeys",
        "-p",
        str(plain.port),
        "--min-bytes",
        "200KiB",
        "--format",
        "json",
        "--fail-if-found",
    )
    assert res.exit_code == ExitStatus.ERROR
    doc = res.json()
    offenders = {k["key"] for k in doc["over_threshold_keys"]}
    assert "huge:string" in offenders and doc["over_threshold"] == len(offenders)
    assert all(c.memory_usage(k) >= 200 * 1024 for k in offenders)
    res = invoke("bigkeys", "-p", str(plain.port), "--min-elements", "1000000", "--fail-if-found")
    assert res.exit_code == 0 and "0 keys over the threshold" in res.stdout
    res = invoke("bigkeys", "-p", str(plain.port), "--min-bytes", "lots")
    assert res.exit_code == ExitStatus.USAGE and "not a size" in res.stderr
    c.close()


def test_a_tripped_gate_names_every_offender_and_echoes_the_threshold(
    plain: LocalServer,
) -> None:
    """--top 1 with 4 keys over the threshold: the table lists all 4 (the gate's offenders are
    not the top list), per type shows the --top asked for, the threshold reads as typed."""
    c = plain.client()
    for i in range(4):
        c.set(f"blob:{i}", "x" * (1_100_000 + i))
    c.rpush("list:a", *range(10))
    c.rpush("list:b", *range(5))
    args = ("bigkeys", "-p", str(plain.port), "--top", "1", "--min-bytes", "1MB")
    res = invoke(*args, "--fail-if-found")
    assert res.exit_code == ExitStatus.ERROR
    assert "4 keys over the threshold (>= 1MB)" in res.stdout, res.stdout
    assert "keys over the threshold (4 of 4)" in res.stdout
    assert all(f"blob:{i}" in res.stdout for i in range(4))
    assert "(top 1)" in res.stdout and "(top 3)" not in res.stdout
    assert "top 1 key by memory" in res.stdout
    doc = assert_valid_json_output(invoke(*args, "--format", "json"), "bigkeys")
    assert sorted(k["key"] for k in doc["over_threshold_keys"]) == [f"blob:{i}" for i in range(4)]
    assert doc["top"] == 1 and len(doc["keys"]) == 1
    res = invoke("bigkeys", "-p", str(plain.port), "--min-bytes", "2MB")
    assert "0 keys over the threshold (>= 2MB)" in res.stdout
    c.close()


def test_sample_extrapolates_and_says_so(plain: LocalServer) -> None:
    c = plain.client()
    pipe = c.pipeline(transaction=False)
    for i in range(40_000):
        pipe.set(f"s:{i}", "x" * 100)
    pipe.execute()
    res = invoke("bigkeys", "-p", str(plain.port), "--sample", "5000", "--format", "json")
    doc = assert_valid_json_output(res, "bigkeys")
    assert doc["scan"]["sampled"] is True and doc["scan"]["keys_scanned"] == 5000
    strings = doc["by_type"][0]
    assert strings["estimated"] is True
    assert abs(strings["keys"] - 40_000) <= 400
    assert "SAMPLED" in invoke("bigkeys", "-p", str(plain.port), "--sample", "5000").stdout
    c.close()


def test_binary_markup_and_ansi_keys_are_printed_literally(plain: LocalServer) -> None:
    c = plain.client()
    c.set(b"bin:\x00\xff", "x" * 5000)
    c.set("[bold red]markup[/]", "x" * 4000)
    c.set("\x1b[2Jclear", "x" * 3000)
    res = invoke("bigkeys", "-p", str(plain.port))
    assert res.exit_code == 0, res.stderr
    assert '"bin:\\x00\\xff"' in res.stdout
    assert "[bold red]markup[/]" in res.stdout
    assert "\x1b" not in res.stdout and '"\\x1b[2Jclear"' in res.stdout
    doc = invoke("bigkeys", "-p", str(plain.port), "--format", "json").json()
    binary = next(k for k in doc["keys"] if k["key"].startswith('"bin:'))
    assert binary["key_escaped"] is True and binary["key"] == '"bin:\\x00\\xff"'
    c.close()


def test_acl_user_limited_to_analysis_commands_completes(acl_server: LocalServer) -> None:
    admin = acl_server.client()
    admin.flushall()
    _fill_known(admin)
    res = invoke(
        "bigkeys",
        "--url",
        f"redis://{ACL_USER}@127.0.0.1:{acl_server.port}",
        "--format",
        "json",
        env={"REDISCLI_AUTH": ACL_PASSWORD},
    )
    assert res.exit_code == 0, res.stderr
    assert res.json()["scan"]["keys_scanned"] == admin.dbsize()
    assert res.json()["complete"] is True
    admin.close()


def test_denied_memory_usage_degrades_with_a_note(tmp_path: Path) -> None:
    with LocalServer(dir=tmp_path, config={"rename-command": 'MEMORY ""'}) as server:
        c = server.client()
        c.rpush("l", *range(100))
        c.set("s", "abc")
        res = invoke("bigkeys", "-p", str(server.port), "--format", "json")
        assert res.exit_code == 0, res.stderr
        doc = res.json()
        assert "MEMORY USAGE" in " ".join(doc["notes"]) and "MEMORY USAGE" in res.stderr
        assert {k["key"]: k["elements"] for k in doc["top_by_elements"]} == {"l": 100, "s": 3}
        assert all(k["bytes"] is None for k in doc["top_by_elements"])
        c.close()


def test_keys_deleted_and_expiring_during_the_scan(plain: LocalServer) -> None:
    c = plain.client()
    pipe = c.pipeline(transaction=False)
    for i in range(30_000):
        pipe.set(f"gone:{i}", "x", px=1 + i % 400)  # many expire while we scan
        pipe.rpush(f"list:{i}", "a", "b")
        if i < 10_000:
            pipe.hset(f"stay:{i}", "f", "v")  # untouched: every one must be measured
    pipe.execute()
    stop = threading.Event()

    def churn() -> None:
        w = plain.client()
        i = 0
        while not stop.is_set():
            w.delete(f"list:{i % 30000}")
            w.set(f"list:{(i + 7) % 30000}", "now a string")  # retyped under the scanner
            i += 1
        w.close()

    thread = threading.Thread(target=churn)
    thread.start()
    try:
        res = invoke(
            "bigkeys",
            "-p",
            str(plain.port),
            "--scan-count",
            "200",
            "--rate",
            "40000",
            "--format",
            "json",
            "--timeout",
            "3",
        )
    finally:
        stop.set()
        thread.join()
    assert res.exit_code == 0, res.stderr
    doc = res.json()
    scan = doc["scan"]
    assert scan["complete"] is True
    assert sum(t["keys"] for t in doc["by_type"]) == scan["keys_scanned"]
    hashes = next(t for t in doc["by_type"] if t["type"] == "hash")
    assert hashes["keys"] == 10_000  # every key that stayed, each once
    assert scan["keys_scanned"] <= 70_000  # never a key twice
    c.close()


@pytest.mark.cluster
def test_cluster_scan_covers_every_primary(cluster: list[LocalServer]) -> None:
    c = redis.RedisCluster(host="127.0.0.1", port=cluster[0].port)
    for i in range(3000):
        c.set(f"ck:{i}", "x" * (i % 100))
    c.rpush("{big}:list", *range(5000))
    c.close()
    doc = assert_valid_json_output(
        invoke("bigkeys", "-p", str(cluster[2].port), "--format", "json"), "bigkeys"
    )
    total = 0
    for server in cluster:
        node = server.client()
        total += node.dbsize()
        node.close()
    assert doc["scan"]["keys_scanned"] == total and total >= 3001  # the cluster is shared
    assert len(doc["scan"]["nodes"]) == 3
    assert {n["address"] for n in doc["scan"]["nodes"]} == {f"127.0.0.1:{s.port}" for s in cluster}
    top = next(k for k in doc["top_by_elements"] if k["key"] == "{big}:list")
    assert top["elements"] == 5000 and top["encoding"] == "quicklist"


def _slow_scan(port: int, *extra: str) -> subprocess.Popen[str]:
    return start_slow_bigkeys(port, 3000, 100, "--timeout", "2", *extra)


def test_ctrl_c_prints_partial_result_and_exits_130(plain: LocalServer) -> None:
    c = plain.client()
    c.mset({f"k:{i}": "v" for i in range(30_000)})
    with stopped_at_exit(_slow_scan(plain.port)) as proc:
        # interrupted once the scan is under way (a few SCANs answered), not after a guess
        wait_until("the scan to be under way", lambda: scan_started(plain, 5))
        proc.send_signal(signal.SIGINT)
        out, err = proc.communicate(timeout=20)
    assert proc.returncode == ExitStatus.INTERRUPTED, err
    doc = load_json(out)
    assert doc["complete"] is False and doc["scan"]["interrupted"] is True
    assert 0 < doc["scan"]["keys_scanned"] < 30_000
    assert "interrupted" in err and "Traceback" not in err
    c.close()


@pytest.mark.once
def test_ctrl_c_with_output_file_names_the_file_as_partial(
    plain: LocalServer, tmp_path: Path
) -> None:
    c = plain.client()
    c.mset({f"k:{i}": "v" for i in range(30_000)})
    c.close()
    report = tmp_path / "report.json"
    with stopped_at_exit(_slow_scan(plain.port, "-o", str(report))) as proc:
        wait_until("the scan to be under way", lambda: scan_started(plain, 5))
        proc.send_signal(signal.SIGINT)
        out, err = proc.communicate(timeout=20)
    assert proc.returncode == ExitStatus.INTERRUPTED, err
    assert out == ""  # the report went to the file, not above
    assert f"the report written to {report} is partial (complete: false)" in err, err
    assert "report above" not in err
    doc = load_json(report.read_text())
    assert doc["complete"] is False and 0 < doc["scan"]["keys_scanned"] < 30_000


def test_server_killed_mid_scan_reports_what_it_had(tmp_path: Path) -> None:
    server = LocalServer(dir=tmp_path).start()
    try:
        c = server.client()
        c.mset({f"k:{i}": "v" for i in range(30_000)})
        c.close()
        with stopped_at_exit(_slow_scan(server.port)) as proc:
            wait_until("the scan to be under way", lambda: scan_started(server, 5))
            os.kill(server.pid, signal.SIGKILL)
            out, err = proc.communicate(timeout=20)
    finally:
        server.cleanup()
    assert proc.returncode == ExitStatus.ERROR, err
    doc = load_json(out)
    assert doc["complete"] is False and doc["scan"]["keys_scanned"] > 0
    assert doc["scan"]["nodes"][0]["error"]
    assert "error:" in err and "Traceback" not in err


def test_subprocess_json_is_one_document(plain: LocalServer) -> None:
    c = plain.client()
    c.set("a", "1")
    res = run_cli("bigkeys", "-p", str(plain.port), "--format", "json")
    assert res.exit_code == 0
    assert load_json(res.stdout)["command"] == "bigkeys"
    c.close()


def test_empty_results_say_so_in_a_sentence(plain: LocalServer) -> None:
    """No empty "top 0 keys" tables: where the keys are, or that there are none."""
    c = plain.client()
    c.mset({"a": 1, "b": 2})
    for command in ("bigkeys", "memory", "patterns"):
        res = invoke(command, "-p", str(plain.port), "-n", "5")
        assert res.exit_code == 0, res.stderr
        assert "db 5 holds no keys; keys are in db 0 (2 keys): pick one with -n" in res.stdout
        assert "top 0" not in res.stdout and "0 patterns" not in res.stdout, command
    res = invoke("bigkeys", "-p", str(plain.port), "--match", "nothing:*")
    assert "no key matched the filters" in res.stdout
    c.flushall()
    res = invoke("patterns", "-p", str(plain.port))
    assert "the server holds no keys" in res.stdout
    c.close()
