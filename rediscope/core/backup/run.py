"""`rediscope backup run`: fetch, verify and keep one backup (one file per shard), then prune.

A backup is a set of files sharing a base name `<name>-<UTC YYYYmmddTHHMMSSZ>`:
`<base>.rdb.gz` (one per shard on a cluster: `<base>.<node8>.<slots>.rdb.gz`), a `.sha256`
beside each (sha256sum -c format), and `<base>.manifest.json`, written last: a backup without
its manifest does not exist for list, verify, prune or health.

Every file is written to a temp file created exclusively in the destination, checked (RDB magic,
version, EOF opcode, CRC-64) and fsynced; the sidecars and the manifest are staged as temp files
too, then all are renamed into place, the manifest last (the one commit point), and the
directory fsynced; a failure on the way removes every piece already in place. An
exclusive flock on the directory keeps two runs apart (the second exits 75, naming the holder);
temp files of a killed run are removed by the next run.
"""

from __future__ import annotations

import contextlib
import re
import signal
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime, timezone
from functools import partial
from pathlib import Path
from typing import ClassVar

from rediscope import __version__
from rediscope.core.backup.catalog import digest_problems, list_backups
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
    publish,
    stage_text,
)
from rediscope.core.backup.manifest import BackupFile, Manifest
from rediscope.core.backup.retention import (
    DAMAGED,
    FUTURE,
    RetentionPolicy,
    delete_backups,
    plan_prune,
)
from rediscope.core.connection import ConnectionSpec, client
from rediscope.core.failures import translate_errors
from rediscope.core.info import identity, info, keyspace_dbs
from rediscope.core.rdbfile.check import RdbError, check_file
from rediscope.core.report import ReportBase
from rediscope.core.target import Node, Target, identify, node_spec
from rediscope.errors import CommandDenied, UsageError


@dataclass(frozen=True)
class BackupRunReport(ReportBase):
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


EXTENSIONS = {"gzip": ".rdb.gz", "zstd": ".rdb.zst", "none": ".rdb"}


def _slot_label(slots: tuple[tuple[int, int], ...]) -> str:
    return "_".join(f"{a}-{b}" for a, b in slots) or "noslots"


@dataclass(frozen=True)
class _Shard:
    node: Node
    spec: ConnectionSpec
    final_name: str


def _check_options(dest: Path, method: str, compression: str) -> None:
    """The options checked before anything is written; a file-size limit (ulimit -f) made an
    EFBIG error (the run cleans up and says so), not a kill by SIGXFSZ."""
    if hasattr(signal, "SIGXFSZ"):
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
    if compression not in EXTENSIONS:
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


def _new_base(dest: Path, name: str, clock: Callable[[], datetime]) -> tuple[str, datetime]:
    """`<name>-<UTC stamp>`, never the name of a backup already in DEST."""
    while True:
        stamp = clock()
        base = f"{name}-{stamp:{TS_FORMAT}}"
        if not (dest / f"{base}.manifest.json").exists():
            return base, stamp
        time.sleep(0.2)  # the next second gives a new name


def _shards(spec: ConnectionSpec, target: Target, base: str, ext: str) -> list[_Shard]:
    """One file per primary on a cluster, one file otherwise."""
    if target.mode != "cluster":
        return [_Shard(target.nodes[0], spec, f"{base}{ext}")]
    return [
        _Shard(
            n, node_spec(spec, n), f"{base}.{(n.node_id or 'node')[:8]}.{_slot_label(n.slots)}{ext}"
        )
        for n in target.primaries
    ]


@dataclass(frozen=True)
class _Request:
    dest: Path
    method: str
    compression: str
    rdb_path: str | None
    progress: ProgressFn | None
    max_time: float | None = None  # seconds for the whole SYNC or BGSAVE (--max-time)


def _fetch_all(
    req: _Request, shards: list[_Shard], writers: list[FileWriter], notes: list[str]
) -> list[Written]:
    """Every shard's RDB into its own temp file, in parallel; progress only for one shard."""
    progress = req.progress if len(shards) == 1 else None

    def one(shard: _Shard) -> Written:
        writer = FileWriter(req.dest, req.compression)
        writers.append(writer)
        return _backup_one(shard, writer, req, progress, notes)

    with ThreadPoolExecutor(max_workers=max(1, len(shards))) as pool:
        return list(pool.map(one, shards))


def _verify_on_disk(results: list[Written], compression: str) -> None:
    """Read back what is on disk, decompressing as a stream: the same bytes the server sent."""
    for written in results:
        try:
            again = check_file(written.temp, compression)
        except RdbError as exc:
            raise BackupError(f"verification of the written file failed: {exc}") from None
        if again.crc != written.check.crc or again.size != written.bytes_raw:
            raise BackupError("verification failed: the file on disk differs from the stream")


