"""The RDB key source: files (or stdin, or a replication stream) read front to back into the
same record batches and collectors as a live scan, with no server contacted. Which files a
backup directory stands for is the backup catalog's business (core/backup/catalog.py)."""

from __future__ import annotations

import os
import sys
import time
import zlib
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import IO

from rediscope.core.connection import ConnectionSpec
from rediscope.core.pipeline.offload import close as close_offloaded
from rediscope.core.pipeline.offload import offload
from rediscope.core.pipeline.offload import results as offloaded_results
from rediscope.core.pipeline.options import ScanOptions
from rediscope.core.pipeline.records import (
    Batch,
    Collector,
    KeyRef,
    NodeScan,
    ProgressFn,
    SourceFile,
    SourceInfo,
    runs_here,
)
from rediscope.core.pipeline.source import ScanResult
from rediscope.core.rdbfile import compiled
from rediscope.core.rdbfile.check import RdbError, RdbTooNew, open_decompressed
from rediscope.core.rdbfile.details import Details
from rediscope.core.rdbfile.parallel import FileRead, read_all, workers_for
from rediscope.core.rdbfile.reader import FileInfo, RdbReader
from rediscope.core.rdbfile.rows import head, match_filter
from rediscope.core.scan.pool import summarize
from rediscope.core.target import Node, Target
from rediscope.errors import RediscopeError, UsageError


@dataclass(frozen=True)
class RdbInput:
    path: str  # "-" for stdin
    label: str  # the "node" its keys are reported under
    #: how to open it when it is not a file: a replication stream (core/rdbfile/sync.py), whose
    #: reads raise the server's own refusal as a RediscopeError
    opener: Callable[[], IO[bytes]] | None = None

    @property
    def streamed(self) -> bool:
        """Read as it arrives (stdin, a replication stream): no size known up front."""
        return self.path == "-" or self.opener is not None


def file_inputs(paths: list[str]) -> list[RdbInput]:
    """RDB files as given ("-" for stdin), each reported under its name (its path where two
    names are the same)."""
    out: list[RdbInput] = []
    for raw in paths:
        path = Path(raw)
        if raw == "-":
            out.append(RdbInput("-", "stdin"))
        elif path.is_file():
            out.append(RdbInput(str(path), path.name))
        else:
            raise UsageError(f"no such RDB file: {path}")
    labels = [i.label for i in out]
    if len(set(labels)) != len(labels):
        out = [RdbInput(i.path, i.path, i.opener) for i in out]
    return out


def _file_time(info: FileInfo) -> int:
    """When the file was written (aux ctime), in ms, else now (RDB 4 and older do not say
    when): TTLs are relative to it and keys expired by then are left out, as a server loading
    the file drops them."""
    ctime = info.aux.get("ctime")
    if ctime and ctime.lstrip("-").isdigit():
        return int(ctime) * 1000
    return int(time.time() * 1000)


#: a file this big (or a stream) has its costliest collector run in a worker process, on the
#: other core, when the compiled reader is in use (pipeline/offload.py)
OFFLOAD_MIN_BYTES = 32 << 20


def _worth_offloading(item: RdbInput) -> bool:
    if not compiled.FAST:
        return False
    if item.streamed:
        return True
    try:
        return os.path.getsize(item.path) >= OFFLOAD_MIN_BYTES
    except OSError:
        return False


class _Limited(Exception):
    """--sample reached: stop reading this file."""


