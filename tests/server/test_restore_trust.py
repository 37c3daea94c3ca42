"""Tier 3: `backup restore` never writes where it must not and never claims what it did not
(issue 31, items 5-9): a db the target lacks, damage inside a value under --partial, a target
that dies or stops answering mid-restore, a dry run that exits as the restore would, and
failures[] that says it was cut."""

from __future__ import annotations

import gzip
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from rediscope.core.connection import ConnectionSpec
from rediscope.core.localserver import LocalServer, start_cluster
from rediscope.core.restore import RestoreOptions, restore
from tests.helpers import (
    load_json,
    require_binary,
    run_cli,
    server_in,
    setuser,
    wait_until,
)
from tests.helpers.rdb import saved
from tests.helpers.restore import held, restore_cli


@pytest.fixture
def writer(tmp_path: Path) -> Iterator[LocalServer]:
    """The server whose RDB the tests restore (flushed, filled by each test)."""
    with server_in(tmp_path / "writer") as server:
        yield server


@pytest.fixture
def four_dbs(tmp_path: Path) -> Iterator[LocalServer]:
    """The restore target: `databases 4`."""
    with server_in(tmp_path / "target", config={"databases": "4"}) as server:
        yield server


def keys_file(writer: LocalServer, n: int, value: bytes = b"v" * 20) -> Path:
    c = writer.client()
    for start in range(0, n, 5000):
        c.mset({f"k:{i:06d}": value for i in range(start, min(n, start + 5000))})
    c.close()
    return saved(writer)


def test_a_db_the_target_lacks_is_refused_before_any_write(
    writer: LocalServer, four_dbs: LocalServer
) -> None:
    path = keys_file(writer, 1000)
    for extra in ("--yes", "--dry-run"):
        code, _, err = restore_cli(path, four_dbs.port, "--db-map", "0:9", extra)
        assert code == 2, err
        assert "has dbs 0-3 (databases 4)" in err and "db 9" in err and "--db-map 0:9" in err
        assert "nothing was written" in err and err.count("\n") == 1
        assert held(four_dbs) == {}
    c = writer.client()
    c.execute_command("SELECT", 5)
    c.set("in-db-5", "x")  # a db of the backup the target lacks, with no --db-map
    c.close()
    path = saved(writer)
    code, _, err = restore_cli(path, four_dbs.port, "--yes")
    assert code == 2 and "db 5 of the backup" in err and held(four_dbs) == {}
    code, out, err = restore_cli(
        path, four_dbs.port, "--yes", "--db-map", "5:3", "--format", "json"
    )
    assert code == 0, err
    assert held(four_dbs) == {"db0": 1000, "db3": 1} and load_json(out)["restored"] == 1001


def test_a_dry_run_skips_the_expired_keys_and_exits_as_the_restore_would(
    writer: LocalServer, four_dbs: LocalServer
) -> None:
    c = writer.client()
    c.mset({f"live:{i}": i for i in range(100)})
    at = int(time.time() * 1000) + 1500
    for i in range(30):
        c.set(f"soon:{i}", i, pxat=at)
    c.close()
    path = saved(writer)  # the 30 keys are in the file, with a TTL that passes next
    wait_until("their TTL to pass", lambda: time.time() * 1000 > at + 50)
    code, out, err = restore_cli(path, four_dbs.port, "--dry-run", "--format", "json")
    assert code == 0, err
    plan = load_json(out)
    assert plan["skipped"]["expired"] == 30 and plan["restored"] == 100
    assert plan["refused"] is None and held(four_dbs) == {}
    code, out, err = restore_cli(path, four_dbs.port, "--yes", "--format", "json")
    assert code == 0, err
    done = load_json(out)
    assert done["skipped"]["expired"] == 30 and done["restored"] == 100 == held(four_dbs)["db0"]
    # now the target holds keys: the restore is refused, so the dry run exits 1 too
    code, _, err = restore_cli(path, four_dbs.port, "--yes")
    assert code == 1 and "already holds keys" in err
    code, out, err = restore_cli(path, four_dbs.port, "--dry-run", "--format", "json")
    assert code == 1 and "would be refused" in err and "already holds keys" in err
    plan = load_json(out)
    assert "already holds keys" in plan["refused"] and plan["skipped"]["exists"] == 100
    code, _, err = restore_cli(path, four_dbs.port, "--dry-run", "--merge")
    assert code == 0, err


def test_failures_past_the_cap_are_counted_and_the_json_says_it_was_cut(
    writer: LocalServer, four_dbs: LocalServer
) -> None:
    path = keys_file(writer, 10_050)
    admin = four_dbs.client()
    setuser(admin, "keyless", "on >pw ~rediscope:* +@all")  # every RESTORE of k:* refused
    admin.close()
    url = f"redis://keyless:pw@127.0.0.1:{four_dbs.port}"
    r = run_cli("backup", "restore", str(path), "--url", url, "--yes", "--format", "json")
    assert r.exit_code == 1 and "Traceback" not in r.stderr
    doc = load_json(r.stdout)
    assert doc["failed"] == 10_050 and len(doc["failures"]) == 10_000
    assert doc["failures_truncated"] is True and doc["restored"] == 0
    assert "the first 10,000 of them in --format json" in r.stderr
    assert "all of them" not in r.stderr and held(four_dbs) == {}


