"""`clients` on a real server: a pool of idle connections from one named app, a subscriber that
stops reading, a client in MULTI, a blocked BLPOP, a MONITOR; counted as CLIENT LIST says."""

from __future__ import annotations

import json
import re
import signal
import socket
import subprocess
import sys
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import redis

from rediscope.core.clients import ClientsOptions, clients
from rediscope.core.connection import ConnectionSpec
from rediscope.core.localserver import LocalServer
from tests.conftest import (
    ACL_PASSWORD,
    ROOT,
    Certs,
    invoke,
    load_json,
    schema_validator,
    setuser,
    wait_until,
)

POOL = 8


def _raw(port: int, *commands: tuple[bytes, ...], rcvbuf: int | None = None) -> socket.socket:
    """A socket that sends COMMANDS (reading each reply only for the first ones)."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    if rcvbuf:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, rcvbuf)
    sock.connect(("127.0.0.1", port))
    sock.settimeout(10)
    for cmd in commands:
        sock.sendall(b"*%d\r\n" % len(cmd) + b"".join(b"$%d\r\n%b\r\n" % (len(a), a) for a in cmd))
    return sock


def _listed(admin: redis.Redis) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = admin.client_list()
    return rows


@dataclass
class Scene:
    port: int
    admin: redis.Redis
    closers: list[Any] = field(default_factory=list)

    def by_name(self) -> dict[str, dict[str, Any]]:
        return {str(c["name"]): c for c in _listed(self.admin) if c["name"]}

    def field(self, name: str, key: str) -> str:
        """A field of the client of this name ("" while it is not there)."""
        return str(self.by_name().get(name, {}).get(key, ""))


def _omem(scene: Scene, name: str) -> int:
    return int(scene.field(name, "omem") or 0)


@pytest.fixture
def scene(plain: LocalServer) -> Iterator[Scene]:
    admin = plain.client(decode_responses=True, client_name="test-admin")
    admin.ping()
    s = Scene(plain.port, admin, [admin])
    try:
        for _ in range(POOL):
            pooled = redis.Redis(port=plain.port, client_name="orders-pool")
            pooled.ping()
            s.closers.append(pooled)
        name = (b"CLIENT", b"SETNAME")
        subscriber = _raw(plain.port, (*name, b"notifier"), (b"SUBSCRIBE", b"events"), rcvbuf=4096)
        s.closers.append(subscriber)
        s.closers.append(_raw(plain.port, (*name, b"txn"), (b"MULTI",)))
        s.closers.append(_raw(plain.port, (*name, b"worker"), (b"BLPOP", b"jobs", b"0")))
        s.closers.append(_raw(plain.port, (*name, b"auditor"), (b"MONITOR",)))
        wait_until("the subscriber", lambda: s.field("notifier", "sub") == "1")
        wait_until("the transaction", lambda: "x" in s.field("txn", "flags"))
        wait_until("the BLPOP", lambda: "b" in s.field("worker", "flags"))
        wait_until("the MONITOR", lambda: "O" in s.field("auditor", "flags"))

        def publish() -> bool:  # big messages to a subscriber that never reads
            pipe = admin.pipeline(transaction=False)
            # 8 kB each: copied into the buffer (Valkey 9 refers to a big payload instead)
            for _ in range(100):
                pipe.publish("events", "x" * 8000)
            pipe.execute()
            return _omem(s, "notifier") >= 2 << 20

        wait_until("the subscriber's output buffer to grow", publish)
        yield s
    finally:
        for closer in s.closers:
            closer.close()


def _doc(scene: Scene, *args: str) -> dict[str, Any]:
    result = invoke("clients", "-p", str(scene.port), "--window", "0", "--format", "json", *args)
    assert result.exit_code == 0, result.stderr
    doc: dict[str, Any] = result.json()
    return doc


def test_every_group_counted_as_client_list_says(scene: Scene) -> None:
    doc = _doc(scene, "--top", "1000")
    listed = [c for c in _listed(scene.admin) if c["name"] != "rediscope"]
    truth = Counter(str(c["name"]) for c in listed)
    assert {g["key"]: g["connections"] for g in doc["groups"]} == dict(truth)
    hosts = Counter(str(c["addr"]).rpartition(":")[0] for c in listed)
    assert {g["key"]: g["connections"] for g in doc["hosts"]} == dict(hosts)
    groups = {g["key"]: g for g in doc["groups"]}
    assert groups["orders-pool"]["connections"] == POOL
    assert groups["txn"]["in_multi"] == 1 and groups["worker"]["blocked"] == 1
    assert groups["notifier"]["subscriptions"] == 1 and groups["notifier"]["omem"] >= 2 << 20
    assert groups["auditor"]["monitors"] == 1
    assert "rediscope" not in groups and doc["totals"]["own"] >= 2  # its own, counted apart
    node = doc["nodes"][0]
    assert node["listed"] == sum(truth.values()) + node["own"]
    assert doc["totals"]["blocked"] == 1 and doc["complete"] is True


def test_the_slow_subscriber_is_named_first_with_its_limit(scene: Scene) -> None:
    doc = _doc(scene)
    first = doc["culprits"][0]
    assert (first["kind"], first["name"], first["buffer_class"]) == (
        "output_buffer",
        "notifier",
        "pubsub",
    )
    assert first["limit"]["hard"] == 32 << 20 and 0 < first["limit_share"] < 1
    assert first["value"] >= 2 << 20 and "32.0 MiB" in first["evidence"]
    monitors = [c for c in doc["culprits"] if c["kind"] == "monitor"]
    assert [c["name"] for c in monitors] == ["auditor"]


def test_a_pool_idle_past_the_threshold_is_named(scene: Scene) -> None:
    def pool_idle() -> bool:
        pool = [c for c in _listed(scene.admin) if c["name"] == "orders-pool"]
        return len(pool) == POOL and all(int(c["idle"]) >= 1 for c in pool)

    wait_until("the pool to idle for a second", pool_idle)
    doc = _doc(scene, "--idle", "1s")
    idle = {c["name"]: c for c in doc["culprits"] if c["kind"] == "idle"}
    assert idle["orders-pool"]["connections"] == POOL and idle["orders-pool"]["addr"] == "127.0.0.1"
    assert "worker" not in idle  # a blocked client waits by design


def test_table_fits_80_columns_and_pipes_whole(scene: Scene) -> None:
    narrow = invoke("clients", "-p", str(scene.port), "--window", "0", env={"COLUMNS": "80"})
    assert narrow.exit_code == 0, narrow.stderr
    assert max(len(line) for line in narrow.stdout.splitlines()) <= 80
    assert "orders-pool" in narrow.stdout and "OUTPUT BUFFER" in narrow.stdout
    assert "notifier" in narrow.stdout
    piped = invoke("clients", "-p", str(scene.port), "--window", "0", env={"COLUMNS": ""})
    header = next(line for line in piped.stdout.splitlines() if "conns" in line)
    assert all(h in header for h in ("idle p50", "age max", "track", "tot-mem", "qbuf"))


def test_jsonl_is_one_valid_row_per_client(scene: Scene) -> None:
    result = invoke("clients", "-p", str(scene.port), "--window", "0", "--format", "jsonl")
    assert result.exit_code == 0, result.stderr
    rows = [json.loads(line) for line in result.stdout.splitlines()]
    validator = schema_validator("clients")
    row_schema = {"$ref": "https://rediscope.dev/schema/v1/clients.json#/$defs/client"}
    for row in rows:
        errors = list(validator.evolve(schema=row_schema).iter_errors(row))
        assert not errors, errors[0].message
    names = Counter(r["name"] for r in rows if not r["own"])
    assert names["orders-pool"] == POOL and names["notifier"] == 1
    notifier = next(r for r in rows if r["name"] == "notifier")
    assert notifier["omem"] >= 2 << 20 and notifier["buffer_class"] == "pubsub"
    assert any(r["own"] and r["name"] == "rediscope" for r in rows)


def test_fail_if_gates(scene: Scene) -> None:
    port = str(scene.port)
    tripped = invoke("clients", "-p", port, "--window", "0", "--fail-if", "omem>1MB")
    assert tripped.exit_code == 1 and "--fail-if omem>1MB" in tripped.stderr
    calm = invoke("clients", "-p", port, "--window", "0", "--fail-if", "connections>99%")
    assert calm.exit_code == 0, calm.stderr
    bad = invoke("clients", "-p", port, "--fail-if", "sockets>3")
    assert bad.exit_code == 2 and bad.stderr.startswith("rediscope: error: --fail-if")
    assert len(bad.stderr.strip().splitlines()) == 1
    blind = invoke("clients", "-p", port, "--window", "0", "--fail-if", "churn>5")
    assert blind.exit_code == 2 and "--window" in blind.stderr


def test_churn_counts_the_connections_opened_in_the_window(plain: LocalServer) -> None:
    opened = 40

    def window(_seconds: float) -> None:  # the window: a known number of connections
        for _ in range(opened):
            conn = redis.Redis(port=plain.port)
            conn.ping()
            conn.close()

    report = clients(ConnectionSpec(port=plain.port), ClientsOptions(window=1), sleep=window)
    received = report.totals.connections_received
    assert received is not None and abs(received - opened) <= opened // 10
    assert report.nodes[0].connections_per_s and report.nodes[0].rejected_in_window == 0


def test_names_and_users_are_escaped_as_keys(plain: LocalServer) -> None:
    admin = plain.client()
    user = b"ops\xff"
    admin.execute_command("ACL", "SETUSER", user, "on", "nopass", "+@all", "~*")
    conn = redis.Redis(port=plain.port, username=user.decode("latin-1"), password="x")
    try:
        conn.connection_pool.connection_kwargs["username"] = user
        conn.ping()
        result = invoke("clients", "-p", str(plain.port), "--window", "0", "--by", "user")
        assert '"ops\\xff"' in result.stdout
        doc = invoke(
            "clients", "-p", str(plain.port), "--window", "0", "--by", "user", "--format", "json"
        ).json()
        escaped = [g for g in doc["groups"] if g.get("key_escaped")]
        assert [g["key"] for g in escaped] == ['"ops\\xff"']
    finally:
        conn.close()
        admin.execute_command("ACL", "DELUSER", user)
        admin.close()


def test_a_refused_client_list_is_one_line_exit_3(tmp_path: Path, acl_server: LocalServer) -> None:
    with LocalServer(dir=tmp_path, config={"rename-command": 'CLIENT ""'}) as server:
        result = invoke("clients", "-p", str(server.port), "--window", "0")
    assert result.exit_code == 3 and "CLIENT LIST" in result.stderr, result.stderr
    assert len(result.stderr.strip().splitlines()) == 1 and "Traceback" not in result.stderr
    admin = acl_server.client()
    setuser(admin, "no-clients", f"on >{ACL_PASSWORD} -@all +ping +info +client|setname")
    try:
        env = {"REDISCLI_AUTH": ACL_PASSWORD}
        args = ("clients", "-p", str(acl_server.port), "--user", "no-clients", "--window", "0")
        result = invoke(*args, env=env)
        assert result.exit_code == 3 and "permission" in result.stderr, result.stderr
        assert len(result.stderr.strip().splitlines()) == 1
    finally:
        admin.execute_command("ACL", "DELUSER", "no-clients")
        admin.close()


def test_the_documented_analyst_role_covers_clients(acl_server: LocalServer) -> None:
    text = (ROOT / "docs" / "security.md").read_text()
    line = re.search(r"<!-- acl:analyst -->\s*```\s*\n(ACL SETUSER [^\n]+)", text)
    assert line is not None
    rules = line.group(1).split(" ", 3)[3].replace("#<sha256>", f">{ACL_PASSWORD}")
    admin = acl_server.client()
    setuser(admin, "clients-analyst", rules)
    try:
        args = ("clients", "-p", str(acl_server.port), "--user", "clients-analyst")
        result = invoke(*args, "--window", "0", env={"REDISCLI_AUTH": ACL_PASSWORD})
        assert result.exit_code == 0, result.stderr
        assert "client-output-buffer-limit unknown" not in result.stderr
    finally:
        admin.execute_command("ACL", "DELUSER", "clients-analyst")
        admin.close()


def test_a_listing_of_many_chunks_is_counted_whole(plain: LocalServer) -> None:
    """300 clients: a reply of about 100 kB, read from the socket in several chunks."""
    conns = []
    try:
        for i in range(300):
            conn = redis.Redis(port=plain.port, client_name=f"many-{i % 7}")
            conn.ping()
            conns.append(conn)
        doc = _doc(Scene(plain.port, conns[0]), "--top", "1000")
        many = {g["key"]: g["connections"] for g in doc["groups"] if g["key"].startswith("many-")}
        assert many == {f"many-{k}": 43 if k < 6 else 42 for k in range(7)}
    finally:
        for conn in conns:
            conn.close()


def test_over_tls(tls_server: LocalServer, certs: Certs) -> None:
    url = f"rediss://127.0.0.1:{tls_server.port}"
    result = invoke(
        "clients", "--url", url, "--cacert", str(certs.ca), "--window", "0", "--format", "json"
    )
    assert result.exit_code == 0, result.stderr
    assert result.json()["totals"]["own"] >= 2


def test_an_unfinished_request_left_idle_is_named(plain: LocalServer) -> None:
    partial = _raw(plain.port, (b"CLIENT", b"SETNAME", b"halfway"))
    try:
        partial.sendall(b"*3\r\n$3\r\nSET\r\n$10\r\nab")  # part of a command, then silence
        admin = plain.client(decode_responses=True)

        def waiting() -> bool:
            rows = [c for c in admin.client_list() if c["name"] == "halfway"]
            return bool(rows) and int(rows[0]["qbuf"]) > 0 and int(rows[0]["idle"]) >= 1

        wait_until("the unfinished request to idle", waiting)
        admin.close()
        doc = _doc(Scene(plain.port, plain.client()), "--idle", "1s")
        found = [c for c in doc["culprits"] if c["kind"] == "query_buffer"]
        assert [c["name"] for c in found] == ["halfway"] and "unfinished" in found[0]["evidence"]
    finally:
        partial.close()


def test_churn_over_a_window_ended_by_ctrl_c(plain: LocalServer) -> None:
    """A real --window, ended by Ctrl-C once a known number of connections came and went:
    the report counts them (within 10%), and is marked interrupted (exit 130)."""
    admin = plain.client(decode_responses=True, single_connection_client=True)
    admin.ping()  # connected before the window opens: not churn
    cmd = [sys.executable, "-m", "rediscope", "clients", "-p", str(plain.port)]
    proc = subprocess.Popen(
        [*cmd, "--window", "300s", "--format", "json"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    seen: list[set[tuple[str, str]]] = []
    opened = 25
    try:

        def sampled() -> bool:
            """Both its connections open and the first INFO answered, the same on two looks
            in a row (a closing discovery connection can look alike for a moment)."""
            ours = {(c["id"], c["cmd"]) for c in admin.client_list() if c["name"] == "rediscope"}
            seen.append(ours)
            first = len(ours) == 2 and any(last == "info" for _, last in ours)
            return first and len(seen) > 1 and seen[-2] == ours

        wait_until("the first sample", sampled)
        for _ in range(opened):
            conn = redis.Redis(port=plain.port)
            conn.ping()
            conn.close()
        proc.send_signal(signal.SIGINT)
        out, err = proc.communicate(timeout=60)
    finally:
        admin.close()
        if proc.poll() is None:
            proc.kill()
            proc.communicate()
    assert proc.returncode == 130, err
    doc = load_json(out)
    assert doc["complete"] is False and doc["interrupted"] is True
    node = doc["nodes"][0]
    assert node["window_s"] < 300 and abs(node["connections_received"] - opened) <= opened // 10
    assert doc["totals"]["connections_received"] == node["connections_received"]


def test_jsonl_into_a_closed_pipe_ends_quietly(plain: LocalServer) -> None:
    """`clients --format jsonl | head -1`: the reader goes away; no node is blamed for it."""
    conns = [redis.Redis(port=plain.port, client_name="piped") for _ in range(400)]
    try:
        for conn in conns:
            conn.ping()
        cmd = [sys.executable, "-m", "rediscope", "clients", "-p", str(plain.port)]
        proc = subprocess.Popen(
            [*cmd, "--window", "0", "--format", "jsonl"],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        try:
            assert proc.stdout is not None and proc.stderr is not None
            assert json.loads(proc.stdout.readline())["node"]
            proc.stdout.close()  # about 150 kB of rows are still to come
            err = proc.stderr.read()
            proc.wait(timeout=60)
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
        assert proc.returncode == 141 and err == ""
    finally:
        for conn in conns:
            conn.close()


def test_grouped_by_command_and_by_db(scene: Scene) -> None:
    by_cmd = {g["key"]: g for g in _doc(scene, "--by", "cmd", "--top", "100")["groups"]}
    assert by_cmd["blpop"]["blocked"] == 1 and by_cmd["subscribe"]["subscribers"] == 1
    assert by_cmd["monitor"]["monitors"] == 1 and by_cmd["multi"]["in_multi"] == 1
    by_db = _doc(scene, "--by", "db")
    truth = sum(1 for c in _listed(scene.admin) if c["name"] != "rediscope")
    assert [(g["key"], g["connections"]) for g in by_db["groups"]] == [("0", truth)]