class RdbSource:
    """Reads every input once; what the file says of itself is kept for the report."""

    spec: ConnectionSpec | None = None  # no server

    def __init__(self, inputs: list[RdbInput], server: ConnectionSpec | None = None) -> None:
        self.inputs = inputs
        self.server = server  # --sync: the server the streams come from
        self.details = Details()
        self.files: list[SourceFile] = []
        self._current: tuple[NodeScan, set[int]] = (NodeScan("", "primary"), set())

    @property
    def target(self) -> Target:
        url = "rdb:" + ",".join(i.path for i in self.inputs)
        return Target(url, "standalone", tuple(Node(i.label, "primary") for i in self.inputs))

    def scan(
        self,
        opts: ScanOptions,
        make_collectors: Callable[[], list[Collector]],
        progress: ProgressFn | None = None,
    ) -> ScanResult:
        opts.validate()
        started = time.monotonic()
        workers = workers_for(len(self.inputs), any(i.streamed for i in self.inputs))
        if workers > 1 and not runs_here(make_collectors()):
            reads, interrupted = self._read_in_parallel(opts, make_collectors, progress, workers)
        else:
            reads, interrupted = self._read_in_turn(opts, make_collectors, progress)
        merged = make_collectors()
        for r in reads:
            for c, mine in zip(merged, r.collectors, strict=True):
                c.merge(mine)
            self.files += [r.file] if r.file is not None else []
            if r.details is not None:
                self.details.absorb(r.details)
        summary = summarize(
            [r.result for r in reads],
            seconds=time.monotonic() - started,
            interrupted=interrupted,
            notes=self.notes(),
            db=opts.db,
        )
        return ScanResult(self.target, summary, tuple(merged))

    def _read_in_turn(
        self,
        opts: ScanOptions,
        make_collectors: Callable[[], list[Collector]],
        progress: ProgressFn | None,
    ) -> tuple[list[FileRead], bool]:
        """One file after another in this process (the costliest collector in a worker where
        that pays: pipeline/offload.py); what each says of itself goes straight to self."""
        reads: list[FileRead] = []
        for item in self.inputs:
            collectors = make_collectors()
            running = offload(collectors) if _worth_offloading(item) else collectors
            try:
                result, stopped = self._read(item, opts, running, progress), False
            except KeyboardInterrupt:  # what was read of this file is in the report
                partial, dbs = self._current
                partial.dbs = sorted(dbs)
                result, stopped = partial, True
            except BaseException:
                close_offloaded(running)
                raise
            reads.append(FileRead(result, offloaded_results(running), None, None, stopped))
            if stopped:
                return reads, True
        return reads, False

    def _read_in_parallel(
        self,
        opts: ScanOptions,
        make_collectors: Callable[[], list[Collector]],
        progress: ProgressFn | None,
        workers: int,
    ) -> tuple[list[FileRead], bool]:
        """Every file in a worker process of its own, WORKERS at a time (rdbfile/parallel.py)."""
        sizes = [Path(i.path).stat().st_size for i in self.inputs]
        total = sum(sizes)

        def read_one(index: int, report: Callable[[int], None]) -> FileRead:
            self.details, self.files = Details(), []  # this worker's own
            collectors = make_collectors()

            def fwd(done: int, total: int, status: str | None = None, unit: str = "keys") -> None:
                report(done)

            try:
                result = self._read(self.inputs[index], opts, collectors, fwd)
                stopped = False
            except KeyboardInterrupt:  # what was read of this file is in the report
                result, dbs = self._current
                result.dbs, stopped = sorted(dbs), True
            file = self.files[-1] if self.files else None
            return FileRead(result, collectors, file, self.details.state(), stopped)

        def bytes_done(done: int) -> None:
            if progress is not None:
                progress(done, total, None, "bytes")

        return read_all(sizes, workers, read_one, bytes_done)

    def notes(self) -> tuple[str, ...]:
        where = (
            "read from the replication stream (one fork on the server, no per-key command)"
            if any(i.opener is not None for i in self.inputs)
            else "read from an RDB file, no server contacted"
        )
        out = [
            f"{where}: bytes are estimated from the encodings (docs/memory.md); TTLs are "
            "relative to the file's creation time"
        ]
        read_keys = any(f.keys for f in self.files)
        if read_keys and not any(f.keys_with_idle or f.keys_with_freq for f in self.files):
            out.append("the file carries no idle times or LFU counters (no LRU/LFU policy)")
        empty = sum(f.keys_empty for f in self.files)
        if empty:
            out.append(f"{empty:,} empty collections in the file: left out, as a server drops them")
        expired = sum(f.keys_expired for f in self.files)
        if expired:
            when = (
                "when the file was written"
                if all(f.ctime for f in self.files)
                else "by now (the file does not say when it was written)"
            )
            out.append(
                f"{expired:,} {'key' if expired == 1 else 'keys'} had expired {when}: left out"
            )
        return tuple(out)

    def describe(
        self, target: Target, refs: list[KeyRef]
    ) -> dict[KeyRef, tuple[str | None, int | None]]:
        """What the file said of the listed keys (kept for the biggest while reading)."""
        kept = self.details.lookup()
        return {ref: kept.get(ref, (None, None)) for ref in refs}

    def access(self) -> str | None:
        """LFU counters (FREQ opcodes) or idle times (IDLE) if the files carry them."""
        if any(f.keys_with_freq for f in self.files):
            return "lfu"
        if any(f.keys_with_idle for f in self.files):
            return "idletime"
        return None

    def source_info(self) -> SourceInfo:
        return SourceInfo("rdb", tuple(self.files))

    def _read(
        self,
        item: RdbInput,
        opts: ScanOptions,
        collectors: list[Collector],
        progress: ProgressFn | None,
    ) -> NodeScan:
        result = NodeScan(item.label, "primary")
        started = time.monotonic()
        keep = match_filter(opts)
        size = 0 if item.streamed else Path(item.path).stat().st_size
        dbs: set[int] = set()
        self._current = (result, dbs)  # what an interruption leaves

        def emit(batch: Batch) -> None:
            if opts.db is not None and batch.db != opts.db:
                return
            dbs.add(batch.db)
            result.dbsize += len(batch.keys)
            self.details.add(batch)
            if keep is not None:
                batch = keep(batch)
            if opts.sample is not None and result.keys_scanned + len(batch.keys) > opts.sample:
                batch = head(batch, opts.sample - result.keys_scanned)
            for c in collectors:
                c.add(batch)
            result.keys_scanned += len(batch.keys)
            if progress is not None:
                progress(_position(fh, reader.s.base), size, None, "bytes")
            if opts.sample is not None and result.keys_scanned >= opts.sample:
                result.sampled = True
                raise _Limited

        fh = self._open(item)
        reader = RdbReader(fh, item.label, _file_time, emit)
        info = _run(reader, fh, item.label, opts, result)
        result.dbs = sorted(dbs)
        result.complete = info.complete
        result.seconds = round(time.monotonic() - started, 3)
        self.files.append(_file_info(item, info, size))
        return result

    def _open(self, item: RdbInput) -> IO[bytes]:
        if item.path == "-":
            return sys.stdin.buffer
        if item.opener is not None:
            return item.opener()
        try:
            return open_decompressed(Path(item.path))
        except OSError as exc:
            raise RediscopeError(f"cannot read {item.path}: {exc.strerror}") from None
        except RdbError as exc:  # e.g. a .zst file without the zstandard package
            raise RediscopeError(f"{item.path}: {exc}") from None


