"""--sync: the RDB of every primary over the replication protocol (as `backup run` takes it),
read as it arrives: nothing written to disk, no per-key command. It costs the server what a
BGSAVE costs: one fork and the copy-on-write memory of the pages written meanwhile."""

from __future__ import annotations

import contextlib
import io
import os
import threading
from collections.abc import Callable
from typing import IO, Any, cast

from rediscope.core.backup.fetch import stream_sync
from rediscope.core.connection import ConnectionSpec
from rediscope.core.rdbfile.source import RdbInput, RdbSource
from rediscope.core.target import identify, node_spec
from rediscope.errors import RediscopeError

#: what to do when SYNC is denied, for a scan (backup run's hint names --method bgsave)
DENIED_HINT = "grant +sync +replconf, or scan the server live (without --sync)"


def sync_source(spec: ConnectionSpec, max_time: float | None = None) -> RdbSource:
    """One replication stream per primary (every shard of a cluster); each gives up after
    spec.timeout seconds without RDB bytes, or MAX_TIME seconds in all."""
    target, _ident = identify(spec)
    nodes = target.primaries or target.nodes
    inputs = [
        RdbInput(f"sync://{n.address}", n.address, _opener(node_spec(spec, n), max_time))
        for n in nodes
    ]
    return RdbSource(inputs, server=spec)


def _opener(spec: ConnectionSpec, max_time: float | None) -> Callable[[], IO[bytes]]:
    return lambda: cast(IO[bytes], SyncStream(spec, max_time))


class SyncStream(io.RawIOBase):
    """A file object over one replication stream: a thread runs SYNC into a pipe."""

    def __init__(self, spec: ConnectionSpec, max_time: float | None = None) -> None:
        read_fd, write_fd = os.pipe()
        self._in = os.fdopen(read_fd, "rb", buffering=0)
        self._out = os.fdopen(write_fd, "wb", buffering=0)
        self.error: RediscopeError | None = None
        self._thread = threading.Thread(target=self._pump, args=(spec, max_time), daemon=True)
        self._thread.start()

    def _pump(self, spec: ConnectionSpec, max_time: float | None) -> None:
        try:
            stream_sync(spec, self._write, None, max_time, DENIED_HINT)
        except RediscopeError as exc:
            self.error = exc
        except OSError:
            pass  # the reader stopped reading (an error, --sample): nothing more to send
        finally:
            with contextlib.suppress(OSError):
                self._out.close()

    def _write(self, data: bytes) -> None:
        view = memoryview(data)
        while view:
            view = view[self._out.write(view) or 0 :]

    def readable(self) -> bool:
        return True

    def readinto(self, b: Any) -> int:
        """The stream's bytes; at its end, the server's refusal or failure (if it had one) is
        raised, so the reader names it instead of calling the data truncated."""
        n = self._in.readinto(b) or 0
        if n == 0 and len(b):
            self._thread.join(timeout=10)
            if self.error is not None:
                raise self.error
        return n

    def close(self) -> None:
        self._in.close()  # a pump still writing gets EPIPE and stops
        self._thread.join(timeout=10)
        super().close()
