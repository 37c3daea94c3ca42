"""The README's support table is what this suite observes on the server it runs against.

The CI matrix runs this file once per server build, so each row of the table is checked on the
server it describes; a server without a row (a newer release) gets the row to add printed.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import redis

from rediscope.core.localserver import LocalServer
from rediscope.core.rdbfile.check import check_file
from tests.helpers import ROOT, invoke

COLUMNS = (
    "observer-effect-free scans",
    "cluster discovery",
    "RDB version of backups",
    "hash field expiry",
    "server-side HOTKEYS",
    "server's own diagnostics",
    "databases in cluster mode",
)


def readme_table() -> dict[str, tuple[str, ...]]:
    """{"Redis 7.0": (cell, ...)} from the table between the support-table markers."""
    text = (ROOT / "README.md").read_text()
    block = text.split("<!-- support-table -->", 2)[1]
    lines = [ln for ln in block.splitlines() if ln.startswith("|")]
    header = tuple(c.strip() for c in lines[0].strip("|").split("|"))
    assert header[1:] == COLUMNS, header
    rows = {}
    for line in lines[2:]:
        cells = tuple(c.strip() for c in line.strip("|").split("|"))
        rows[cells[0]] = cells[1:]
    return rows


def _has_command(client: redis.Redis, name: str) -> bool:
    """Sent without arguments, a command the server has is refused for its arity; one it has
    not, as unknown."""
    try:
        client.execute_command(name)
    except redis.ResponseError as exc:
        return "unknown command" not in str(exc).lower()
    return True


def observe(server: LocalServer, cluster_node: LocalServer, tmp: Path) -> tuple[str, ...]:
    """Each column's cell for this server, from what rediscope and the server do."""
    c = server.client()
    c.set("support:probe", "x")
    res = invoke("bigkeys", "-p", str(server.port), "--format", "json")
    assert res.exit_code == 0, res.stderr
    touches = any("NO-TOUCH" in n for n in res.json()["notes"])
    no_touch = "no: length commands touch LRU/LFU (`--no-lengths`)" if touches else "yes"
    try:
        cluster_node.client().execute_command("CLUSTER", "SHARDS")
        discovery = "CLUSTER SHARDS"
    except redis.ResponseError:
        discovery = "CLUSTER NODES"
    res = invoke("backup", "run", str(tmp), "-p", str(server.port))
    assert res.exit_code == 0, res.stderr
    listed = invoke("backup", "list", str(tmp), "--format", "json").json()["backups"]
    rdb_version = str(listed[0]["rdb_version"])
    (backup,) = (p for p in tmp.rglob("*") if p.name.endswith((".rdb", ".rdb.gz", ".rdb.zst")))
    if check_file(backup).magic == "VALKEY":  # Valkey 9's own format: its number is not Redis's
        rdb_version = f"VALKEY{int(rdb_version):03d}"
    hfe = "yes (HEXPIRE)" if _has_command(c, "hexpire") else "no"
    hotkeys = "yes" if _has_command(c, "hotkeys") else "no (`--method lfu` or `monitor`)"
    diagnostics = _diagnostics(c, cluster_node.client())
    c.close()
    return (no_touch, discovery, rdb_version, hfe, hotkeys, diagnostics, _cluster_dbs(cluster_node))


def _diagnostics(c: redis.Redis, node: redis.Redis) -> str:
    """What the server reports of itself beyond INFO, SLOWLOG and LATENCY (a key is present)."""
    found = []
    if c.info("keysizes"):  # Redis 8.0+: per-type size distributions; elsewhere an empty section
        found.append("INFO KEYSIZES")
    try:
        node.execute_command("CLUSTER", "SLOT-STATS", "SLOTSRANGE", 0, 0)
        found.append("CLUSTER SLOT-STATS")
    except redis.ResponseError:
        pass
    if _has_command(c, "commandlog"):
        found.append("COMMANDLOG")
    return ", ".join(found) or "none beyond SLOWLOG and LATENCY"


def _cluster_dbs(node: LocalServer) -> str:
    """Valkey 9 lets a cluster keep numbered databases (SELECT), up to `cluster-databases`."""
    conn = node.client()
    try:
        has = bool(conn.config_get("cluster-databases"))
    finally:
        conn.close()
    return "numbered (`cluster-databases`)" if has else "db 0 only"


def server_row_name(server: LocalServer) -> str:
    data = server.client().info("server")
    product = str(data.get("server_name") or "redis")
    version = str(data.get("valkey_version") or data["redis_version"])
    return f"{product.capitalize()} {'.'.join(version.split('.')[:2])}"


def test_readme_support_table_matches_this_server(
    plain: LocalServer, cluster: list[LocalServer], tmp_path: Path
) -> None:
    observed = observe(plain, cluster[0], tmp_path)
    name = server_row_name(plain)
    rows = readme_table()
    if name not in rows:
        row = "| " + " | ".join((name, *observed)) + " |"
        pytest.skip(f"README's support table has no row for {name}; add: {row}")
    assert dict(zip(COLUMNS, rows[name], strict=True)) == dict(zip(COLUMNS, observed, strict=True))


def test_readme_support_table_lists_the_matrix() -> None:
    """Every server the CI matrix runs has its row (../shared/servers names them)."""
    rows = readme_table()
    for name in ("Redis 6.2", "Redis 7.0", "Redis 7.2", "Redis 7.4", "Redis 8.2"):
        assert name in rows, name
    for name in ("Valkey 8.0", "Valkey 8.1", "Valkey 9.1"):
        assert name in rows, name
    assert all(re.fullmatch(r"\d+|VALKEY\d{3}", cells[2]) for cells in rows.values())
