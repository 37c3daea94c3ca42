"""The observer effect: a scan must not change what it measures.

Where the server has CLIENT NO-TOUCH (Redis 7.2+, Valkey), a full memory / bigkeys / patterns
scan leaves every key's LFU counter (LFU policy) and idle time (LRU policy) as it found them.
Where it has not, the scan says so, and `--no-lengths` (no length commands) leaves them too.
"""

from __future__ import annotations

from pathlib import Path

import pytest
import redis

from rediscope.core.localserver import LocalServer
from tests.helpers import invoke

IDLE = 5000  # seconds: RESTORE ... IDLETIME makes the keys look this old
FREQ = 20  # RESTORE ... FREQ sets each counter to this


def _keyspace(c: redis.Redis) -> list[bytes]:
    """A few keys of every type, each a length command would touch."""
    pipe = c.pipeline(transaction=False)
    for i in range(20):
        pipe.set(f"s:{i}", "v" * i)
        pipe.rpush(f"l:{i}", *range(i + 1))
        pipe.hset(f"h:{i}", mapping={f"f{j}": j for j in range(i + 1)})
        pipe.sadd(f"set:{i}", *range(i + 1))
        pipe.zadd(f"z:{i}", {f"m{j}": j for j in range(i + 1)})
        pipe.xadd(f"x:{i}", {"a": i})
    pipe.execute()
    return sorted(c.scan_iter(count=1000))


def _age(c: redis.Redis, keys: list[bytes], lfu: bool) -> None:
    """Give every key a known LFU counter or idle time (DUMP + RESTORE ... REPLACE)."""
    for key in keys:
        payload = c.dump(key)
        if lfu:
            c.restore(key, 0, payload, replace=True, frequency=FREQ)
        else:
            c.restore(key, 0, payload, replace=True, idletime=IDLE)


def _read(c: redis.Redis, keys: list[bytes], lfu: bool) -> dict[bytes, int]:
    sub = "FREQ" if lfu else "IDLETIME"  # OBJECT never touches the key it reads
    return {k: int(c.execute_command("OBJECT", sub, k)) for k in keys}


def _has_no_touch(server: LocalServer) -> bool:
    """Ask the server (on a connection of its own): CLIENT NO-TOUCH is Redis 7.2+."""
    c = redis.Redis(port=server.port, single_connection_client=True)
    try:
        c.execute_command("CLIENT", "NO-TOUCH", "ON")
        return True
    except redis.ResponseError:
        return False
    finally:
        c.close()


def _scan_all(port: int, *extra: str) -> list[str]:
    notes: list[str] = []
    for command in ("memory", "bigkeys", "patterns"):
        res = invoke(command, "-p", str(port), "--format", "json", *extra)
        assert res.exit_code == 0, (command, res.stderr)
        doc = res.json()
        assert doc["complete"] is True
        notes += doc["notes"]
    return notes


@pytest.mark.parametrize("policy", ["allkeys-lfu", "allkeys-lru"])
def test_a_full_scan_leaves_lru_and_lfu_data_as_it_was(tmp_path: Path, policy: str) -> None:
    lfu = policy.endswith("lfu")
    config = {"maxmemory-policy": policy}
    if lfu:  # every access counts (log factor 0) and counters never decay: a touch shows
        config.update({"lfu-log-factor": "0", "lfu-decay-time": "0"})
    with LocalServer(dir=tmp_path, config=config) as server:
        c = server.client()
        keys = _keyspace(c)
        _age(c, keys, lfu)
        before = _read(c, keys, lfu)
        assert min(before.values()) >= (FREQ if lfu else IDLE)
        notes = _scan_all(server.port)
        if _has_no_touch(server):
            assert not any("NO-TOUCH" in n for n in notes), notes
        else:  # the scan says that it touched them
            assert any("NO-TOUCH" in n and "--no-lengths" in n for n in notes), notes
            _age(c, keys, lfu)  # that scan touched them: age them again
            before = _read(c, keys, lfu)
            _scan_all(server.port, "--no-lengths")
        after = _read(c, keys, lfu)
        if lfu:
            assert after == before
        else:  # idle times only grow with the clock; a touch would reset one to 0
            assert all(after[k] >= before[k] for k in keys), [
                k for k in keys if after[k] < before[k]
            ]
        c.close()
