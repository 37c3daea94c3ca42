"""`rediscope backup run`: fetch, verify and keep one backup (one file per shard), then prune.

A backup is a set of files sharing a base name `<name>-<UTC YYYYmmddTHHMMSSZ>`:
`<base>.rdb.gz` (one per shard on a cluster: `<base>.<node8>.<slots>.rdb.gz`), a `.sha256`
beside each (sha256sum -c format), and `<base>.manifest.json`, written last: a backup without
its manifest does not exist for list, verify, prune or health.

Every file is written to a temp file created exclusively in the destination, checked (RDB magic,
version, EOF opcode, CRC-64), fsynced, renamed into place, and the directory fsynced. An
exclusive flock on the directory keeps two runs apart (the second exits 75, naming the holder);
temp files of a killed run are removed by the next run.
"""

from __future__ import annotations

import json
import os
import re
import signal
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, ClassVar

from rediscope import __version__
from rediscope.core.backup.catalog import list_backups
from rediscope.core.backup.fetch import bgsave_copy, stream_sync
from rediscope.core.backup.files import (
    TS_FORMAT,
    BackupError,
    FileWriter,
    ProgressFn,
    Written,
    clean_temp_files,
    dir_lock,
    disk_error,
    fsync_dir,
    write_atomic,
)
from rediscope.core.backup.retention import RetentionPolicy, delete_backups, plan_prune
from rediscope.core.connection import ConnectionSpec, client
from rediscope.core.failures import translate_errors
from rediscope.core.info import identity, info, keyspace_dbs
from rediscope.core.rdb import RdbError, check_file
from rediscope.core.target import Node, Target, discover, node_spec
from rediscope.errors import CommandDenied, UsageError


@dataclass(frozen=True)
class BackupFile:
    file: str
    sha256: str
    bytes: int
    bytes_raw: int
    crc64: str
    crc_checked: bool
    rdb_version: int
    node: str | None
    node_id: str | None
    slots: list[list[int]]
    keys: dict[str, int]


@dataclass(frozen=True)
class BackupRunReport:
    command: ClassVar[str] = "backup run"
    target: Target
    complete: bool
    name: str
    directory: str
    manifest: str
    method: str
    compression: str
    files: tuple[BackupFile, ...]
    bytes: int
    bytes_raw: int
    seconds: float
    pruned: tuple[str, ...]
    notes: tuple[str, ...]


def _safe_name(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]+", "_", text).strip("._-") or "redis"


def default_name(spec: ConnectionSpec) -> str:
    return (
        _safe_name(spec.path or "socket")
        if spec.scheme == "unix"
        else _safe_name(f"{spec.host}-{spec.port}")
    )


def _slot_label(slots: tuple[tuple[int, int], ...]) -> str:
    return "_".join(f"{a}-{b}" for a, b in slots) or "noslots"


