"""The nodes of a cluster scanned on every core: each node's scanner runs in a worker process
forked from this one (the GIL would hold threads to one core), with collectors of its own;
its result, collectors and notes come back through a pipe into the scanner object here, so
the pool merges them exactly as it merges threads' work.

Ctrl-C: the workers ignore SIGINT; the pool sets the shared stop event (a multiprocessing
Event), and each worker stops at its next batch and sends what it measured, as a thread
does. The pipes carry pickles between this process and its own children only."""

from __future__ import annotations

import contextlib
import multiprocessing
import os
import signal
import time
from collections.abc import Callable, Sequence
from multiprocessing.connection import Connection, wait
from typing import Any, Protocol

#: REDISCOPE_PARALLEL=0 scans the nodes in threads of one process (as before)
PARALLEL_ENV = "REDISCOPE_PARALLEL"
#: a worker reports its progress at most this often
TICK_S = 0.1


class NodeRunner(Protocol):
    """What a worker runs and sends back (scan/live.py's NodeScanner)."""

    result: Any
    collectors: Any
    notes: list[str]
    progress: Callable[[int], None]

    def run(self) -> Any: ...


def use_processes(nodes: int) -> bool:
    """Processes for more than one node, where the machine has more than one core and can
    fork, unless REDISCOPE_PARALLEL=0 (or 1)."""
    if nodes < 2 or "fork" not in multiprocessing.get_all_start_methods():
        return False
    if os.environ.get(PARALLEL_ENV, "").strip() in ("0", "1"):
        return False
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    return (cores or 1) > 1


def stop_event() -> Any:
    """A stop flag the workers see: a multiprocessing Event where processes are used."""
    if "fork" in multiprocessing.get_all_start_methods():
        return multiprocessing.get_context("fork").Event()
    import threading

    return threading.Event()


def run_in_processes(
    scanners: Sequence[NodeRunner], tick: Callable[[int], None], on_interrupt: Callable[[], None]
) -> None:
    """Run every scanner in a worker; each one's result, collectors and new notes are put
    back on it. TICK gets the keys done; ON_INTERRUPT runs at Ctrl-C (it sets the stop
    event), after which the workers' partial results are still collected."""
    ctx = multiprocessing.get_context("fork")
    running: dict[Connection, tuple[NodeRunner, Any]] = {}
    try:
        for s in scanners:
            parent, child = ctx.Pipe(duplex=False)
            process = ctx.Process(target=_work, args=(s, child), daemon=True)
            process.start()
            child.close()
            running[parent] = (s, process)
        while running:
            try:
                ready = wait(list(running), timeout=0.25)
            except KeyboardInterrupt:
                on_interrupt()
                continue
            for conn in [c for c in running if c in ready]:
                if _take(conn, running[conn][0], tick):
                    running.pop(conn)[1].join()
                    conn.close()
    finally:
        for _conn, (_s, process) in running.items():
            process.kill()
            process.join()


def _take(conn: Connection, scanner: NodeRunner, tick: Callable[[int], None]) -> bool:
    """One message from a worker; True when it was the last."""
    try:
        kind, value = conn.recv()
    except EOFError:
        raise RuntimeError("a node's scan worker died without an answer") from None
    if kind == "tick":
        tick(int(value))
        return False
    if kind == "error":
        raise value
    scanner.result, scanner.collectors, notes = value
    for note in notes:
        if note not in scanner.notes:
            scanner.notes.append(note)
    return True


def _work(scanner: NodeRunner, conn: Connection) -> None:
    """In the worker: scan, ticking progress through the pipe, then send what was measured."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the parent sets the stop event
    notes_before = len(scanner.notes)
    pending, last = [0], [time.monotonic()]

    def tick(n: int) -> None:
        pending[0] += n
        now = time.monotonic()
        if now - last[0] >= TICK_S:
            conn.send(("tick", pending[0]))
            pending[0], last[0] = 0, now

    scanner.progress = tick
    try:
        scanner.run()
        if pending[0]:
            conn.send(("tick", pending[0]))
        new_notes = scanner.notes[notes_before:]
        conn.send(("done", (scanner.result, scanner.collectors, new_notes)))
    except BaseException as exc:
        with contextlib.suppress(Exception):
            conn.send(("error", exc))
    finally:
        conn.close()
        os._exit(0)
