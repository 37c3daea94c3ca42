"""A collector run in a second process, on the machine's other core: every batch goes to it
through a pipe, in order, and its state comes back at the end. It sees exactly the batches it
would have seen here, so the report is the same; the reading and the other collectors go on
meanwhile. Used where the reading is local and fast enough for one collector to be the
bottleneck: an RDB file read by the compiled reader (docs/performance.md).

The pipe carries pickles between this process and a child it started itself with the same
interpreter; nothing else writes to it."""

from __future__ import annotations

import contextlib
import os
import pickle
import signal
import subprocess
import sys
from typing import IO, Any

from rediscope.core.pipeline.records import Batch, Collector
from rediscope.errors import RediscopeError

_FRAME = 8  # each message: its length (8 bytes, little-endian), then the pickle


class Offloaded:
    """Stands in for a collector while a worker process runs it (and the ALONG ones, each
    fed the same batches there: see Along); result() is the collector. They may read the
    keys, types, memory, TTLs, idle times and LFU counters, and the element counts when one
    needs "length" (the others are not sent: pickling is the cost of the move). A column of
    Nones only (no idle times or LFU counters in the file) goes as one None: the same to a
    collector."""

    def __init__(self, collector: Collector, *along: Collector) -> None:
        self.needs = collector.needs
        # sent only to collectors that read them
        self._lengths = any("length" in c.needs for c in (collector, *along))
        self._results: list[Collector] | None = None
        self._proc = subprocess.Popen(
            [sys.executable, "-m", "rediscope.core.pipeline.offload"],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
        )
        assert self._proc.stdin is not None and self._proc.stdout is not None
        self._in, self._out = self._proc.stdin.fileno(), self._proc.stdout
        try:
            self._send([collector, *along])
        except BaseException:
            self.close()
            raise

    def add(self, batch: Batch) -> None:
        b = batch  # the columns a collector may read; not the encodings, RDB sizes
        lengths = b.lengths if self._lengths else None
        idle, freq = (None if c and c.count(None) == len(c) else c for c in (b.idle, b.freq))
        self._send((b.node, b.db, b.keys, b.types, b.memory, lengths, b.ttl_ms, idle, freq))

    def merge(self, other: Any) -> None:
        raise TypeError("merge the collector result() returns")

    def _send(self, obj: object) -> None:
        """One whole frame, even when Ctrl-C comes in the middle of it (the worker must be
        able to read the next one): the interrupt is raised once the frame is out."""
        data = pickle.dumps(obj, protocol=pickle.HIGHEST_PROTOCOL)
        view = memoryview(len(data).to_bytes(_FRAME, "little") + data)
        interrupted = False
        while view:
            try:
                view = view[os.write(self._in, view) :]
            except KeyboardInterrupt:
                interrupted = True
            except OSError as exc:  # the worker is gone
                raise self._failed(f"({exc.strerror})") from None
        if interrupted:
            raise KeyboardInterrupt

    def result(self) -> Collector:
        """The worker's collector after every batch sent; the worker ends."""
        return self.results()[0]

    def results(self) -> list[Collector]:
        """The worker's collectors (the first, then those along), asked for once."""
        if self._results is not None:
            return self._results
        try:
            self._send(None)
            self._proc.stdin.close()  # type: ignore[union-attr]
            got = _read_frame(self._out)
        finally:
            self._proc.wait()
            self._close_pipes()
        if got is None:
            raise self._failed(f"(exit code {self._proc.returncode})")
        self._results = pickle.loads(got)
        return self._results

    def close(self) -> None:
        """Stop the worker without its result (the reading failed)."""
        if self._proc.poll() is None:
            self._proc.kill()
            self._proc.wait()
        self._close_pipes()

    def _close_pipes(self) -> None:
        for pipe in (self._proc.stdin, self._proc.stdout):
            if pipe is not None:
                pipe.close()

    def _failed(self, why: str) -> RediscopeError:
        self.close()
        return RediscopeError(f"internal error: the collector's worker process failed {why}")


class Along:
    """Stands in for a collector that runs in another's worker (Offloaded): the batches it
    gets there are the ones sent for that one, so here it does nothing with them."""

    def __init__(self, worker: Offloaded, index: int, needs: frozenset[str]) -> None:
        self.worker, self.index, self.needs = worker, index, needs

    def add(self, batch: Batch) -> None:
        pass

    def merge(self, other: Any) -> None:
        raise TypeError("merge the collector result() returns")

    def result(self) -> Collector:
        return self.worker.results()[self.index]


#: a collector's `offload_cost`: WORKER or more, worth a worker process of its own (pattern
#: inference); ALONG, worth moving into a worker started for another (its batches are sent
#: anyway); 0 (or none), stays here
WORKER, ALONG = 2, 1


def offload(collectors: list[Collector]) -> list[Collector]:
    """The collectors, the most costly (`offload_cost` highest, at least WORKER) moved to a
    worker process with those worth moving along; all of them here on a one-core machine, or
    in a frozen executable (no interpreter to start the worker with)."""
    if (os.cpu_count() or 1) < 2 or len(collectors) < 2 or getattr(sys, "frozen", False):
        return list(collectors)
    costs = [getattr(c, "offload_cost", 0) for c in collectors]
    best = max(range(len(costs)), key=costs.__getitem__)
    if costs[best] < WORKER:
        return list(collectors)
    along = [i for i, cost in enumerate(costs) if i != best and cost >= ALONG]
    out = list(collectors)
    # no worker (or a collector that cannot travel): they run here, as they always can
    with contextlib.suppress(OSError, pickle.PicklingError, TypeError, AttributeError):
        worker = Offloaded(collectors[best], *(collectors[i] for i in along))
        out[best] = worker
        for n, i in enumerate(along, 1):
            out[i] = Along(worker, n, collectors[i].needs)
    return out


def results(collectors: list[Collector]) -> list[Collector]:
    """Every collector back from its worker (after the reading, or its interruption)."""
    return [c.result() if isinstance(c, Offloaded | Along) else c for c in collectors]


def close(collectors: list[Collector]) -> None:
    for c in collectors:
        if isinstance(c, Offloaded):
            c.close()


def _read_frame(fh: IO[bytes]) -> bytes | None:
    head = fh.read(_FRAME)
    if len(head) < _FRAME:
        return None
    n = int.from_bytes(head, "little")
    data = fh.read(n)
    return data if len(data) == n else None


def _worker() -> int:
    """The worker: its collectors, then batches until None; the collectors go back."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is for the reading process
    inp, out = sys.stdin.buffer, sys.stdout.buffer
    first = _read_frame(inp)
    if first is None:
        return 1
    collectors = pickle.loads(first)
    while (frame := _read_frame(inp)) is not None:
        columns = pickle.loads(frame)
        if columns is None:
            data = pickle.dumps(collectors, protocol=pickle.HIGHEST_PROTOCOL)
            out.write(len(data).to_bytes(_FRAME, "little") + data)
            out.flush()
            return 0
        node, db, keys, types, memory, lengths, ttl_ms, idle, freq = columns
        batch = Batch(
            node=node,
            db=db,
            keys=keys,
            types=types,
            memory=memory,
            lengths=lengths,
            ttl_ms=ttl_ms,
            encoding=None,
            idle=idle,
            freq=freq,
        )
        for collector in collectors:
            collector.add(batch)
    return 1


if __name__ == "__main__":
    sys.exit(_worker())