def _entries(results: list[Written]) -> tuple[BackupFile, ...]:
    """What the manifest says of each file written."""
    return tuple(
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


def _write_backup(req: _Request, shards: list[_Shard], notes: list[str]) -> list[Written]:
    """Fetch and verify every shard into its temp file; on any failure remove every one."""
    writers: list[FileWriter] = []
    try:
        results = _fetch_all(req, shards, writers, notes)
        _verify_on_disk(results, req.compression)
    except OSError as exc:
        for writer in writers:
            writer.abort()
        raise disk_error(exc, req.dest) from None
    except BaseException:
        for writer in writers:
            writer.abort()
        raise
    if any(not w.check.crc_checked for w in results):
        notes.append(
            "the server has rdbchecksum no: the RDB carries no CRC, so only "
            "its structure could be checked"
        )
    return results


def _commit(dest: Path, results: list[Written], manifest: Manifest) -> None:
    """Stage every sidecar and the manifest under temp names (fsynced), then publish the
    data files, the sidecars and the manifest last. On any failure nothing of it stays."""
    staged = [(w.temp, w.final_name) for w in results]
    try:
        for w in results:
            side = stage_text(dest, f"{w.sha256}  {w.final_name}\n")
            staged.append((side, f"{w.final_name}.sha256"))
        staged.append((stage_text(dest, manifest.to_json()), f"{manifest.base}.manifest.json"))
        publish(dest, staged)
    except BaseException as exc:
        for temp, _ in staged:
            with contextlib.suppress(OSError):
                temp.unlink()
        if isinstance(exc, OSError):
            raise disk_error(exc, dest) from None
        raise


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
    max_time: float | None = None,
) -> BackupRunReport:
    """Discover the target, lock DEST, write one verified backup with its manifest last, prune."""
    _check_options(dest, method, compression)
    started = time.monotonic()
    target, ident = identify(spec)
    name = _safe_name(name) if name else default_name(spec)
    req = _Request(dest, method, compression, rdb_path, progress, max_time)
    with dir_lock(dest):
        cleaned = clean_temp_files(dest)
        notes = [f"removed {cleaned} temp file(s) left by an interrupted run"] if cleaned else []
        base, stamp = _new_base(dest, name, now or (lambda: datetime.now(timezone.utc)))
        shards = _shards(spec, target, base, EXTENSIONS[compression])
        results = _write_backup(req, shards, notes)
        files = _entries(results)
        used_method = "bgsave" if any(w.method == "bgsave" for w in results) else "sync"
        manifest = Manifest(
            name=name,
            base=base,
            created_at=f"{stamp:%Y-%m-%dT%H:%M:%SZ}",
            finished_at="",
            finished_at_epoch=None,
            target=spec.redacted_url,
            mode=target.mode,
            server={"name": ident.name, "version": ident.version},
            method=used_method,
            compression=compression,
            verified=True,
            duration_s=round(time.monotonic() - started, 3),
            files=files,
            version=__version__,
        ).finished(datetime.now(timezone.utc))
        _commit(dest, results, manifest)
        pruned = _prune(dest, name, policy, notes)
    return BackupRunReport(
        target=target,
        complete=True,
        name=name,
        directory=str(dest),
        manifest=f"{base}.manifest.json",
        method=used_method,
        compression=compression,
        files=files,
        bytes=sum(f.bytes for f in files),
        bytes_raw=sum(f.bytes_raw for f in files),
        seconds=round(time.monotonic() - started, 3),
        pruned=pruned,
        notes=tuple(notes),
    )


def _prune(
    dest: Path, name: str, policy: RetentionPolicy | None, notes: list[str]
) -> tuple[str, ...]:
    """Retention over this target's backups only (its name), never another target's."""
    if policy is None or not policy.any():
        return ()
    mine = [b for b in list_backups(dest) if b.name == name]
    plan = plan_prune(mine, policy, read=partial(digest_problems, dest))
    for base, reasons in plan.keep.items():
        if FUTURE in reasons or DAMAGED in reasons:
            why = "is dated in the future" if FUTURE in reasons else "is damaged"
            notes.append(f"{base} {why}: retention does not count it (backup list shows why)")
    return tuple(delete_backups(dest, plan.remove))


def _backup_one(
    shard: _Shard,
    writer: FileWriter,
    req: _Request,
    progress: ProgressFn | None,
    notes: list[str],
) -> Written:
    conn = client(shard.spec)
    try:
        with translate_errors(shard.spec, "INFO"):
            data = info(conn)
    finally:
        conn.close()
    keys = {f"db{d}": n for d, n in keyspace_dbs(data).items()}
    used = "sync" if req.method in ("sync", "auto") else "bgsave"
    if used == "sync":
        try:
            stream_sync(shard.spec, writer.write, progress, req.max_time)
        except CommandDenied as exc:
            if req.method == "sync":
                raise
            # SYNC is refused before any byte is written: the writer is still empty
            notes.append(f"SYNC is not allowed ({exc.message}); fell back to BGSAVE")
            used = "bgsave"
    if used == "bgsave":
        bgsave_copy(
            shard.spec, req.rdb_path, writer.write, progress, timeout=req.max_time or 3600.0
        )
    try:
        check, sha, size = writer.finish()
    except RdbError as exc:
        raise BackupError(f"the RDB from {shard.node.address} is not valid: {exc}") from None
    return Written(
        temp=writer.temp,
        final_name=shard.final_name,
        check=check,
        sha256=sha,
        bytes=size,
        bytes_raw=check.size,
        node=shard.node.address,
        node_id=shard.node.node_id,
        slots=[list(s) for s in shard.node.slots],
        keys=keys,
        server=identity(data).version,
        method=used,
    )
