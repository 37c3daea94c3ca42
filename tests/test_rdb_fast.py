"""The compiled RDB loop (_fast.c) against the Python reader it stands in for: the same rows,
the same file facts and the same errors, on files written by the test server in every encoding
it writes, on the legacy files in ../shared/rdb, and on damaged copies of them."""

from __future__ import annotations

import dataclasses
import os
import random
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import redis

from rediscope.core.demo.keyspace import load_demo
from rediscope.core.localserver import LocalServer
from rediscope.core.memory.command import memory
from rediscope.core.pipeline.offload import Offloaded
from rediscope.core.pipeline.options import ScanOptions
from rediscope.core.pipeline.records import Batch
from rediscope.core.rdbfile import compiled, source, stream
from rediscope.core.rdbfile.check import crc64
from rediscope.core.rdbfile.reader import BATCH, RdbCorrupt, RdbReader
from rediscope.core.rdbfile.source import RdbSource, file_inputs
from rediscope.render.jsonout import to_jsonable
from tests.conftest import _start, load_json, run_cli
from tests.test_rdb import LEGACY, _rdb_file, _str, _str_aux, populate, saved

HOUR_MS = 3_600_000
CLOCK = int(time.time() * 1000) + HOUR_MS  # an hour on: the shorter TTLs have expired


class PythonReader(RdbReader):
    fast = False


def _read(cls: type[RdbReader], path: Path, clock: int) -> tuple[Any, ...]:
    """Every batch, the file facts, and the error (message, offset, key) if any."""
    batches: list[Batch] = []
    with path.open("rb") as fh:
        r = cls(fh, path.name, lambda _i: clock, batches.append)
        error = None
        try:
            r.read()
        except RdbCorrupt as exc:
            error = (str(exc), exc.offset, exc.key)
    rows = [dataclasses.astuple(b) for b in batches]
    return rows, dataclasses.asdict(r.info), error


def _both(data: bytes, tmp: Path, chunk: int = 1 << 20) -> tuple[tuple[Any, ...], ...]:
    """Read with the compiled loops and without; CHUNK: the reader's buffer (a small one puts
    many records and elements across its end, where the two hand over)."""
    path = tmp / "dump.rdb"
    path.write_bytes(data)
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(stream, "CHUNK", chunk)
        fast = _read(RdbReader, path, CLOCK)
        mp.setattr(compiled, "elements", None)
        return fast, _read(PythonReader, path, CLOCK)


def test_the_compiled_loop_is_built() -> None:
    """CI builds it from the sdist's C source (pip install -e .): a missing compiler there is a
    failure. Elsewhere the reader falls back to Python, with the same results."""
    if not os.environ.get("CI") and not compiled.FAST:
        pytest.skip("the compiled RDB loop is not built here (no C compiler at install)")
    assert compiled.FAST


@pytest.fixture(scope="module")
def writer(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalServer]:
    server = _start(LocalServer(dir=tmp_path_factory.mktemp("fastrdb")))
    yield server
    server.cleanup()


def _extra(c: redis.Redis) -> None:
    """Keys the compiled loop leaves to Python or reads in a way of its own: integer-encoded
    and compressed key names, integer strings at the edges of 64 bits, a one-node list."""
    c.set("12345", "v")
    c.set("-7", "9223372036854775807")
    c.set("k" * 200, "-9223372036854775808")  # a key long enough to be compressed
    c.set("s:notint", "007")
    c.set("s:neg0", "-0")
    c.set("s:over", "9223372036854775808")
    c.rpush("l:one", "x")
    c.sadd("set:one", 5)
    c.zadd("z:ints", {str(i): i for i in range(200)})  # integer-encoded members
    c.hset("h:" + "x" * 30, mapping={"a" * 40: "b" * 40})  # a compressed listpack


@pytest.mark.parametrize(
    "settings",
    [
        {"maxmemory-policy": "allkeys-lru", "rdbcompression": "yes"},
        {"maxmemory-policy": "allkeys-lfu", "rdbcompression": "no"},
        {"maxmemory-policy": "noeviction", "list-max-ziplist-size": "4", "set-max-intset-entries": "2"},
    ],
    ids=["lru-compressed", "lfu-plain", "small-nodes"],
)  # fmt: skip
def test_both_paths_read_a_saved_file_the_same(
    writer: LocalServer, settings: dict[str, str], tmp_path: Path
) -> None:
    c = writer.client()
    c.flushall()
    for name, value in settings.items():
        c.config_set(name, value)
    populate(c)
    _extra(c)
    data = saved(writer).read_bytes()
    c.config_set("maxmemory-policy", "noeviction")
    c.close()
    fast, slow = _both(data, tmp_path)
    assert fast == slow
    assert _both(data, tmp_path, chunk=700) == (fast, fast)
    rows, info, error = fast
    assert error is None and info["complete"]
    assert info["keys_expired"] >= 1  # the 600 s key, an hour on
    assert sum(len(r[2]) for r in rows) == info["keys"] - info["keys_expired"] - info["keys_empty"]


@pytest.mark.parametrize("name", sorted(p.name for p in LEGACY.glob("*.rdb")))
def test_both_paths_read_the_legacy_files_the_same(name: str, tmp_path: Path) -> None:
    data = (LEGACY / name).read_bytes()
    fast, slow = _both(data, tmp_path)
    assert fast == slow


