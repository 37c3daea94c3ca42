"""Tier 1: option resolution, URL parsing, redaction, config files. No server."""

from __future__ import annotations

from pathlib import Path

import pytest

from rediscope.core.config import find_profile
from rediscope.core.connection import ConnectionOptions, parse_url, resolve
from rediscope.errors import ConfigError, UsageError


def test_default_target() -> None:
    spec = resolve(ConnectionOptions(), None, environ={})
    assert spec.redacted_url == "redis://127.0.0.1:6379/0"


@pytest.mark.parametrize(
    ("url", "redacted"),
    [
        ("redis://alice:pw@db.example:6380/2", "redis://alice:***@db.example:6380/2"),
        ("redis://:pw@h", "redis://:***@h:6379/0"),
        ("rediss://h:7000", "rediss://h:7000/0"),
        ("unix:///run/redis.sock?db=3", "unix:///run/redis.sock?db=3"),
        ("unix://bob:pw@/run/redis.sock", "unix://bob:***@/run/redis.sock?db=0"),
        ("redis://[::1]:6379/1", "redis://[::1]:6379/1"),
    ],
)
def test_url_forms_are_parsed_and_redacted(url: str, redacted: str) -> None:
    spec = resolve(ConnectionOptions(url=url), None, environ={})
    assert spec.redacted_url == redacted
    assert "pw" not in repr(spec)


@pytest.mark.parametrize(
    "url", ["foo://h", "redis://h:notaport", "redis://h/x", "unix://", "redis://h/-1"]
)
def test_bad_urls_are_usage_errors_that_do_not_echo_the_url(url: str) -> None:
    with pytest.raises(UsageError) as info:
        parse_url(url.replace("//", "//u:topsecret@", 1) if "unix" not in url else url)
    assert "topsecret" not in str(info.value)


def test_precedence_flag_over_env_over_profile(tmp_path: Path) -> None:
    cfg = tmp_path / "c.yaml"
    cfg.write_text("profiles:\n  p:\n    url: redis://profhost:1111/1\n    timeout: 9\n")
    profile = find_profile(str(cfg), "p")
    env = {"REDISCOPE_URL": "redis://envhost:2222/2", "REDISCLI_AUTH": "envpw"}
    spec = resolve(ConnectionOptions(), profile, environ={})
    assert (spec.host, spec.port, spec.db, spec.timeout) == ("profhost", 1111, 1, 9.0)
    spec = resolve(ConnectionOptions(), profile, environ=env)
    assert (spec.host, spec.port, spec.db, spec.password) == ("envhost", 2222, 2, "envpw")
    spec = resolve(ConnectionOptions(port=3333, db=3), profile, environ=env)
    assert (spec.host, spec.port, spec.db, spec.timeout) == ("envhost", 3333, 3, 9.0)
    spec = resolve(ConnectionOptions(url="redis://flag:4444/4"), profile, environ=env)
    assert (spec.host, spec.port, spec.db) == ("flag", 4444, 4)
    assert spec.password == "envpw"  # a URL without a password keeps the env password


def test_rediscope_password_env_and_profile_password_env(tmp_path: Path) -> None:
    spec = resolve(ConnectionOptions(), None, environ={"REDISCOPE_PASSWORD": "x1"})
    assert spec.password == "x1"
    cfg = tmp_path / "c.yaml"
    cfg.write_text("profiles:\n  p:\n    password_env: MY_PW\n")
    profile = find_profile(str(cfg), "p")
    assert resolve(ConnectionOptions(), profile, environ={"MY_PW": "y2"}).password == "y2"
    with pytest.raises(ConfigError, match=r"c.yaml:3: .*MY_PW"):
        resolve(ConnectionOptions(), profile, environ={})


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("profiles:\n  p:\n    port: [1\n", r"c\.yaml:4: invalid YAML"),
        ("- a\n- b\n", r"c\.yaml:1: the config file must be a mapping"),
        ("profiles:\n  p:\n    port: 'abc'\n", r"c\.yaml:3: port must be a int"),
        ("profiles:\n  p:\n    tls: 1\n", r"c\.yaml:3: tls must be a bool"),
        ("profiles:\n  p:\n    colour: red\n", r"c\.yaml:3: unknown key 'colour'"),
        ("profile:\n  p: {}\n", r"c\.yaml:1: unknown top-level key 'profile'"),
        ("profiles:\n  q: {}\n", r"no profile named 'p' \(profiles: q\)"),
        ("profiles:\n  p:\n    url: ftp://x\n", r"c\.yaml:3: invalid URL"),
    ],
)
def test_invalid_config_names_file_line_and_problem(
    tmp_path: Path, text: str, expected: str
) -> None:
    cfg = tmp_path / "c.yaml"
    cfg.write_text(text)
    with pytest.raises(ConfigError, match=expected):
        profile = find_profile(str(cfg), "p")
        resolve(ConnectionOptions(), profile, environ={})


def test_missing_default_config_is_fine_but_named_one_is_not(tmp_path: Path) -> None:
    assert find_profile(None, None) is None  # XDG dir points at an empty tmp dir
    with pytest.raises(ConfigError, match="does not exist"):
        find_profile(str(tmp_path / "nope.yaml"), None)


def test_default_profile_key_selects_a_profile(tmp_path: Path) -> None:
    cfg = tmp_path / "c.yaml"
    cfg.write_text("default_profile: b\nprofiles:\n  a: {port: 1}\n  b: {port: 2}\n")
    profile = find_profile(str(cfg), None)
    assert profile is not None and profile.name == "b"


@pytest.mark.parametrize("timeout", [0, -1, 100000])
def test_absurd_timeout_is_a_usage_error(timeout: float) -> None:
    with pytest.raises(UsageError, match="--timeout"):
        resolve(ConnectionOptions(timeout=timeout), None, environ={})
