"""What the restore tests share: a restore run as the CLI, and what a server holds per db."""

from __future__ import annotations

from pathlib import Path

from rediscope.core.localserver import LocalServer
from tests.helpers.cli import run_cli


def restore_cli(source: Path, port: int, *extra: str) -> tuple[int, str, str]:
    """`backup restore SOURCE` into 127.0.0.1:PORT: exit code, stdout, stderr (never a
    traceback or an internal error)."""
    r = run_cli("backup", "restore", str(source), "--url", f"redis://127.0.0.1:{port}", *extra)
    assert "Traceback" not in r.stderr and "internal error" not in r.stderr, r.stderr
    return r.exit_code, r.stdout, r.stderr


def held(server: LocalServer) -> dict[str, int]:
    """Keys per db on SERVER, as INFO keyspace says ({'db0': n, ...})."""
    c = server.client()
    try:
        return {db: int(v["keys"]) for db, v in c.info("keyspace").items()}
    finally:
        c.close()