def test_both_paths_fail_the_same_on_damaged_files(writer: LocalServer, tmp_path: Path) -> None:
    """Truncated at many places, a byte flipped at many places: the same rows before the damage
    and the same one error (message, offset, key), or the same complete read."""
    c = writer.client()
    c.flushall()
    c.config_set("rdbcompression", "yes")
    populate(c)
    _extra(c)
    data = saved(writer).read_bytes()
    c.close()
    rnd = random.Random(17)
    errors = 0
    for _ in range(150):
        fast, slow = _both(damaged(data, rnd), tmp_path, chunk=rnd.choice([500, 1 << 20]))
        assert fast == slow
        errors += fast[2] is not None
    assert errors > 75  # most damage is caught (the CRC catches the rest of the flips)


def damaged(data: bytes, rnd: random.Random) -> bytes:
    """Flipped bits, special length bytes, random runs, sometimes a truncation."""
    out = bytearray(data)
    for _ in range(rnd.choice([1, 1, 2, 5, 20])):
        at = rnd.randrange(9, len(out))
        r = rnd.random()
        if r < 0.6:
            out[at] ^= 1 << rnd.randrange(8)
        elif r < 0.8:
            out[at] = rnd.choice([0x00, 0x3F, 0x7F, 0x80, 0x81, 0xC0, 0xC1, 0xC2, 0xC3, 0xFF])
        else:
            out[at : at + 8] = rnd.randbytes(8)
    if rnd.random() < 0.2:
        out = out[: rnd.randrange(9, len(out))]
    return bytes(out)


def _memory_doc(path: Path, progress: Any = None) -> Any:
    """The memory report of PATH, as its JSON document holds it (timings left out)."""
    report = memory(RdbSource(file_inputs([str(path)])), ScanOptions(), progress=progress)
    doc = to_jsonable(report)
    doc.pop("generated_at")
    doc["scan"].pop("seconds")
    for node in doc["scan"]["nodes"]:
        node.pop("seconds")
    return doc


def test_an_offloaded_collector_gives_the_same_report(
    writer: LocalServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """memory's pattern collector in a worker process (what a big file gets) gives the report
    it gives here, on a keyspace of every type, and after a Ctrl-C in the middle of the read."""
    if not compiled.FAST:
        pytest.skip("the worker is used with the compiled reader only")
    c = writer.client()
    c.flushall()
    load_demo(writer.port, scale=0.05)
    populate(c)
    data = saved(writer).read_bytes()
    c.close()
    path = tmp_path / "dump.rdb"
    path.write_bytes(data)
    here = _memory_doc(path)
    started: list[Offloaded] = []
    real_init = Offloaded.__init__

    def spy(self: Offloaded, collector: Any) -> None:
        real_init(self, collector)
        started.append(self)

    monkeypatch.setattr(Offloaded, "__init__", spy)
    monkeypatch.setattr(source, "OFFLOAD_MIN_BYTES", 0)
    assert _memory_doc(path) == here
    assert len(started) == 1 and started[0]._proc.returncode == 0
    assert here["by_pattern"] and here["scan"]["keys_scanned"] > 10_000

    calls = [0]

    def interrupt(*_args: Any) -> None:  # Ctrl-C after a few batches
        calls[0] += 1
        if calls[0] == 4:
            raise KeyboardInterrupt

    doc = _memory_doc(path, progress=interrupt)
    assert doc["scan"]["interrupted"] and len(started) == 2
    assert doc["scan"]["keys_scanned"] == 4 * BATCH
    assert sum(p["keys"] for p in doc["by_pattern"]) == 4 * BATCH  # what the worker saw


def test_fields_beyond_64_bits_are_left_to_python(tmp_path: Path) -> None:
    """A hostile ctime (the clock TTLs are taken from) and a set claiming 2^62 elements, out of
    what the compiled loops take: the same report or error as the Python reader, no crash."""
    ctime = _str_aux("ctime", "9" * 30)
    body = (
        b"\x00" + _str("k") + _str("v") + b"\x02" + _str("s") + b"\x81" + (2**62).to_bytes(8, "big")
    )
    path = _rdb_file(tmp_path, b"REDIS0011", body)
    fast, slow = _both(path.read_bytes(), tmp_path)
    assert fast == slow
    assert fast[2] is not None and fast[2][2] == b"s"  # the error names the set
    result = run_cli("memory", "--rdb", str(path), "--format", "json")
    assert result.exit_code == 1 and "Traceback" not in result.stderr
    huge_clock = _rdb_file(tmp_path, b"REDIS0011", b"\x00" + _str("k") + _str("v"))
    data = huge_clock.read_bytes().replace(b"\xfe\x00", ctime + b"\xfe\x00", 1)
    huge_clock.write_bytes(data[:-8] + crc64(data[:-8]).to_bytes(8, "little"))
    result = run_cli("memory", "--rdb", str(huge_clock), "--format", "json")
    assert result.exit_code == 0, result.stderr
    assert load_json(result.stdout)["scan"]["keys_scanned"] == 1


def test_a_compact_value_whose_entries_overrun_it_is_a_clean_error(tmp_path: Path) -> None:
    """Found by fuzzing both paths: a zipmap too long to count from its header, whose entries
    run past its end, was an IndexError traceback."""
    path = _rdb_file(tmp_path, b"REDIS0003", b"\x09" + _str("zm") + _str(b"\xfe\x05ab\xff"))
    fast, slow = _both(path.read_bytes(), tmp_path)
    assert fast == slow
    assert fast[2] is not None and "past its end" in fast[2][0] and fast[2][2] == b"zm"
    result = run_cli("bigkeys", "--rdb", str(path))
    assert result.exit_code == 1 and "Traceback" not in result.stderr
    assert "past its end" in result.stderr and "at byte" in result.stderr
