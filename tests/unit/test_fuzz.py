"""Fuzzing (hypothesis) of the parsers that take outside input: they never crash, and they
keep their promises on arbitrary input."""

from __future__ import annotations

import contextlib
import os
import tempfile
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from rediscope.core.config import find_profile
from rediscope.core.hotkeys import parse_args, parse_line
from rediscope.core.keynames import display_key, quote_bytes
from rediscope.core.patterns.inference import PatternInferer
from rediscope.core.rdbfile.check import RdbError, check_stream, crc64
from rediscope.core.units import parse_duration, parse_size
from rediscope.errors import ConfigError, UsageError

FUZZ = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
key_bytes = st.one_of(
    st.binary(max_size=200),
    st.text(alphabet=st.characters(codec="utf-8"), max_size=80).map(lambda t: t.encode()),
    st.lists(
        st.sampled_from(
            ["user", "42", "2026-11-25", ":", "{", "}", "=", "&", "#", "a1b2c3d4e5f6", "\x00", "v2"]
        ),
        max_size=12,
    ).map(lambda parts: "".join(parts).encode()),
)


@FUZZ
@given(key_bytes, st.sampled_from([":", ":/|#", "/"]))
def test_pattern_inference_is_total_and_deterministic(key: bytes, seps: str) -> None:
    a, b = PatternInferer(seps), PatternInferer(seps)
    pattern = a.infer(key)
    assert isinstance(pattern, str)
    assert pattern == b.infer(key) == a.infer(key)  # same with or without a warm cache
    assert pattern.count("\n") <= key.count(b"\n")


def _quote_monitor(arg: bytes) -> bytes:
    """How Redis quotes an argument in MONITOR output (sdscatrepr)."""
    return quote_bytes(arg).encode()


@FUZZ
@given(
    st.lists(st.binary(max_size=40), min_size=1, max_size=8),
    st.integers(0, 15),
    st.sampled_from(["127.0.0.1:5000", "lua", "unix:/tmp/s.sock"]),
)
def test_monitor_lines_round_trip(args: list[bytes], db: int, client: str) -> None:
    line = f"1700000000.000001 [{db} {client}] ".encode() + b" ".join(
        _quote_monitor(a) for a in args
    )
    event = parse_line(line)
    assert event is not None and event.db == db and event.client == client
    assert list(event.args) == args


@FUZZ
@given(st.binary(max_size=300))
def test_monitor_parser_never_crashes(data: bytes) -> None:
    parse_line(data)
    parse_args(data)


@FUZZ
@given(st.binary(max_size=2000))
def test_rdb_check_rejects_garbage_without_crashing(data: bytes) -> None:
    with contextlib.suppress(RdbError):
        check_stream([data])


@FUZZ
@given(st.binary(max_size=500), st.integers(1, 64), st.integers(0, 9999))
def test_rdb_check_accepts_valid_and_catches_any_flipped_byte(
    payload: bytes, chunk: int, flip: int
) -> None:
    body = b"REDIS0010" + payload + b"\xff"
    good = body + crc64(body).to_bytes(8, "little")
    chunks = [good[i : i + chunk] for i in range(0, len(good), chunk)]
    assert check_stream(chunks).size == len(good)
    pos = flip % len(good)
    bad = bytearray(good)
    bad[pos] ^= 0x01
    try:
        result = check_stream([bytes(bad)])
    except RdbError:
        return
    raise AssertionError(f"a flipped byte at {pos} passed: {result}")


@FUZZ
@given(st.text(max_size=20))
def test_size_and_duration_parsers(text: str) -> None:
    for parse in (parse_size, parse_duration):
        try:
            value = parse(text)
        except UsageError:
            continue
        assert value >= 0


@FUZZ
@given(st.integers(0, 10**12), st.sampled_from(["", "B", "KB", "KiB", "MB", "MiB", "GB"]))
def test_parse_size_units(n: int, unit: str) -> None:
    base = {"": 1, "B": 1, "KB": 1000, "KiB": 1024, "MB": 10**6, "MiB": 2**20, "GB": 10**9}
    assert parse_size(f"{n}{unit}") == n * base[unit]


@settings(max_examples=150, deadline=None)
@given(st.text(max_size=300))
def test_config_files_never_crash(text: str) -> None:
    with tempfile.TemporaryDirectory() as d:
        path = Path(d) / "c.yaml"
        path.write_text(text, encoding="utf-8")
        with contextlib.suppress(ConfigError):
            find_profile(str(path), "p")


@FUZZ
@given(st.binary(max_size=100))
def test_display_key_never_emits_control_characters(raw: bytes) -> None:
    shown = display_key(raw)
    assert shown.isprintable()
    assert os.linesep not in shown
