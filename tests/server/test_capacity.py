"""Capacity: the fit (pure) and record/report against real servers."""

from __future__ import annotations

import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

from rediscope.core.localserver import LocalServer
from rediscope.exitcodes import ExitStatus
from tests.helpers import assert_valid_json_output, invoke, wait_until


def _grow(server: LocalServer, rounds: int, history: Path) -> None:
    c = server.client()
    for r in range(rounds):
        assert (
            invoke(
                "capacity", "record", "-p", str(server.port), "--history", str(history)
            ).exit_code
            == 0
        )
        pipe = c.pipeline(transaction=False)
        for j in range(4000):
            pipe.set(f"g{r}:{j}", "x" * 200)
        pipe.execute()
        time.sleep(0.25)
    assert (
        invoke("capacity", "record", "-p", str(server.port), "--history", str(history)).exit_code
        == 0
    )
    c.close()


def test_growth_within_10_percent_and_days_until_full(tmp_path: Path) -> None:
    history = tmp_path / "h.sqlite"
    with LocalServer(dir=tmp_path, config={"maxmemory": "512mb"}) as server:
        c = server.client()
        t_start, m_start = time.time(), c.info("memory")["used_memory"]
        _grow(server, 8, history)
        t_end, m_end = time.time(), c.info("memory")["used_memory"]
        true_per_day = (m_end - m_start) / (t_end - t_start) * 86400
        res = invoke(
            "capacity",
            "report",
            "-p",
            str(server.port),
            "--history",
            str(history),
            "--format",
            "json",
        )
        doc = assert_valid_json_output(res, "capacity report")
        assert doc["samples"] == 9 and doc["projection"] is True
        assert abs(doc["growth_bytes_per_day"] - true_per_day) / true_per_day < 0.10
        assert doc["limit_source"] == "maxmemory" and doc["limit_bytes"] == 512 * 1024 * 1024
        node = doc["nodes"][0]
        expected_days = (doc["limit_bytes"] - node["fitted_now"]) / doc["growth_bytes_per_day"]
        assert doc["days_until_full"] == pytest.approx(expected_days, rel=0.01)
        assert node["low_confidence"] is True
        res = invoke(
            "capacity",
            "report",
            "-p",
            str(server.port),
            "--history",
            str(history),
            "--fail-within",
            "365d",
        )
        assert res.exit_code == ExitStatus.ERROR and "projected" in res.stderr
        assert "low confidence" in res.stdout
        res = invoke(
            "capacity",
            "report",
            "-p",
            str(server.port),
            "--history",
            str(history),
            "--format",
            "prometheus",
        )
        assert "rediscope_capacity_growth_bytes_per_day{" in res.stdout
        c.close()


def test_restart_and_flush_cut_the_series(tmp_path: Path) -> None:
    history = tmp_path / "h.sqlite"
    (tmp_path / "d").mkdir()
    server = LocalServer(dir=tmp_path / "d").start()
    try:
        _grow(server, 3, history)
        port = server.port
        server.stop()
        server.port = port
        server.start()
        _grow(server, 3, history)
        doc = invoke(
            "capacity", "report", "-p", str(port), "--history", str(history), "--format", "json"
        ).json()
        assert [s["cause"] for s in doc["segments"]] == ["first", "restart"]
        assert doc["nodes"][0]["samples"] == 4 and "restart" in doc["note"]
        c = server.client()
        c.flushall()
        c.close()
        _grow(server, 2, history)
        doc = invoke(
            "capacity", "report", "-p", str(port), "--history", str(history), "--format", "json"
        ).json()
        assert [s["cause"] for s in doc["segments"]] == ["first", "restart", "flush"]
    finally:
        server.cleanup()


def test_concurrent_records_both_land_and_a_killed_writer_leaves_it_readable(
    plain: LocalServer, tmp_path: Path
) -> None:
    history = tmp_path / "h.sqlite"
    cmd = [
        sys.executable,
        "-m",
        "rediscope",
        "capacity",
        "record",
        "-p",
        str(plain.port),
        "--history",
        str(history),
    ]
    procs = [subprocess.Popen(cmd, stderr=subprocess.PIPE, text=True) for _ in range(4)]
    for p in procs:
        _, err = p.communicate(timeout=60)
        assert p.returncode == 0, err
    con = sqlite3.connect(history)
    assert con.execute("SELECT count(*) FROM samples").fetchone()[0] == 4
    con.close()
    # a writer killed in the middle of its transaction
    script = (
        "import sqlite3, sys, time; c = sqlite3.connect(sys.argv[1], isolation_level=None); "
        "c.execute('BEGIN IMMEDIATE'); "
        'c.execute("INSERT INTO samples (ts, target, node, role, run_id, keys_json) '
        "VALUES (1, 'x', 'x', 'x', 'x', '{}')\"); print('ready', flush=True); time.sleep(60)"
    )
    killer = subprocess.Popen(
        [sys.executable, "-c", script, str(history)], stdout=subprocess.PIPE, text=True
    )
    assert killer.stdout is not None and killer.stdout.readline().strip() == "ready"
    killer.kill()
    killer.wait()
    assert (
        invoke("capacity", "record", "-p", str(plain.port), "--history", str(history)).exit_code
        == 0
    )
    doc = invoke(
        "capacity", "report", "-p", str(plain.port), "--history", str(history), "--format", "json"
    ).json()
    assert doc["samples"] == 5


