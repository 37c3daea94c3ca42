"""Where the tests find things: the repository, its own data files, and ../shared beside the
clone (the version matrix's server builds), which a user's clone does not have."""

from __future__ import annotations

import os
from pathlib import Path
from typing import NoReturn

import pytest

ROOT = Path(__file__).resolve().parents[2]
#: RDB files from Redis's own test suite (tests/data/README.md: origin and licence)
DATA = ROOT / "tests" / "data"
#: what CI has beside the clone: server builds for the version matrix
SHARED = ROOT.parent / "shared"
SERVERS = SHARED / "servers"
IN_CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")


def skip_or_fail(message: str) -> NoReturn:
    """Skip with MESSAGE on a user's machine; in CI (CI=true) what is missing is a failure."""
    if IN_CI:
        pytest.fail(message)
    pytest.skip(message)


def need_dir(path: Path, what: str) -> Path:
    """PATH, or a skip (a failure under CI=true) with one line naming what is missing."""
    if not path.is_dir():
        skip_or_fail(f"{path} is missing: {what}")
    return path


def server_builds() -> list[str]:
    """The build names in ../shared/servers, or one placeholder when there is none (its test
    then skips naming the folder: a parametrization never fails collection)."""
    if not SERVERS.is_dir():
        return ["no-shared-servers"]
    return sorted(p.name for p in SERVERS.iterdir() if (p / "bin").is_dir())


def server_of(build: str) -> str:
    """The server program of a build in ../shared/servers (Valkey's own name first)."""
    folder = need_dir(SERVERS, "the version matrix's server builds (see README, Development)")
    for name in ("valkey-server", "redis-server"):
        path = folder / build / "bin" / name
        if path.is_file() and os.access(path, os.X_OK):
            return str(path)
    skip_or_fail(f"{folder / build} has no server program")