#: what works on a server whose RDB version the reader does not know
STILL_WORKS = (
    "a live scan (the same command with --url instead of --rdb/--sync) still works, and so do "
    "backup run, list and verify without --deep (they check the header and CRC-64 only)"
)


def _run(
    reader: RdbReader, fh: IO[bytes], label: str, opts: ScanOptions, result: NodeScan
) -> FileInfo:
    """Read the whole file (or up to --sample) and close it. Damage past the header is the
    node's error, with what was read before it kept; a file that is not an RDB at all (or
    not the compressed file it is named as) is a RediscopeError."""
    failure = None
    try:
        info = reader.read()
    except _Limited:  # --sample: the keys held are what RESIZEDB said the db holds
        info = reader.info
        info.complete = True
        sizes = info.db_sizes
        held = sizes.get(opts.db, 0) if opts.db is not None else sum(sizes.values())
        result.dbsize = max(result.dbsize, held)
    except RdbTooNew as exc:  # nothing past the header can be read: say what still works
        raise RediscopeError(f"{label}: {exc}", STILL_WORKS) from None
    except RdbError as exc:
        info, failure = reader.info, f"{label}: {exc}"
    except (OSError, EOFError, zlib.error) as exc:  # a damaged .gz / .zst container
        info, failure = reader.info, f"{label}: cannot decompress: {exc}"
    except RediscopeError as exc:  # a replication stream's server refused or failed
        info, failure = reader.info, f"{label}: {exc}"
    finally:
        if fh is not sys.stdin.buffer:
            fh.close()
    if failure is not None and not info.magic:  # not an RDB at all: nothing to report
        raise RediscopeError(failure)
    result.error = failure
    return info


def _position(fh: IO[bytes], decompressed: int) -> int:
    """How far into the file on disk the reading is: a .gz file's own position under its
    decompressor, else the bytes read (a plain file; stdin and streams have no size)."""
    raw = getattr(fh, "fileobj", None)  # gzip.GzipFile
    try:
        return int(raw.tell()) if raw is not None else decompressed
    except (OSError, ValueError):
        return decompressed


def _file_info(item: RdbInput, info: FileInfo, size: int) -> SourceFile:
    return SourceFile(
        path=item.path,
        magic=info.magic,
        rdb_version=info.rdb_version,
        redis_ver=info.aux.get("redis-ver") or info.aux.get("valkey-ver"),
        ctime=int(info.aux["ctime"]) if info.aux.get("ctime", "").lstrip("-").isdigit() else None,
        bytes=size if size else info.bytes_read,
        keys=info.keys - info.keys_expired - info.keys_empty,
        keys_expired=info.keys_expired,
        keys_empty=info.keys_empty,
        functions=info.functions,
        modules=dict(info.modules),
        module_aux=tuple(info.module_aux),
        slot_info=info.slot_info,
        checksum=info.checksum,
        keys_with_idle=info.keys_with_idle,
        keys_with_freq=info.keys_with_freq,
        aux={k: v for k, v in info.aux.items() if k in AUX_SHOWN},
        complete=info.complete,
    )


AUX_SHOWN = ("redis-ver", "valkey-ver", "redis-bits", "ctime", "used-mem", "aof-base",
             "repl-id", "repl-offset", "repl-stream-db", "aof-preamble")  # fmt: skip
