"""Tier 3: what `backup restore` says and refuses (issue 32, items 11-13), on real servers:
--from-db and a filter that matches nothing (exit 1, naming the backup's dbs), -n refused by
the commands that read every db, the question asked before any progress is drawn, plurals
and one word for a key already there, --no-progress, and a DAMAGED backup warned about."""

from __future__ import annotations

import json
import os
import pty
import select
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from rediscope.core.localserver import LocalServer
from tests.helpers import load_json, run_cli, server_in, start_server
from tests.helpers.restore import held, restore_cli


@pytest.fixture
def writer(tmp_path: Path) -> Iterator[LocalServer]:
    """The server backed up: 3 keys in db 0, 1 in db 1."""
    (tmp_path / "writer").mkdir()
    server = start_server(LocalServer(dir=tmp_path / "writer"))
    c = server.client()
    c.mset({"k:1": "a", "k:2": "b", "k:3": "c"})
    c.execute_command("SELECT", 1)
    c.set("other", "x")
    c.close()
    yield server
    server.cleanup()


@pytest.fixture
def target(tmp_path: Path) -> Iterator[LocalServer]:
    with server_in(tmp_path / "target") as server:
        yield server


def backup_of(server: LocalServer, dest: Path) -> Path:
    """A backup taken by `backup run` (with its manifest and .sha256): its file."""
    dest.mkdir(exist_ok=True)
    r = run_cli("backup", "run", str(dest), "-p", str(server.port))
    assert r.exit_code == 0, r.stderr
    (file,) = dest.glob("*.rdb.gz")
    return file


def test_from_db_the_backup_lacks_exits_1_naming_its_dbs(
    writer: LocalServer, target: LocalServer, tmp_path: Path
) -> None:
    file = backup_of(writer, tmp_path / "bk")
    for option in ("-n", "--db", "--from-db"):
        code, _, err = restore_cli(file, target.port, option, "3", "--yes")
        assert code == 1, err
        assert "no keys in db 3" in err and "dbs 0, 1" in err, err
        assert len(err.strip().splitlines()) == 1
    # a file without a manifest: found out by reading it, said the same way
    bare = tmp_path / "bare.rdb.gz"
    shutil.copy(file, bare)
    code, _, err = restore_cli(bare, target.port, "--from-db", "3", "--yes")
    assert code == 1, err
    assert "--from-db 3 matched none of the backup's 4 keys" in err and "dbs 0, 1" in err
    code, _, err = restore_cli(file, target.port, "--match", "nope:*", "--yes")
    assert code == 1 and "--match 'nope:*' matched none" in err, err
    assert held(target) == {}
    code, out, err = restore_cli(file, target.port, "--from-db", "1", "--yes")
    assert code == 0, err
    assert held(target) == {"db1": 1}
    assert "restored 1 key (" in out  # one key: no "1 keys"


def test_restore_help_says_from_db_is_the_backups_db() -> None:
    r = run_cli("backup", "restore", "--help", env={"COLUMNS": "200"})
    assert r.exit_code == 0
    text = " ".join(r.stdout.split())  # the help wraps its lines
    assert (
        "-n, --from-db, --db INTEGER RANGE Restore only db N of the backup (the backup's db, not the target's"
        in text
    )


def test_commands_reading_every_db_refuse_n(plain: LocalServer, tmp_path: Path) -> None:
    url = f"redis://127.0.0.1:{plain.port}"
    r = run_cli("top", "--url", url, "-n", "1", "--once")
    assert r.exit_code == 2
    assert r.stderr == "rediscope: error: top reads every db: it takes no -n/--db\n"
    r = run_cli("backup", "run", str(tmp_path), "--url", url, "--db", "0")
    assert r.exit_code == 2
    assert r.stderr == "rediscope: error: backup run reads every db: it takes no -n/--db\n"
    assert list(tmp_path.iterdir()) == []  # no backup taken
    # every other command keeps -n as the target's db
    plain.client().set("k", "v")
    r = run_cli("bigkeys", "--url", url, "-n", "0", "--format", "json")
    assert r.exit_code == 0, r.stderr


def in_a_terminal(args: list[str], answer: bytes | None) -> tuple[int, str]:
    """ARGS run with a pseudo-terminal as stdin, stdout and stderr; ANSWER typed once the
    question is on the screen. The exit code and everything the terminal showed."""
    leader, follower = pty.openpty()
    env = {**os.environ, "TERM": "xterm", "COLUMNS": "120"}
    env.pop("NO_COLOR", None)
    proc = subprocess.Popen(
        [sys.executable, "-m", "rediscope", *args],
        stdin=follower,
        stdout=follower,
        stderr=follower,
        env=env,
        close_fds=True,
    )
    os.close(follower)
    shown = b""
    try:
        deadline = time.monotonic() + 120
        answered = answer is None
        while time.monotonic() < deadline:
            ready, _, _ = select.select([leader], [], [], 1.0)
            if ready:
                try:
                    chunk = os.read(leader, 65536)
                except OSError:  # the child closed the terminal
                    break
                if not chunk:
                    break
                shown += chunk
            if not answered and b"[y/N]" in shown:
                os.write(leader, answer or b"")
                answered = True
            if not ready and proc.poll() is not None:
                break
        if time.monotonic() >= deadline:  # still waiting (for an answer never asked)
            proc.kill()
        return proc.wait(timeout=60), shown.decode("utf-8", "replace")
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        os.close(leader)


