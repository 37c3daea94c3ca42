"""Several RDB files at once (a cluster backup: one file per shard): each file is read in a
worker process forked from this one, with collectors of its own, and what it gathered comes
back through a pipe to be merged in the files' order: the report is the one reading them one
after another gives, in less time where the machine has the cores.

A worker is forked, so it shares the reading code and the collectors' factory as they are;
the pipe carries pickles between this process and its own children only. Ctrl-C reaches the
workers (the terminal's process group, or forwarded): each sends what it had read, marked
interrupted, as the serial reading does."""

from __future__ import annotations

import contextlib
import multiprocessing
import os
import signal
from collections.abc import Callable
from dataclasses import dataclass, field
from multiprocessing.connection import Connection, wait
from typing import Any

from rediscope.core.pipeline.records import Collector, NodeScan, SourceFile

#: REDISCOPE_PARALLEL=0 reads files one after another (or =N: at most N at once)
PARALLEL_ENV = "REDISCOPE_PARALLEL"


@dataclass
class FileRead:
    """What one worker read: the file's node result, its collectors, what the file says of
    itself, the biggest keys' details, and whether Ctrl-C stopped it."""

    result: NodeScan
    collectors: list[Collector]
    file: SourceFile | None
    details: Any
    interrupted: bool = False


@dataclass
class _Worker:
    index: int
    process: Any
    conn: Connection


@dataclass
class _Pool:
    sizes: list[int]
    reads: dict[int, FileRead] = field(default_factory=dict)
    done: dict[int, int] = field(default_factory=dict)  # bytes read, per file
    interrupted: bool = False


def workers_for(files: int, streamed: bool) -> int:
    """How many files to read at once: up to the cores, never for streams (stdin, --sync)."""
    if files < 2 or streamed or "fork" not in multiprocessing.get_all_start_methods():
        return 1
    asked = os.environ.get(PARALLEL_ENV, "").strip()
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    # every file at once up to twice the cores: the cores stay busy to the end instead of one
    # file read alone at the end while the other cores wait
    limit = int(asked) if asked.isdigit() else 2 * (cores or 1)
    return max(1, min(files, limit))


def read_all(
    sizes: list[int],
    workers: int,
    read_one: Callable[[int, Callable[[int], None]], FileRead],
    progress: Callable[[int], None] | None,
) -> tuple[list[FileRead], bool]:
    """READ_ONE(i, report_bytes) for each file (SIZES: their bytes), WORKERS at a time, each
    in a forked worker; the reads in order, and whether Ctrl-C stopped them (files not
    started then are left out). PROGRESS gets the bytes read over all files. A worker's
    exception is raised here once the others have stopped."""
    pool, waiting = _Pool(sizes), list(range(len(sizes)))
    running: list[_Worker] = []
    ctx = multiprocessing.get_context("fork")
    failure: BaseException | None = None
    try:
        while waiting or running:
            while waiting and len(running) < workers and not pool.interrupted:
                running.append(_start(ctx, waiting.pop(0), read_one))
            if not running:
                break
            try:
                failure = _collect(running, pool, progress) or failure
            except KeyboardInterrupt:
                pool.interrupted = True
                waiting.clear()
                for w in running:  # a signal sent to this process only: pass it on
                    with contextlib.suppress(OSError):
                        os.kill(w.process.pid, signal.SIGINT)
            if failure is not None:
                waiting.clear()
    finally:
        for w in running:
            w.process.kill()
            w.process.join()
    if failure is not None:
        raise failure
    return [pool.reads[i] for i in sorted(pool.reads)], pool.interrupted


def _start(ctx: Any, index: int, read_one: Callable[..., FileRead]) -> _Worker:
    parent, child = ctx.Pipe(duplex=False)
    process = ctx.Process(target=_work, args=(index, read_one, child), daemon=True)
    process.start()
    child.close()
    return _Worker(index, process, parent)


def _work(index: int, read_one: Callable[..., FileRead], conn: Connection) -> None:
    """In the worker: read, reporting progress, then send the read (or the exception)."""
    last = [0]

    def report(done: int) -> None:
        if done - last[0] >= 1 << 20:  # a message per MiB read, not per batch
            last[0] = done
            conn.send(("progress", done))

    try:
        outcome: tuple[str, Any] = ("read", read_one(index, report))
    except BaseException as exc:
        outcome = ("error", exc)
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the answer goes out whole
    conn.send(outcome)
    conn.close()
    os._exit(0)  # no atexit handlers or buffers of the parent's run twice


def _collect(
    running: list[_Worker], pool: _Pool, progress: Callable[[int], None] | None
) -> BaseException | None:
    """Take the messages that are ready; a worker's error is returned (the others go on
    to their end, so nothing is left half-done)."""
    failure = None
    for conn in wait([w.conn for w in running]):
        w = next(w for w in running if w.conn is conn)
        try:
            message: tuple[str, Any] = w.conn.recv()
        except EOFError:  # it died without an answer
            message = ("error", RuntimeError(f"the worker reading file {w.index + 1} died"))
        kind, value = message
        if kind == "progress":
            pool.done[w.index] = int(value)
            if progress is not None:
                progress(sum(pool.done.values()))
            continue
        if kind == "read":
            read: FileRead = value
            pool.reads[w.index] = read
            pool.done[w.index] = pool.sizes[w.index]
            pool.interrupted |= read.interrupted
        else:
            failure = value
        w.process.join()
        w.conn.close()
        running.remove(w)
    return failure
