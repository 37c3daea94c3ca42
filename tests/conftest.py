"""What every test shares: an isolated environment, markers from the fixtures a test uses,
and a safety net that stops, by PID, any server a test left running.

Server fixtures live in tests/server/conftest.py; helpers in tests/helpers/.
"""

from __future__ import annotations

import atexit
import contextlib
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from rediscope.core.localserver import SERVER_BIN_ENV, STARTED_HOOKS

#: every server process the suite started (LocalServer.start reports each one)
_STARTED: list[subprocess.Popen[bytes]] = []


def _stop_leftovers() -> list[int]:
    """SIGKILL, by PID, every server the suite started that is still running: a test that
    failed before its cleanup. A process not yet waited for keeps its PID, so it is ours."""
    stopped = []
    for proc in _STARTED:
        if proc.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.kill(proc.pid, signal.SIGKILL)
            with contextlib.suppress(subprocess.TimeoutExpired):
                proc.wait(timeout=10)
            stopped.append(proc.pid)
    _STARTED.clear()
    return stopped


def pytest_configure(config: pytest.Config) -> None:
    STARTED_HOOKS.append(_STARTED.append)
    if signal.getsignal(signal.SIGINT) == signal.SIG_IGN:
        # started in the background by a shell without job control (cron, `cmd &` in a
        # script): an ignored SIGINT is inherited by every rediscope the tests start, and
        # the Ctrl-C tests would wait for an exit that never comes. A handler is not
        # inherited: the children get the default, as from a terminal.
        signal.signal(signal.SIGINT, signal.default_int_handler)
    atexit.register(_stop_leftovers)  # a run cut short still stops its servers


def pytest_sessionfinish(session: pytest.Session) -> None:
    """Every fixture has been torn down by now: whatever runs is a leftover."""
    stopped = _stop_leftovers()
    if stopped:
        pids = ", ".join(map(str, stopped))
        print(
            f"\nsafety net: stopped {len(stopped)} server(s) left running: PID {pids}",
            file=sys.stderr,
        )


#: the marker a test gets from a fixture it uses (directly or through another fixture)
def _markers(fixturenames: list[str]) -> set[str]:
    marks = set()
    for name in fixturenames:
        if "cluster" in name:
            marks.add("cluster")
        if "sentinel" in name:
            marks.add("sentinel")
        if name in ("tls_server", "certs"):
            marks.add("tls")
    return marks


#: test files whose every test checks what rediscope does on its own side (retention rules,
#: publishing, timeouts, signals, UX, parallel reading): `once`, run on the distribution's
#: server only. What differs between server builds (RDB encodings, commands, INFO fields,
#: replication, cluster, modules) stays in the other files, run on every build.
ONCE_FILES = frozenset(
    {
        "test_backup_manifest_names.py",
        "test_backup_trust_publish.py",
        "test_backup_trust_retention.py",
        "test_cli_basics.py",
        "test_clients_security.py",
        "test_errors_point.py",
        "test_rdb_parallel.py",
        "test_reshard.py",
        "test_restore_trust.py",
        "test_restore_trust_sync.py",
        "test_restore_ux.py",
        "test_widths.py",
    }
)
#: single tests of the same kind in files that otherwise check the server
ONCE_TESTS = frozenset(
    {
        "test_a_backup_restores_into_every_newer_server_and_is_refused_by_an_older_one",
        "test_a_killed_drill_takes_its_server_with_it",
        "test_absurd_option_values_are_usage_errors",
        "test_bad_local_input",
        "test_killed_mid_transfer_leaves_nothing_and_next_run_cleans",
        "test_paused_server_every_command_returns_within_the_timeout",
        "test_paused_server_returns_within_the_timeout",
        "test_the_password_appears_nowhere",
        "test_two_runs_at_once_one_waits_out_with_75",
    }
)


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """`-m "not cluster"` leaves out every test that starts or uses a cluster, and so on;
    `-m "not once"` (the version matrix) the tests of rediscope's own side."""
    for item in items:
        for mark in sorted(_markers(list(getattr(item, "fixturenames", ())))):
            item.add_marker(mark)
        name = getattr(item, "originalname", None) or item.name
        if item.path.name in ONCE_FILES or name in ONCE_TESTS:
            item.add_marker("once")


@pytest.fixture(autouse=True)
def isolated_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """No user config, no ambient credentials, fixed width, no colour."""
    for name in list(os.environ):
        if (name.startswith("REDISCOPE_") and name != SERVER_BIN_ENV) or name == "REDISCLI_AUTH":
            monkeypatch.delenv(name)
    monkeypatch.setenv("REDISCOPE_NICE", "0")  # a paced scan in-process would nice pytest
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "xdg-config"))
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path / "xdg-state"))
    monkeypatch.setenv("COLUMNS", "120")
    monkeypatch.setenv("NO_COLOR", "1")
    monkeypatch.setenv("TERM", "dumb")
