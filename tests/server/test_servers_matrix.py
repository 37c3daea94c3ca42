"""The version matrix (issue 37 item 1): every build in ../shared/servers is usable by the test
harness as CI's .ci/matrix uses it (REDISCOPE_SERVER_BIN=<build>/bin), including the newest ones
that ship the server binary alone: the server is found in the build, redis-cli comes from PATH
where the build has none, Sentinel runs as `<server> --sentinel`, and whether the build has TLS
is asked of the program."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
import redis

from rediscope.core.localserver import SERVER_BIN_ENV, LocalServer, tls_support, which_program
from tests.helpers.paths import IN_CI, SERVERS


def _builds() -> list[str]:
    if not SERVERS.is_dir():
        return []
    return sorted(p.name for p in SERVERS.iterdir() if (p / "bin").is_dir())


@pytest.fixture(params=_builds() or ["(none)"])
def build_bin(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> Path:
    if request.param == "(none)":
        message = f"{SERVERS} holds no server builds"
        if IN_CI:
            pytest.fail(message)
        pytest.skip(message)
    path = SERVERS / str(request.param) / "bin"
    monkeypatch.setenv(SERVER_BIN_ENV, str(path))
    return path


def test_each_build_has_its_server_a_cli_and_a_sentinel(build_bin: Path, tmp_path: Path) -> None:
    server = which_program("redis-server")
    assert server is not None and Path(server).parent == build_bin
    assert which_program("redis-cli") is not None  # the build's own, else PATH's
    (tmp_path / "p").mkdir()
    (tmp_path / "s").mkdir()
    with LocalServer(dir=tmp_path / "p") as primary:
        config = {"sentinel monitor": f"mymaster 127.0.0.1 {primary.port} 1"}
        with LocalServer(dir=tmp_path / "s", sentinel=True, config=config) as sentinel:
            c = redis.Redis(port=sentinel.port)
            try:
                assert c.sentinel_master("mymaster")["port"] == primary.port
            finally:
                c.close()


def test_tls_support_is_what_the_build_does_with_a_tls_port(build_bin: Path) -> None:
    server = which_program("redis-server")
    assert server is not None
    said = tls_support(server)
    # the build's own record of how it was made, where it has one
    build = build_bin.parent / "BUILD"
    if build.is_file() and "BUILD_TLS=yes" in build.read_text():
        assert said, server
    if os.path.basename(build_bin.parent) in ("redis-8.2.3", "valkey-8.1.8", "valkey-9.1.2"):
        assert not said, server  # ../shared/servers/README.md: "None has TLS"