def run_backup(
    spec: ConnectionSpec,
    dest: Path,
    name: str | None = None,
    method: str = "sync",
    compression: str = "gzip",
    rdb_path: str | None = None,
    policy: RetentionPolicy | None = None,
    progress: ProgressFn | None = None,
    now: Callable[[], datetime] | None = None,
) -> BackupRunReport:
    if compression not in ("gzip", "zstd", "none"):
        raise UsageError("--compress must be gzip, zstd or none")
    if compression == "zstd":
        try:
            import zstandard  # noqa: F401
        except ImportError:
            raise UsageError(
                "--compress zstd needs the zstandard package",
                "pip install 'rediscope[zstd]', or --compress gzip",
            ) from None
    if method not in ("sync", "bgsave", "auto"):
        raise UsageError("--method must be sync, bgsave or auto")
    if not dest.is_dir():
        raise BackupError(f"{dest} is not a directory", "create it first")
    started = time.monotonic()
    if hasattr(signal, "SIGXFSZ"):  # a file-size limit must be an EFBIG error, not a kill
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
    target, ident, conn = discover(spec)
    conn.close()
    name = _safe_name(name) if name else default_name(spec)
    with dir_lock(dest):
        notes: list[str] = []
        cleaned = clean_temp_files(dest)
        if cleaned:
            notes.append(f"removed {cleaned} temp file(s) left by an interrupted run")
        clock = now or (lambda: datetime.now(timezone.utc))
        stamp = clock()
        base = f"{name}-{stamp:{TS_FORMAT}}"
        while (dest / f"{base}.manifest.json").exists():  # never reuse a name
            time.sleep(0.2)
            stamp = clock()
            base = f"{name}-{stamp:{TS_FORMAT}}"
        ext = {"gzip": ".rdb.gz", "zstd": ".rdb.zst", "none": ".rdb"}[compression]
        if target.mode == "cluster":
            shards = [
                (
                    n,
                    node_spec(spec, n),
                    f"{base}.{(n.node_id or 'node')[:8]}.{_slot_label(n.slots)}{ext}",
                )
                for n in target.primaries
            ]
        else:
            shards = [(target.nodes[0], spec, f"{base}{ext}")]
        used_method = method
        results: list[Written] = []
        writers: list[FileWriter] = []
        try:

            def one(item: tuple[Node, ConnectionSpec, str]) -> Written:
                node, one_spec, final = item
                writer = FileWriter(dest, compression)
                writers.append(writer)
                return _backup_one(
                    one_spec,
                    node,
                    writer,
                    final,
                    method,
                    rdb_path,
                    progress if len(shards) == 1 else None,
                    notes,
                )

            with ThreadPoolExecutor(max_workers=max(1, len(shards))) as pool:
                results = list(pool.map(one, shards))
            used_method = notes_method(notes, method)
            for written in results:  # verify what is on disk, decompressing as a stream
                try:
                    again = check_file(written.temp, compression)
                except RdbError as exc:
                    raise BackupError(f"verification of the written file failed: {exc}") from None
                if again.crc != written.check.crc or again.size != written.bytes_raw:
                    raise BackupError(
                        "verification failed: the file on disk differs from the stream"
                    )
            for written in results:
                os.replace(written.temp, dest / written.final_name)
                write_atomic(
                    dest,
                    f"{written.final_name}.sha256",
                    f"{written.sha256}  {written.final_name}\n",
                )
            files = tuple(
                BackupFile(
                    file=w.final_name,
                    sha256=w.sha256,
                    bytes=w.bytes,
                    bytes_raw=w.bytes_raw,
                    crc64=f"{w.check.crc:016x}",
                    crc_checked=w.check.crc_checked,
                    rdb_version=w.check.version,
                    node=w.node,
                    node_id=w.node_id,
                    slots=w.slots,
                    keys=w.keys,
                )
                for w in results
            )
            if any(not f.crc_checked for f in files):
                notes.append(
                    "the server has rdbchecksum no: the RDB carries no CRC, so only "
                    "its structure could be checked"
                )
            finished = datetime.now(timezone.utc)
            manifest = {
                "tool": "rediscope",
                "version": __version__,
                "format": 1,
                "name": name,
                "base": base,
                "created_at": f"{stamp:%Y-%m-%dT%H:%M:%SZ}",
                "finished_at": f"{finished:%Y-%m-%dT%H:%M:%SZ}",
                "finished_at_epoch": finished.timestamp(),
                "target": spec.redacted_url,
                "mode": target.mode,
                "server": {"name": ident.name, "version": ident.version},
                "method": used_method,
                "compression": compression,
                "verified": True,
                "duration_s": round(time.monotonic() - started, 3),
                "files": [file_json(f) for f in files],
            }
            manifest_name = f"{base}.manifest.json"
            write_atomic(dest, manifest_name, json.dumps(manifest, indent=2) + "\n")
            fsync_dir(dest)
        except OSError as exc:
            for writer in writers:
                writer.abort()
            raise disk_error(exc, dest) from None
        except BaseException:
            for writer in writers:
                writer.abort()
            raise
        pruned: tuple[str, ...] = ()
        if policy is not None and policy.any():
            plan = plan_prune(list_backups(dest), policy)
            pruned = tuple(delete_backups(dest, plan.remove))
    return BackupRunReport(
        target=target,
        complete=True,
        name=name,
        directory=str(dest),
        manifest=manifest_name,
        method=used_method,
        compression=compression,
        files=files,
        bytes=sum(f.bytes for f in files),
        bytes_raw=sum(f.bytes_raw for f in files),
        seconds=round(time.monotonic() - started, 3),
        pruned=pruned,
        notes=tuple(notes),
    )


def notes_method(notes: list[str], method: str) -> str:
    if method != "auto":
        return method
    return "bgsave" if any("fell back to BGSAVE" in n for n in notes) else "sync"


def _backup_one(
    spec: ConnectionSpec,
    node: Node,
    writer: FileWriter,
    final: str,
    method: str,
    rdb_path: str | None,
    progress: ProgressFn | None,
    notes: list[str],
) -> Written:
    conn = client(spec)
    try:
        with translate_errors(spec, "INFO"):
            data = info(conn)
    finally:
        conn.close()
    keys = {f"db{d}": n for d, n in keyspace_dbs(data).items()}
    if method in ("sync", "auto"):
        try:
            stream_sync(spec, writer.write, progress)
        except CommandDenied as exc:
            if method == "sync":
                raise
            # SYNC is refused before any byte is written: the writer is still empty
            notes.append(f"SYNC is not allowed ({exc.message}); fell back to BGSAVE")
            bgsave_copy(spec, rdb_path, writer.write, progress)
    else:
        bgsave_copy(spec, rdb_path, writer.write, progress)
    try:
        check, sha, size = writer.finish()
    except RdbError as exc:
        raise BackupError(f"the RDB from {node.address} is not valid: {exc}") from None
    return Written(
        temp=writer.temp,
        final_name=final,
        check=check,
        sha256=sha,
        bytes=size,
        bytes_raw=check.size,
        node=node.address,
        node_id=node.node_id,
        slots=[list(s) for s in node.slots],
        keys=keys,
        server=identity(data).version,
    )


def file_json(f: BackupFile) -> dict[str, Any]:
    return {k: getattr(f, k) for k in f.__dataclass_fields__}
