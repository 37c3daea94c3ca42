"""What a person sees at any width: every table at 80 and 160 columns, and in a pipe.

At a terminal width no line is longer than the terminal, numbers stay on one line, and a key
too long for its column is cut in the middle with "…" (both ends kept), never folded onto an
orphan line. Piped (no COLUMNS) or with --wide, key names are whole, so `| grep` finds them.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from rediscope.core.localserver import LocalServer
from tests.helpers import invoke, run_cli

LONG = "session:" + "a1b2c3d4" * 12 + ":tail-end"  # 113 characters


def _fill(server: LocalServer) -> None:
    c = server.client()
    pipe = c.pipeline(transaction=False)
    for i in range(300):
        pipe.set(f"user:{i}:profile", "x" * (i % 90))
        pipe.hset(f"cart:{i}", mapping={"a": i})
    pipe.set(LONG, "v" * 300_000)
    pipe.rpush("queue:" + "q" * 90, *range(6000))
    pipe.execute()
    c.close()


COMMANDS = [
    ["bigkeys", "--top", "5"],
    ["bigkeys", "--min-bytes", "100KB"],
    ["memory", "--top", "5"],
    ["patterns"],
    ["patterns", "--memory"],
    ["health", "--window", "0"],
    ["ping"],
]


@pytest.mark.parametrize("columns", [80, 160])
def test_every_table_fits_and_cuts_keys_in_the_middle(
    plain: LocalServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, columns: int
) -> None:
    _fill(plain)
    monkeypatch.setenv("COLUMNS", str(columns))
    backups = tmp_path / "b"
    backups.mkdir()
    assert invoke("backup", "run", str(backups), "-p", str(plain.port)).exit_code == 0
    runs = [[*cmd, "-p", str(plain.port)] for cmd in COMMANDS]
    runs += [["backup", "list", str(backups)], ["capacity", "report", "-p", str(plain.port),
             "--history", str(tmp_path / "h.sqlite")]]  # fmt: skip
    for args in runs:
        res = invoke(*args)
        assert res.exit_code in (0, 1), (args, res.stderr)
        lines = res.stdout.splitlines()
        too_long = [ln for ln in lines if len(ln.rstrip()) > columns]
        assert not too_long, (args, too_long[:3])
        # a size never wraps away from its unit (no "808.7" / "KiB" pair of lines)
        assert not any(re.fullmatch(r"\s*(KiB|MiB|GiB|B)\s*", ln) for ln in lines), args
    res = invoke("bigkeys", "--top", "5", "-p", str(plain.port))
    row = next(ln for ln in res.stdout.splitlines() if "session:" in ln)
    if columns == 80:  # too long for its column: both ends kept, "…" between, one line
        assert LONG not in res.stdout and "…" in row and ":tail-end" in row
    else:
        assert LONG in row


def test_piped_or_wide_shows_whole_keys(plain: LocalServer) -> None:
    _fill(plain)
    # a subprocess with no terminal and no COLUMNS, as `rediscope patterns | grep session`
    res = run_cli("patterns", "-p", str(plain.port), env={"COLUMNS": ""})
    assert res.exit_code == 0, res.stderr
    hits = [ln for ln in res.stdout.splitlines() if "session" in ln]
    assert hits and any(LONG in ln for ln in hits), hits
    res = invoke("bigkeys", "-p", str(plain.port), "--wide")  # COLUMNS=120 in the suite
    assert LONG in res.stdout and "q" * 90 in res.stdout


def test_prometheus_keeps_bytes_exact(plain: LocalServer, tmp_path: Path) -> None:
    history = str(tmp_path / "h.sqlite")
    for _ in range(3):
        invoke("capacity", "record", "-p", str(plain.port), "--history", history)
    res = invoke(
        "capacity", "report", "-p", str(plain.port), "--history", history,
        "--format", "prometheus",
    )  # fmt: skip
    used = [ln for ln in res.stdout.splitlines() if ln.startswith("rediscope_capacity_used")]
    assert used and all(re.search(r" \d+$", ln) for ln in used), used  # no 1.31717e+08
