"""A manifest that lists no file, or a file outside its directory, stands for no backup: it
is not counted as intact, so retention never deletes the intact backups for it, and restore
never reads outside the directory (found by a fault-injection review)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from rediscope.core.localserver import LocalServer
from tests.helpers.cli import load_json, run_cli


def _three_backups(server: LocalServer, dest: Path) -> list[Path]:
    dest.mkdir()
    server.client().set("k", "v")
    for _ in range(3):
        r = run_cli("backup", "run", str(dest), "-p", str(server.port))
        assert r.exit_code == 0, r.stderr
        server.client().incr("n")  # the next backup differs
    return sorted(dest.glob("*.manifest.json"))


@pytest.mark.parametrize("files", [[], "outside"])
def test_a_manifest_naming_nothing_of_its_own_never_lets_prune_delete_intact_backups(
    plain: LocalServer, tmp_path: Path, files: object
) -> None:
    dest = tmp_path / "bk"
    manifests = _three_backups(plain, dest)
    newest = json.loads(manifests[-1].read_text())
    if files == "outside":
        for f in newest["files"]:
            f["file"] = "../" + f["file"]
    else:
        newest["files"] = []
    manifests[-1].write_text(json.dumps(newest))
    r = run_cli("backup", "prune", str(dest), "--keep-last", "1", "--format", "json")
    assert r.exit_code == 0, r.stderr
    doc = load_json(r.stdout)
    kept = [b["base"] for b in doc["kept"]]
    assert kept == [manifests[1].name.removesuffix(".manifest.json")]  # the newest intact one
    assert all(p.exists() for p in (manifests[1], *dest.glob(kept[0] + ".rdb*")))
    restore = run_cli("backup", "restore", str(dest), "-p", str(plain.port), "--dry-run", "--merge")
    assert "internal error" not in restore.stderr and "../" not in restore.stderr