def test_the_question_comes_before_any_bar_and_says_what_where(
    writer: LocalServer, target: LocalServer, tmp_path: Path
) -> None:
    file = backup_of(writer, tmp_path / "bk")
    url = f"redis://127.0.0.1:{target.port}"
    code, shown = in_a_terminal(
        ["backup", "restore", str(file), "--url", url, "--from-db", "0"], b"n\n"
    )
    assert code == 2, shown
    asked = shown[: shown.index("[y/N]")]
    assert f"Restore 3 keys into {url}" in asked and "(db 0)?" in asked, asked
    assert "━" not in asked and "Go on" not in asked  # nothing drawn before the question
    assert "not confirmed: nothing was written" in shown
    assert held(target) == {}
    code, shown = in_a_terminal(["backup", "restore", str(file), "--url", url], b"y\n")
    assert code == 0, shown
    assert "Restore 4 keys into" in shown and "(dbs 0, 1)?" in shown
    assert held(target) == {"db0": 3, "db1": 1}


def test_no_progress_draws_no_bar(writer: LocalServer, target: LocalServer, tmp_path: Path) -> None:
    file = backup_of(writer, tmp_path / "bk")
    url = f"redis://127.0.0.1:{target.port}"
    code, shown = in_a_terminal(
        ["backup", "restore", str(file), "--url", url, "--yes", "--no-progress"], None
    )
    assert code == 0, shown
    assert "━" not in shown and "restored 4 keys" in shown
    assert held(target) == {"db0": 3, "db1": 1}


def test_dry_run_and_restore_use_one_word_for_a_key_already_there(
    writer: LocalServer, target: LocalServer, tmp_path: Path
) -> None:
    file = backup_of(writer, tmp_path / "bk")
    target.client().set("k:1", "already")
    runs = [
        restore_cli(file, target.port, "--merge", "--dry-run", "--from-db", "0"),
        restore_cli(file, target.port, "--merge", "--yes", "--from-db", "0"),
    ]
    for code, out, err in runs:
        assert code == 0, err
        assert "skipped: 1 exists" in out and "conflicts" not in out, out
        header = next(line for line in out.splitlines() if "restored" in line and "db" in line)
        assert "exists" in header.split()
    assert "would restore 2 keys" in runs[0][1] and "restored 2 keys" in runs[1][1]


def test_a_damaged_backup_warns_and_says_what_was_checked(
    writer: LocalServer, target: LocalServer, tmp_path: Path
) -> None:
    file = backup_of(writer, tmp_path / "bk")
    code, out, err = restore_cli(file, target.port, "--dry-run", "--format", "json")
    doc = load_json(out)
    assert code == 0 and "warning" not in err, err
    assert doc["backup_problems"] == [] and doc["checks"] == ["crc64"]
    Path(f"{file}.sha256").unlink()
    listed = load_json(run_cli("backup", "list", str(file.parent), "--format", "json").stdout)
    assert listed["backups"][0]["state"] == "damaged"
    code, out, err = restore_cli(file, target.port, "--yes", "--format", "json")
    assert code == 0, err
    warning = next(line for line in err.splitlines() if "warning:" in line)
    assert "DAMAGED" in warning and f"{file.name}.sha256 is missing" in warning
    assert "CRC-64 over every byte" in warning
    doc = load_json(out)
    assert doc["backup_problems"] == [f"{file.name}.sha256 is missing"]
    assert doc["checks"] == ["crc64"]
    assert held(target) == {"db0": 3, "db1": 1}


def test_a_size_mismatch_is_warned_about_before_the_question(
    writer: LocalServer, target: LocalServer, tmp_path: Path
) -> None:
    file = backup_of(writer, tmp_path / "bk")
    (manifest,) = file.parent.glob("*.manifest.json")
    doc = json.loads(manifest.read_text())
    size = doc["files"][0]["bytes"]
    doc["files"][0]["bytes"] = size + 10
    manifest.write_text(json.dumps(doc))
    url = f"redis://127.0.0.1:{target.port}"
    code, shown = in_a_terminal(["backup", "restore", str(file), "--url", url], b"n\n")
    assert code == 2, shown
    asked = shown[: shown.index("[y/N]")]
    assert "warning: the backup is DAMAGED" in asked
    assert f"has {size:,} bytes, the manifest says {size + 10:,}" in asked.replace("\r\n", " ")
    assert held(target) == {}


def test_a_damaged_backup_without_crc_has_every_record_read_first(
    tmp_path: Path, target: LocalServer
) -> None:
    (tmp_path / "nocrc").mkdir()
    server = start_server(LocalServer(dir=tmp_path / "nocrc", config={"rdbchecksum": "no"}))
    try:
        server.client().mset({"a": "1", "b": "2"})
        file = backup_of(server, tmp_path / "bk")
    finally:
        server.cleanup()
    Path(f"{file}.sha256").unlink()
    code, out, err = restore_cli(file, target.port, "--yes", "--format", "json")
    doc = load_json(out)
    assert "every record of each file was read" in err, err
    assert doc["checks"] == ["header-eof", "records"]
    assert doc["backup_problems"] == [f"{file.name}.sha256 is missing"]
    assert code == 0 and held(target) == {"db0": 2}
