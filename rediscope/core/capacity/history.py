"""The local capacity history: SQLite, one schema with migrations, safe under concurrent cron
runs (WAL, busy timeout, one transaction per record run) and never corrupted by a killed process
(SQLite's journal)."""

from __future__ import annotations

import json
import os
import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from rediscope.core.config import state_dir
from rediscope.errors import RediscopeError


def busy_timeout_ms() -> int:
    """How long a write waits for another process's lock (env REDISCOPE_SQLITE_BUSY_MS)."""
    try:
        return max(1, int(os.environ.get("REDISCOPE_SQLITE_BUSY_MS", "") or 10_000))
    except ValueError:
        return 10_000


#: each migration brings the schema from version i to i+1
MIGRATIONS: list[str] = [
    """
    CREATE TABLE samples (
        id INTEGER PRIMARY KEY,
        ts REAL NOT NULL,
        target TEXT NOT NULL,
        node TEXT NOT NULL,
        role TEXT NOT NULL,
        run_id TEXT NOT NULL,
        used_memory INTEGER, used_memory_rss INTEGER, used_memory_dataset INTEGER,
        used_memory_peak INTEGER, maxmemory INTEGER, maxmemory_policy TEXT,
        total_system_memory INTEGER, mem_fragmentation_ratio REAL,
        rdb_last_cow_size INTEGER, current_cow_peak INTEGER,
        keys_json TEXT NOT NULL,
        evicted_keys INTEGER, expired_keys INTEGER, keyspace_hits INTEGER,
        keyspace_misses INTEGER, total_commands_processed INTEGER,
        connected_clients INTEGER, instantaneous_ops INTEGER
    );
    CREATE INDEX samples_series ON samples (target, node, ts);
    """,
    """
    CREATE TABLE pattern_samples (
        id INTEGER PRIMARY KEY,
        ts REAL NOT NULL,
        target TEXT NOT NULL,
        source TEXT NOT NULL,
        pattern TEXT NOT NULL,
        keys INTEGER NOT NULL,
        bytes INTEGER NOT NULL
    );
    CREATE INDEX pattern_samples_series ON pattern_samples (target, ts);
    """,
]

SAMPLE_FIELDS = (
    "used_memory",
    "used_memory_rss",
    "used_memory_dataset",
    "used_memory_peak",
    "maxmemory",
    "maxmemory_policy",
    "total_system_memory",
    "mem_fragmentation_ratio",
    "rdb_last_cow_size",
    "current_cow_peak",
    "evicted_keys",
    "expired_keys",
    "keyspace_hits",
    "keyspace_misses",
    "total_commands_processed",
    "connected_clients",
)


@dataclass(frozen=True)
class Sample:
    ts: float
    target: str
    node: str
    role: str
    run_id: str
    values: dict[str, Any]  # SAMPLE_FIELDS + instantaneous_ops
    keys: dict[str, dict[str, int]] = field(default_factory=dict)  # db -> {keys, expires}

    def get(self, name: str) -> Any:
        return self.values.get(name)

    @property
    def total_keys(self) -> int:
        return sum(d.get("keys", 0) for d in self.keys.values())


@dataclass(frozen=True)
class PatternRow:
    """One pattern of an analyzed sample (the top patterns by bytes, then "(other)")."""

    pattern: str
    keys: int
    bytes: int


@dataclass(frozen=True)
class PatternSample:
    """The per-pattern summary of one analyzed snapshot (a backup, a scan) of a target."""

    ts: float
    source: str  # what was analyzed: backup:<base>, rdb, live
    rows: tuple[PatternRow, ...]


def default_history_path() -> Path:
    return state_dir() / "history.sqlite"