def _start_restore(path: Path, port: int, *extra: str) -> subprocess.Popen[str]:
    url = f"redis://127.0.0.1:{port}"
    args = ["backup", "restore", str(path), "--url", url, "--yes", "--rate", "3000", *extra]
    return subprocess.Popen(
        [sys.executable, "-m", "rediscope", *args, "--format", "json"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def _only_one_client(server: LocalServer) -> bool:
    """The restore's connection is gone from the server (its buffered commands handled)."""
    c = server.client()
    try:
        return int(c.info("clients")["connected_clients"]) == 1
    finally:
        c.close()


def test_a_target_that_stops_answering_gives_one_line_and_the_report(
    writer: LocalServer, four_dbs: LocalServer
) -> None:
    path = keys_file(writer, 30_000)
    proc = _start_restore(path, four_dbs.port, "--timeout", "1")
    try:
        wait_until("keys restored", lambda: held(four_dbs).get("db0", 0) >= 2000)
        os.kill(four_dbs.pid, signal.SIGSTOP)
        out, err = proc.communicate(timeout=60)
    finally:
        os.kill(four_dbs.pid, signal.SIGCONT)
        if proc.poll() is None:
            proc.kill()
            proc.communicate()
    assert proc.returncode == 1, err
    assert "Traceback" not in err and "internal error" not in err
    assert "timed out after 1s (--timeout)" in err and err.count("error:") == 1
    doc = load_json(out)
    assert not doc["complete"] and "timed out after 1s" in doc["error"]
    assert doc["restored"] >= 2000 and doc["unconfirmed"] > 0
    (row,) = doc["per_db"]
    assert row["restored"] == doc["restored"] and row["unconfirmed"] == doc["unconfirmed"]
    wait_until("the restore's connection to close", lambda: _only_one_client(four_dbs))
    # what the target holds: every key it confirmed, and at most the ones it did not
    assert doc["restored"] <= held(four_dbs)["db0"] <= doc["restored"] + doc["unconfirmed"]


def test_a_target_killed_mid_restore_gives_one_line_and_the_report(
    writer: LocalServer, four_dbs: LocalServer
) -> None:
    path = keys_file(writer, 30_000)
    proc = _start_restore(path, four_dbs.port)
    try:
        wait_until("keys restored", lambda: held(four_dbs).get("db0", 0) >= 2000)
        os.kill(four_dbs.pid, signal.SIGKILL)
        out, err = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()
    assert proc.returncode == 1, err
    assert "Traceback" not in err and "internal error" not in err
    assert "closed the connection" in err and err.count("error:") == 1
    doc = load_json(out)
    assert not doc["complete"] and doc["restored"] >= 2000
    assert doc["per_node"][0]["restored"] == doc["restored"]


def _xor(data: bytearray, at: int, n: int = 16) -> None:
    for k in range(at, at + n):
        data[k] ^= 0x5A


def test_damage_inside_a_value_is_never_called_intact(
    writer: LocalServer, four_dbs: LocalServer, tmp_path: Path
) -> None:
    path = keys_file(writer, 3000, os.urandom(100))  # incompressible: stored as it is
    data = bytearray(path.read_bytes())
    _xor(data, data.index(b"\x08k:001500") + 9 + 2 + 40)  # inside that key's value
    damaged = tmp_path / "value-damaged.rdb"
    damaged.write_bytes(bytes(data))
    code, _, err = restore_cli(damaged, four_dbs.port, "--yes")
    assert code == 1 and "nothing was written" in err and held(four_dbs) == {}
    assert "cannot be located" in err and "before the damage" not in err
    code, out, err = restore_cli(damaged, four_dbs.port, "--yes", "--partial", "--format", "json")
    assert code == 1
    doc = load_json(out)
    assert "whole" not in err and "cannot be told" in err and "unverified" in err
    assert not doc["complete"] and doc["restored"] == 3000 == doc["unverified"]
    assert held(four_dbs) == {"db0": 3000}


def test_a_gzip_damaged_mid_stream_under_partial_reports_what_was_restored(
    writer: LocalServer, four_dbs: LocalServer, tmp_path: Path
) -> None:
    path = keys_file(writer, 30_000, os.urandom(8).hex().encode())
    packed = bytearray(gzip.compress(path.read_bytes(), compresslevel=1))
    _xor(packed, len(packed) * 2 // 3, 64)  # the deflate stream breaks two thirds in
    damaged = tmp_path / "broken.rdb.gz"
    damaged.write_bytes(bytes(packed))
    code, out, err = restore_cli(damaged, four_dbs.port, "--yes", "--partial", "--format", "json")
    assert code == 1 and err.count("error:") == 1, err
    doc = load_json(out)
    assert not doc["complete"] and doc["error"]
    assert doc["restored"] == held(four_dbs).get("db0", 0) == doc["unverified"]


def test_a_cluster_node_killed_mid_restore_leaves_the_others_counted_exactly(
    writer: LocalServer,
) -> None:
    require_binary("redis-cli")  # the cluster is made with redis-cli --cluster create
    path = keys_file(writer, 30_000)
    nodes = start_cluster(primaries=3)
    try:
        proc = _start_restore(path, nodes[0].port, "--timeout", "2")
        try:
            wait_until("keys restored", lambda: sum(held(n).get("db0", 0) for n in nodes) >= 3000)
            os.kill(nodes[1].pid, signal.SIGKILL)
            out, err = proc.communicate(timeout=60)
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.communicate()
        assert proc.returncode == 1, err
        assert "Traceback" not in err and "internal error" not in err
        assert f"127.0.0.1:{nodes[1].port}" in err and err.count("error:") == 1
        doc = load_json(out)
        assert not doc["complete"] and doc["target"]["mode"] == "cluster"
        rows = {row["node"]: row for row in doc["per_node"]}
        for n in (nodes[0], nodes[2]):  # the survivors: what they confirmed is what they hold
            assert rows[f"127.0.0.1:{n.port}"]["restored"] == held(n).get("db0", 0) > 0
            assert rows[f"127.0.0.1:{n.port}"]["unconfirmed"] == 0
    finally:
        for n in nodes:
            n.cleanup()


def test_the_db_check_asks_nothing_of_a_restore_into_db_0(
    writer: LocalServer, four_dbs: LocalServer
) -> None:
    path = keys_file(writer, 100)
    admin = four_dbs.client()
    setuser(admin, "noselect", "on >pw ~* &* +@all -select")  # db 0 needs no SELECT
    admin.close()
    url = f"redis://noselect:pw@127.0.0.1:{four_dbs.port}"
    r = run_cli("backup", "restore", str(path), "--url", url, "--yes")
    assert r.exit_code == 0, r.stderr
    assert held(four_dbs) == {"db0": 100}


def test_a_target_lost_while_the_last_batch_drains_is_not_a_complete_restore(
    writer: LocalServer, four_dbs: LocalServer
) -> None:
    """Fewer keys than a batch: they go out only when the file ends (Stream.finish). The
    target is killed just before that, from the progress callback."""
    path = keys_file(writer, 100)

    def kill(*_: object) -> None:
        assert four_dbs.process is not None
        if four_dbs.process.poll() is None:
            os.kill(four_dbs.pid, signal.SIGKILL)
            four_dbs.process.wait()

    spec = ConnectionSpec(host="127.0.0.1", port=four_dbs.port, timeout=2)
    report = restore(spec, path, RestoreOptions(), progress=kill)
    assert not report.complete and report.restored == 0
    assert report.error is not None and f"127.0.0.1:{four_dbs.port}" in report.error
    assert report.outcome().status == 1


def test_a_file_that_is_no_gzip_at_all_is_one_line_with_partial_too(
    four_dbs: LocalServer, tmp_path: Path
) -> None:
    junk = tmp_path / "junk.rdb.gz"
    junk.write_bytes(b"no gzip here" * 400)
    for extra in ((), ("--partial",)):
        code, _, err = restore_cli(junk, four_dbs.port, "--yes", *extra)
        assert code == 1 and "Not a gzipped file" in err and "nothing was written" in err
        assert err.count("error:") == 1 and "--partial restores" not in err
    assert held(four_dbs) == {}


def test_ctrl_c_while_the_target_hangs_reports_what_it_confirmed(
    writer: LocalServer, four_dbs: LocalServer
) -> None:
    path = keys_file(writer, 30_000)
    proc = _start_restore(path, four_dbs.port, "--timeout", "3")
    try:
        wait_until("keys restored", lambda: held(four_dbs).get("db0", 0) >= 2000)
        os.kill(four_dbs.pid, signal.SIGSTOP)
        proc.send_signal(signal.SIGINT)
        out, err = proc.communicate(timeout=60)
    finally:
        os.kill(four_dbs.pid, signal.SIGCONT)
        if proc.poll() is None:
            proc.kill()
            proc.communicate()
    assert proc.returncode == 130, err
    assert "Traceback" not in err and "internal error" not in err
    doc = load_json(out)
    assert doc["interrupted"] and not doc["complete"] and doc["restored"] >= 2000
    wait_until("the restore's connection to close", lambda: _only_one_client(four_dbs))
    assert doc["restored"] <= held(four_dbs)["db0"] <= doc["restored"] + doc["unconfirmed"]