def test_report_without_history(plain: LocalServer, tmp_path: Path) -> None:
    history = tmp_path / "none.sqlite"
    res = invoke(
        "capacity", "report", "-p", str(plain.port), "--history", str(history), "--format", "json"
    )
    doc = assert_valid_json_output(res, "capacity report")
    assert res.exit_code == 0 and doc["samples"] == 0 and doc["projection"] is False
    assert "no samples of this target" in doc["note"] and "capacity record" in doc["note"]
    assert not history.exists()
    res = invoke(
        "capacity",
        "report",
        "-p",
        str(plain.port),
        "--history",
        str(history),
        "--fail-within",
        "7d",
    )
    assert res.exit_code == 0 and "no projection" in res.stderr
    res = invoke(
        "capacity",
        "report",
        "-p",
        str(plain.port),
        "--history",
        str(history),
        "--fail-within",
        "7d",
        "--strict",
    )
    assert res.exit_code == ExitStatus.ERROR
    assert (
        invoke("capacity", "record", "-p", str(plain.port), "--history", str(history)).exit_code
        == 0
    )
    res = invoke("capacity", "report", "-p", str(plain.port), "--history", str(history))
    assert res.exit_code == 0 and "projection needs at least 3" in " ".join(res.stdout.split())


def test_report_reads_the_history_without_the_server_and_says_what_exists(
    tmp_path: Path,
) -> None:
    history = str(tmp_path / "h.sqlite")
    server = LocalServer().start()  # its own temp dir, removed by cleanup()
    try:
        port = str(server.port)
        for _ in range(2):
            assert invoke("capacity", "record", "-p", port, "--history", history).exit_code == 0
    finally:
        server.cleanup()  # the server is gone: the history is still there to read
    res = invoke("capacity", "report", "-p", port, "--history", history, "--format", "json")
    doc = assert_valid_json_output(res, "capacity report")
    assert res.exit_code == 0 and doc["samples"] == 2 == doc["samples_recorded"]
    url = f"redis://127.0.0.1:{port}/0"
    res = invoke("capacity", "report", "--target", url, "--history", history, "--format", "json")
    assert res.exit_code == 0 and res.json()["samples"] == 2  # no connection options at all
    res = invoke("capacity", "report", "-p", port, "--history", history, "--since", "0.001s",
                 "--fail-within", "1d")  # fmt: skip
    assert res.exit_code == 0, res.stderr
    text = " ".join(res.stdout.split())
    assert "none in the window (2 samples recorded)" in text
    assert "none of the 2 samples of this target is within --since" in text
    assert "no history" not in text + res.stderr
    assert res.stderr.count("no projection") == 1, res.stderr  # said once, not twice
    res = invoke("capacity", "report", "--target", "redis://elsewhere:6379/0",
                 "--history", history, "-p", port)  # fmt: skip
    assert res.exit_code == ExitStatus.CONNECTION
    assert f"the history has {url}" in res.stderr and "(--target)" in res.stderr


def test_record_json_prints_the_sample(plain: LocalServer, tmp_path: Path) -> None:
    res = invoke(
        "capacity",
        "record",
        "-p",
        str(plain.port),
        "--history",
        str(tmp_path / "h.sqlite"),
        "--format",
        "json",
    )
    doc = res.json()
    assert res.exit_code == 0 and doc["command"] == "capacity record"
    assert doc["samples"][0]["used_memory"] > 0 and "run_id" in doc["samples"][0]


def test_record_samples_each_node_of_a_primary_with_a_replica(tmp_path: Path) -> None:
    (tmp_path / "p").mkdir()
    (tmp_path / "r").mkdir()
    primary = LocalServer(dir=tmp_path / "p").start()
    replica = LocalServer(dir=tmp_path / "r", config={"replicaof": f"127.0.0.1 {primary.port}"})
    try:
        replica.start()
        # discovery lists a replica once it is online (its first sync done)
        wait_until(
            "the replica to be online",
            lambda: primary.client().info("replication").get("slave0", {}).get("state") == "online",
        )
        doc = invoke(
            "capacity",
            "record",
            "-p",
            str(primary.port),
            "--history",
            str(tmp_path / "h.sqlite"),
            "--format",
            "json",
        ).json()
        by_node = {s["node"]: s for s in doc["samples"]}
        assert set(by_node) == {f"127.0.0.1:{primary.port}", f"127.0.0.1:{replica.port}"}
        # each sample comes from its own node: two different run ids, roles as labelled
        assert by_node[f"127.0.0.1:{replica.port}"]["role"] == "replica"
        assert len({s["run_id"] for s in doc["samples"]}) == 2
    finally:
        replica.cleanup()
        primary.cleanup()
