"""Module types live (issue 37, item 3): memory, bigkeys, patterns and audit on Redis 8.2 (with
its built-in vector sets), Valkey 8.1 and Valkey 9.1 with RedisJSON and RedisBloom loaded.
Needs the builds in ../shared: skipped with one line where they are absent, a failure under
CI=true."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
import redis

from rediscope.core.localserver import LocalServer
from tests.conftest import IN_CI, _start, invoke, load_json

SHARED = Path(__file__).resolve().parents[2] / "shared"
MODULES = SHARED / "modules"
REDIS_82 = SHARED / "servers" / "redis-8.2.3" / "bin" / "redis-server"
#: the builds the modules load into, and their server program
MODULE_BUILDS = {
    "redis-8.2.3": REDIS_82,
    "valkey-8.1.8": SHARED / "servers" / "valkey-8.1.8" / "bin" / "valkey-server",
    "valkey-9.1.2": SHARED / "servers" / "valkey-9.1.2" / "bin" / "valkey-server",
}


def need(path: Path) -> str:
    """PATH as a string, or the test skipped (failed under CI) with one line naming it."""
    if not path.exists():
        message = f"{path} is absent (the ../shared builds and modules)"
        if IN_CI:
            pytest.fail(message)
        pytest.skip(message)
    return str(path)


def module_config(*modules: str) -> dict[str, str]:
    """Config lines loading each module (a LocalServer config maps one name to one line, so
    the further loadmodule lines ride in the first one's value)."""
    paths = [need(MODULES / m) for m in modules]
    return {"loadmodule": "\nloadmodule ".join(paths), "enable-debug-command": "yes"}


def start_with_modules(directory: Path, binary: Path = REDIS_82) -> LocalServer:
    return _start(
        LocalServer(
            dir=directory, binary=need(binary), config=module_config("rejson.so", "redisbloom.so")
        )
    )


def has_vector_sets(c: redis.Redis) -> bool:
    """Whether the server has vector sets (Redis 8): asked, an unknown command says no."""
    try:
        c.execute_command("VCARD", "no-such-key")
    except redis.ResponseError:
        return False
    return True


def load_module_keys(c: redis.Redis) -> None:
    """Keys of every module type: JSON roots of each kind, a vector set (where the server has
    them), Bloom and cuckoo filters, Count-Min, Top-K, t-digest; and a string beside them."""
    p = c.pipeline(transaction=False)
    for i in range(200):
        doc = {"id": i, "name": f"user{i}", "tags": ["a"] * (i % 5), "score": i / 7, "ok": True}
        p.execute_command("JSON.SET", f"doc:{i}", "$", json.dumps(doc))
    p.execute_command("JSON.SET", "arr:1", "$", json.dumps(list(range(300))))
    p.execute_command("JSON.SET", "scalar:1", "$", json.dumps("just a string"))
    if has_vector_sets(c):
        for i in range(400):
            p.execute_command("VADD", "vec:1", "VALUES", 4, i % 7, i % 11, i % 13, 1, f"e{i}")
    for i in range(3):
        p.execute_command("BF.RESERVE", f"bloom:{i}", 0.01, 5000)
        p.execute_command("BF.MADD", f"bloom:{i}", *[f"x{j}" for j in range(100 * (i + 1))])
    p.execute_command("CF.RESERVE", "cuckoo:1", 1000)
    for j in range(60):
        p.execute_command("CF.ADD", "cuckoo:1", f"y{j}")
    p.execute_command("CF.DEL", "cuckoo:1", "y0")
    p.execute_command("CMS.INITBYDIM", "cms:1", 2000, 5)
    p.execute_command("TOPK.RESERVE", "topk:1", 10, 50, 5, 0.9)
    p.execute_command("TOPK.ADD", "topk:1", "a", "b", "c")
    p.execute_command("TDIGEST.CREATE", "td:1", "COMPRESSION", 100)
    p.execute_command("TDIGEST.ADD", "td:1", *[str(i / 3) for i in range(500)])
    p.set("plain:1", "v" * 100)
    p.execute()


@pytest.fixture(scope="module", params=sorted(MODULE_BUILDS))
def modules_server(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[LocalServer]:
    """Each build the modules load into, with keys of every module type it has."""
    server = start_with_modules(tmp_path_factory.mktemp("modules"), MODULE_BUILDS[request.param])
    try:
        c = server.client()
        load_module_keys(c)
        c.close()
        yield server
    finally:
        server.cleanup()


def by_key(doc: dict[str, object], field: str) -> dict[str, dict[str, object]]:
    rows = doc[field]
    assert isinstance(rows, list)
    return {r["key"]: r for r in rows}


def test_bigkeys_counts_module_elements_where_cheap_and_says_unknown_elsewhere(
    modules_server: LocalServer,
) -> None:
    r = invoke("bigkeys", "--url", modules_server.url, "--top", "500", "--format", "json")
    assert r.exit_code == 0, r.stderr
    doc = load_json(r.stdout)
    keys = by_key(doc, "keys")
    c = modules_server.client()
    assert keys["doc:3"]["elements"] == 5  # JSON.OBJLEN of the root
    assert keys["arr:1"]["elements"] == 300  # JSON.ARRLEN of the root
    assert keys["scalar:1"]["elements"] is None
    if has_vector_sets(c):
        assert keys["vec:1"]["elements"] == c.execute_command("VCARD", "vec:1") == 400
        assert keys["vec:1"]["type_name"] == "vector set"
    assert keys["bloom:2"]["elements"] == 300
    assert keys["cuckoo:1"]["elements"] == 59  # 60 added, 1 deleted
    for k in ("cms:1", "topk:1", "td:1"):
        assert keys[k]["elements"] is None
    assert keys["doc:3"]["type_name"] == "json"
    assert keys["plain:1"]["type_name"] is None
    for k, row in keys.items():  # MEMORY USAGE works for every module type
        assert row["bytes"] == c.memory_usage(k), k
    types = {t["type"]: t for t in doc["by_type"]}
    assert types["CMSk-TYPE"]["elements_known"] == 0
    assert types["ReJSON-RL"]["elements_known"] == 201  # the scalar root has none
    assert types["MBbloom--"]["type_name"] == "bloom" and types["MBbloom--"]["elements"] == 600


def test_tables_show_the_readable_name_beside_the_raw_type(modules_server: LocalServer) -> None:
    r = invoke("bigkeys", "--url", modules_server.url, env={"COLUMNS": "200"})
    assert r.exit_code == 0, r.stderr
    assert "ReJSON-RL (json)" in r.stdout
    if has_vector_sets(modules_server.client()):
        assert "vectorset (vector set)" in r.stdout
    assert "MBbloom-- (bloom)" in r.stdout
    count_min = [line for line in r.stdout.splitlines() if "CMSk-TYPE (count-min" in line]
    assert count_min and all("unknown" in line for line in count_min)  # elements: not 0
    m = invoke("memory", "--url", modules_server.url, env={"COLUMNS": "200"})
    assert m.exit_code == 0, m.stderr
    assert "TDIS-TYPE (t-digest)" in m.stdout and "MBbloomCF (cuckoo)" in m.stdout


def test_memory_patterns_and_audit_take_module_types(modules_server: LocalServer) -> None:
    c = modules_server.client()
    held = sum(c.memory_usage(k) or 0 for k in c.scan_iter(count=1000))
    m = load_json(invoke("memory", "--url", modules_server.url, "--format", "json").stdout)
    assert m["totals"]["keys_bytes"] == held and m["totals"]["keys_unknown"] == 0
    names = {t["name"]: t["type_name"] for t in m["by_type"]}
    assert names["TopK-TYPE"] == "top-k" and names["string"] is None
    p = invoke("patterns", "--url", modules_server.url, "--format", "json")
    assert p.exit_code == 0, p.stderr
    pats = {x["pattern"]: x for x in load_json(p.stdout)["patterns"]}
    assert pats["doc:*"]["types"] == {"ReJSON-RL": 200}
    a = invoke("audit", "--url", modules_server.url, "--format", "json")
    assert a.exit_code in (0, 1), a.stderr  # findings are fine; no error
    assert "Traceback" not in a.stderr and load_json(a.stdout)["complete"]


def test_a_user_without_the_module_commands_still_gets_bytes(modules_server: LocalServer) -> None:
    """The length commands of modules are optional: denied, the count is unknown."""
    c = modules_server.client()
    rules = "on >pw ~* -@all +@read +scan +info +type +memory|usage +object +pttl +ping"
    vectors = has_vector_sets(c)
    denied = ["-json.objlen", *(["-vcard"] if vectors else [])]
    c.execute_command("ACL", "SETUSER", "reader", *rules.split(), "+bf.card", *denied)
    url = f"redis://reader:pw@127.0.0.1:{modules_server.port}/0"
    r = invoke("bigkeys", "--url", url, "--top", "500", "--format", "json")
    assert r.exit_code == 0, r.stderr
    keys = by_key(load_json(r.stdout), "keys")
    assert keys["doc:3"]["elements"] is None and keys["bloom:2"]["elements"] == 300
    if vectors:
        assert keys["vec:1"]["elements"] is None
        assert keys["vec:1"]["bytes"] == c.memory_usage("vec:1")
