"""Server builds and modules in ../shared (the version matrix's): where they are, a skip (a
failure under CI=true) naming what is absent, and a server with RedisJSON and RedisBloom."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import redis

from rediscope.core.localserver import LocalServer
from tests.helpers.paths import IN_CI, SHARED
from tests.helpers.servers import start_server

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
    return start_server(
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


VALKEY_81 = SHARED / "servers" / "valkey-8.1.8" / "bin" / "valkey-server"