class History:
    def __init__(self, path: Path) -> None:
        self.path = path

    @contextmanager
    def _connect(self, write: bool) -> Iterator[sqlite3.Connection]:
        if write:
            try:
                self.path.parent.mkdir(parents=True, exist_ok=True)
            except OSError as exc:
                raise RediscopeError(f"cannot create {self.path.parent}: {exc.strerror}") from None
        elif not self.path.exists():
            raise FileNotFoundError(self.path)
        busy = busy_timeout_ms()
        try:
            conn = sqlite3.connect(self.path, timeout=busy / 1000, isolation_level=None)
        except sqlite3.Error as exc:
            raise RediscopeError(f"cannot open the history {self.path}: {exc}") from None
        try:
            conn.execute(f"PRAGMA busy_timeout = {busy}")
            if write:
                conn.execute("PRAGMA journal_mode = WAL")
                conn.execute("PRAGMA synchronous = NORMAL")
            yield conn
        except sqlite3.DatabaseError as exc:
            text = str(exc)
            if "locked" in text or "busy" in text:
                raise RediscopeError(
                    f"the history {self.path} is locked by another process",
                    f"it stayed locked for {busy / 1000:g}s; is another rediscope "
                    "or a sqlite3 shell holding a write transaction?",
                ) from None
            raise RediscopeError(
                f"the history {self.path} is unusable: {text}", "move it aside to start a new one"
            ) from None
        finally:
            conn.close()

    def _migrate(self, conn: sqlite3.Connection) -> None:
        version = conn.execute("PRAGMA user_version").fetchone()[0]
        if version > len(MIGRATIONS):
            raise RediscopeError(
                f"the history {self.path} has schema {version}, newer than "
                "this rediscope understands",
                "upgrade rediscope",
            )
        for i in range(version, len(MIGRATIONS)):
            conn.execute("BEGIN IMMEDIATE")
            try:
                # re-check inside the write lock: another run may have migrated meanwhile
                if conn.execute("PRAGMA user_version").fetchone()[0] != i:
                    conn.execute("ROLLBACK")
                    continue
                for statement in MIGRATIONS[i].split(";"):
                    if statement.strip():
                        conn.execute(statement)
                conn.execute(f"PRAGMA user_version = {i + 1}")
                conn.execute("COMMIT")
            except BaseException:
                conn.execute("ROLLBACK")
                raise

    def append(self, samples: list[Sample]) -> None:
        """All samples of one run in one transaction."""
        with self._connect(write=True) as conn:
            self._migrate(conn)
            conn.execute("BEGIN IMMEDIATE")
            try:
                for s in samples:
                    values = [s.values.get(f) for f in SAMPLE_FIELDS]
                    conn.execute(
                        f"INSERT INTO samples (ts, target, node, role, run_id, keys_json, "
                        f"instantaneous_ops, {', '.join(SAMPLE_FIELDS)}) VALUES "
                        f"(?, ?, ?, ?, ?, ?, ?, {', '.join('?' * len(SAMPLE_FIELDS))})",
                        [
                            s.ts,
                            s.target,
                            s.node,
                            s.role,
                            s.run_id,
                            json.dumps(s.keys),
                            s.values.get("instantaneous_ops"),
                            *values,
                        ],
                    )
                conn.execute("COMMIT")
            except BaseException:
                conn.execute("ROLLBACK")
                raise

    def targets(self) -> dict[str, tuple[int, float]]:
        """{target URL as recorded: (samples, newest ts)} over the whole history."""
        try:
            with self._connect(write=False) as conn:
                if conn.execute("PRAGMA user_version").fetchone()[0] < 1:
                    return {}
                rows = conn.execute(
                    "SELECT target, COUNT(*), MAX(ts) FROM samples GROUP BY target ORDER BY target"
                ).fetchall()
        except FileNotFoundError:
            return {}
        return {str(t): (int(n), float(ts)) for t, n, ts in rows}

    def load(self, target: str, since: float | None = None) -> list[Sample]:
        try:
            with self._connect(write=False) as conn:
                if conn.execute("PRAGMA user_version").fetchone()[0] < 1:
                    return []
                rows = conn.execute(
                    "SELECT ts, target, node, role, run_id, keys_json, instantaneous_ops, "
                    f"{', '.join(SAMPLE_FIELDS)} FROM samples WHERE target = ? AND ts >= ? "
                    "ORDER BY node, ts",
                    (target, since or 0.0),
                ).fetchall()
        except FileNotFoundError:
            return []
        out = []
        for row in rows:
            values = dict(zip(SAMPLE_FIELDS, row[7:], strict=True))
            values["instantaneous_ops"] = row[6]
            out.append(
                Sample(
                    ts=row[0],
                    target=row[1],
                    node=row[2],
                    role=row[3],
                    run_id=row[4],
                    values=values,
                    keys=json.loads(row[5]),
                )
            )
        return out

    def append_patterns(self, target: str, sample: PatternSample) -> None:
        """One analyzed snapshot's pattern rows, in one transaction."""
        with self._connect(write=True) as conn:
            self._migrate(conn)
            conn.execute("BEGIN IMMEDIATE")
            try:
                conn.executemany(
                    "INSERT INTO pattern_samples (ts, target, source, pattern, keys, bytes) "
                    "VALUES (?, ?, ?, ?, ?, ?)",
                    [
                        (sample.ts, target, sample.source, r.pattern, r.keys, r.bytes)
                        for r in sample.rows
                    ],
                )
                conn.execute("COMMIT")
            except BaseException:
                conn.execute("ROLLBACK")
                raise

    def load_patterns(self, target: str, since: float | None = None) -> list[PatternSample]:
        """The analyzed snapshots of TARGET, oldest first (none in a history from before
        they were recorded)."""
        try:
            with self._connect(write=False) as conn:
                if conn.execute("PRAGMA user_version").fetchone()[0] < 2:
                    return []
                rows = conn.execute(
                    "SELECT ts, source, pattern, keys, bytes FROM pattern_samples "
                    "WHERE target = ? AND ts >= ? ORDER BY ts, id",
                    (target, since or 0.0),
                ).fetchall()
        except FileNotFoundError:
            return []
        grouped: dict[tuple[float, str], list[PatternRow]] = {}
        for ts, source, pattern, keys, size in rows:
            grouped.setdefault((float(ts), str(source)), []).append(PatternRow(pattern, keys, size))
        return [PatternSample(ts, source, tuple(r)) for (ts, source), r in grouped.items()]
