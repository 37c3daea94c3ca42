"""`backup restore`: the checks of plan.py, then every key of every file streamed through the
RDB reader into pipelined RESTOREs on the primary that owns it, paced, with progress."""

from __future__ import annotations

import fnmatch
import re
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from rediscope.core.connection import ConnectionSpec
from rediscope.core.rdbfile.check import RdbError, open_decompressed
from rediscope.core.resp import RawConnection, encode
from rediscope.core.restore import plan
from rediscope.core.restore.functions import restore_functions
from rediscope.core.restore.plan import Input, RestoreOptions
from rediscope.core.restore.records import FileFacts, RawKey, RawReader, payload_size
from rediscope.core.restore.report import (
    Functions,
    RestoreReport,
    db_rows,
    node_rows,
    skipped,
)
from rediscope.core.restore.target import RestoreTarget
from rediscope.core.restore.writer import BATCH_KEYS, Counts, Entry, NodeWriter
from rediscope.core.target import node_spec

Progress = Callable[..., None]  # (bytes done, bytes in all or None, status)
Confirm = Callable[[str], None]  # raises to stop (the prompt's "no")
MAX_HOPS = 5
#: RESTORE key 0 payload: a key with no TTL, no LRU/LFU data, no REPLACE (most keys)
_RESTORE = b"*4\r\n$7\r\nRESTORE\r\n$%d\r\n%b\r\n$1\r\n0\r\n$%d\r\n%b\r\n"
#: RESTORE key at-ms payload ABSTTL: a key with a TTL
_RESTORE_AT = b"*5\r\n$7\r\nRESTORE\r\n$%d\r\n%b\r\n$%d\r\n%b\r\n$%d\r\n%b\r\n$6\r\nABSTTL\r\n"


@dataclass
class Stream:
    """The write side of one restore: a writer per primary, the counts, the pacing."""

    target: RestoreTarget
    opts: RestoreOptions
    version: int
    counts: Counts = field(default_factory=Counts)
    writers: dict[str, NodeWriter] = field(default_factory=dict)
    sent: int = 0
    started: float = field(default_factory=time.monotonic)
    file_clock_ms: int = 0  # the file's ctime (for --keep-expired)

    def __post_init__(self) -> None:
        o = self.opts
        self.glob = re.compile(fnmatch.translate(o.match).encode()) if o.match else None
        self.want_type = o.type.encode() if o.type else None
        self.batch = BATCH_KEYS if o.rate is None else max(1, min(BATCH_KEYS, int(o.rate / 10)))
        self.plain = not (o.replace or o.dry_run)
        self._by_index: dict[int, NodeWriter] = {}

    def writer(self, address: str) -> NodeWriter:
        w = self.writers.get(address)
        if w is None:
            conn = RawConnection(node_spec(self.target.spec, address))
            w = self.writers[address] = NodeWriter(conn, address, self.counts, self.opts.dry_run)
        return w

    def _wanted(self, rec: RawKey) -> bool:
        o = self.opts
        if o.db is not None and rec.db != o.db:
            return False
        if self.want_type is not None and rec.type != self.want_type:
            return False
        return self.glob is None or self.glob.match(rec.key) is not None

    def _command(self, rec: RawKey, now_ms: int) -> bytes | list[bytes] | None:
        """The RESTORE (a dry run: EXISTS) for REC; None when it is skipped as expired."""
        if self.opts.dry_run:
            return encode(b"EXISTS", rec.key)
        args: list[bytes | list[bytes]] = [b"RESTORE", rec.key, b"0", rec.payload]
        if rec.expire_ms is not None:
            if rec.expire_ms > now_ms:
                args[2:3] = [str(rec.expire_ms).encode()]
                args.append(b"ABSTTL")
            elif self.opts.keep_expired:  # its TTL as it was when the backup was taken
                args[2] = str(max(1, rec.expire_ms - self.file_clock_ms)).encode()
            else:
                return None
        if rec.idle is not None:
            args += [b"IDLETIME", str(rec.idle).encode()]
        elif rec.freq is not None:
            args += [b"FREQ", str(rec.freq).encode()]
        if self.opts.replace:
            args.append(b"REPLACE")
        return _resp(args)

    def take(self, batch: list[RawKey]) -> None:
        """One batch of records from the reader: filtered, routed, written, paced."""
        now = int(time.time() * 1000)
        counts, target, command_of = self.counts, self.target, self._command
        filtered = self.glob is not None or self.want_type is not None or self.opts.db is not None
        by_index, size = self._by_index, self.batch
        plain, db_map, standalone, sent = (
            self.plain,
            self.opts.db_map,
            not target.cluster,
            self.sent,
        )
        command: bytes | list[bytes]
        for rec in batch:
            if filtered and not self._wanted(rec):
                counts.add(rec.db, None, "filtered")
                continue
            if rec.empty:
                counts.add(rec.db, None, "empty")
                continue
            at, payload = rec.expire_ms, rec.payload
            if (
                plain
                and rec.idle is None
                and rec.freq is None
                and (at is None or at > now)
                and type(payload) is bytes
            ):
                key = rec.key  # most keys: the command built in one step
                if at is None:
                    command = _RESTORE % (len(key), key, len(payload), payload)
                else:
                    ms = b"%d" % at
                    command = _RESTORE_AT % (len(key), key, len(ms), ms, len(payload), payload)
            else:
                built = command_of(rec, now)
                if built is None:
                    counts.add(rec.db, None, "expired")
                    continue
                command = built
            to_db = db_map.get(rec.db, rec.db) if db_map else rec.db
            index = 0 if standalone else target.node_of(rec.key)
            w = by_index.get(index)
            if w is None:
                w = by_index[index] = self.writer(target.primaries[index].address)
            w.add((rec, to_db, command, payload_size(payload)), size)
            sent += 1
        self.sent = sent
        for rec in batch[:1]:
            counts.to_db[rec.db] = db_map.get(rec.db, rec.db)
        self._redirected()
        self._pace()

    def _pace(self) -> None:
        if self.opts.rate:
            ahead = self.sent / self.opts.rate - (time.monotonic() - self.started)
            if ahead > 0:
                time.sleep(ahead)

    def _redirected(self) -> None:
        """Keys a primary said live elsewhere (a reshard under way): sent where it says, one
        by one (ASKING first for an ASK), up to MAX_HOPS times."""
        for w in list(self.writers.values()):
            moved, w.redirects = w.redirects, []
            for entry, text in moved:
                self._follow(w, entry, text)

    def _follow(self, origin: NodeWriter, entry: Entry, text: str) -> None:
        for _ in range(MAX_HOPS):
            kind, _slot, address = text.split(" ", 2)
            w = self.writer(address)
            w.drain()
            ask = [encode(b"ASKING")] if kind == "ASK" else []
            command = entry[2]
            w.conn.send(b"".join([*ask, *(command if isinstance(command, list) else [command])]))
            reply = w.conn.read(len(ask) + 1)[-1]
            if not (isinstance(reply, Exception) and str(reply).startswith(("MOVED", "ASK"))):
                w._count(entry, reply)
                return
            text = str(reply)
        origin.fail(entry, f"still redirected after {MAX_HOPS} hops: {text}")

    def finish(self) -> None:
        for w in self.writers.values():
            w.drain()
        self._redirected()

    def close(self) -> None:
        for w in self.writers.values():
            w.close()


def _resp(args: list[bytes | list[bytes]]) -> bytes | list[bytes]:
    """ARGS as one RESP command; with a payload in pieces, as pieces (never joined)."""
    if all(isinstance(a, bytes) for a in args):
        return encode(*args)  # type: ignore[arg-type]
    out = [b"*%d\r\n" % len(args)]
    for a in args:
        if isinstance(a, bytes):
            out.append(b"$%d\r\n%b\r\n" % (len(a), a))
        else:
            out += [b"$%d\r\n" % payload_size(a), *a, b"\r\n"]
    return out


def _stream_file(
    stream: Stream, i: Input, done: int, progress: Progress | None, facts: list[FileFacts]
) -> int:
    """Every record of one file into the stream; the uncompressed bytes read."""
    total = i.entry.bytes_raw if i.entry else None

    with open_decompressed(i.path) as fh:

        def take(batch: list[RawKey]) -> None:
            ctime = reader.info.aux.get("ctime", "")
            stream.file_clock_ms = int(ctime) * 1000 if ctime.isdigit() else 0
            stream.take(batch)
            if progress is not None:
                msg = f"restore: {stream.sent:,} keys"
                progress(done + reader.s.offset, total and done + total, msg)

        reader = RawReader(fh, i.path.name, take, batch=stream.batch, version=stream.version)
        facts.append(reader.facts)
        try:
            reader.read()
        finally:
            stream.finish()
    return reader.s.offset


def _prepare(
    target: RestoreTarget, inputs: list[Input], opts: RestoreOptions, notes: list[str]
) -> tuple[int | None, int]:
    """Every check before the first write: dbs, the version rule, occupied dbs. Returns the
    target's RDB version (None: unknown in a dry run) and the payloads' version."""
    dbs = plan.source_dbs(inputs, opts)
    if target.cluster:
        if dbs is None:
            dbs = plan.read_facts(inputs).dbs
        plan.check_cluster_dbs(dbs, opts)
    fv = max(i.rdb_version for i in inputs)
    tv = plan.target_version(target, fv, opts.dry_run)
    if tv is None:
        notes.append(
            "the target's RDB version is not known in a dry run of an empty target (the probe "
            "is a RESTORE, which a dry run never sends): the restore itself checks it first"
        )
    version = fv if tv is None else plan.payload_version(inputs, target, tv, notes)
    if opts.mode == "refuse-nonempty":
        dests = None if dbs is None else {opts.to_db(d) for d in dbs}
        busy = plan.occupied(target, dests)
        if busy and not opts.dry_run:
            raise plan.RestoreRefused(
                f"the target already holds keys ({'; '.join(busy)}); nothing was written",
                "--merge adds the backup's keys beside them (existing keys are kept), "
                "--replace overwrites the keys the backup also has",
            )
        notes += [f"would be refused: {b} (give --merge or --replace)" for b in busy]
    return tv, version


def restore(
    spec: ConnectionSpec,
    source: Path,
    opts: RestoreOptions,
    progress: Progress | None = None,
    confirm: Confirm | None = None,
) -> RestoreReport:
    """Restore the backup at SOURCE into the server (or cluster) of SPEC."""
    notes: list[str] = []
    inputs = plan.checked(plan.restore_inputs(source), opts.partial)
    target = RestoreTarget(spec)
    tv, version = _prepare(target, inputs, opts, notes)
    if confirm is not None and not opts.dry_run:
        confirm(_summary(target, inputs, opts))
    stream = Stream(target, opts, version)
    error: str | None = None
    interrupted = False
    facts: list[FileFacts] = []
    done = 0
    try:
        for i in inputs:
            done += _stream_file(stream, i, done, progress, facts)
    except RdbError as exc:
        error = f"stopped reading: {exc}; every key before it was restored whole"
    except KeyboardInterrupt:
        interrupted = True
    finally:
        stream.close()
    libraries = next((f.functions for f in facts if f.functions), [])
    if opts.skip_functions or interrupted or error:
        functions = Functions(len(libraries), 0, len(libraries), 0)
    else:
        functions = restore_functions(target, libraries, version, opts.replace, opts.dry_run, notes)
    if any(f.functions_pre_ga for f in facts):
        notes.append("function libraries in the 7.0 release-candidate format were skipped")
    return _report(stream, inputs, opts, tv, version, functions, error, interrupted, notes)


def _summary(target: RestoreTarget, inputs: list[Input], opts: RestoreOptions) -> str:
    """What the confirmation prompt states: from where, into what, how."""
    files = ", ".join(i.path.name for i in inputs)
    nodes = ", ".join(p.address for p in target.primaries)
    how = {
        "replace": "keys the backup also has are OVERWRITTEN",
        "merge": "keys already there are kept",
        "refuse-nonempty": "the destination dbs are empty",
    }[opts.mode]
    return f"restore {files} into {target.target.mode} {nodes} ({how})"


def _report(
    stream: Stream,
    inputs: list[Input],
    opts: RestoreOptions,
    tv: int | None,
    version: int,
    functions: Functions,
    error: str | None,
    interrupted: bool,
    notes: list[str],
) -> RestoreReport:
    counts = stream.counts
    total = counts.total()
    if counts.modules_missing:
        listed = ", ".join(f"{m} ({n:,})" for m, n in sorted(counts.modules_missing.items()))
        notes.append(f"keys of modules the target does not have were skipped: {listed}")
    return RestoreReport(
        target=stream.target.target,
        complete=error is None and not interrupted,
        source=tuple(str(i.path) for i in inputs),
        dry_run=opts.dry_run,
        mode=opts.mode,
        file_rdb_version=max(i.rdb_version for i in inputs),
        target_rdb_version=tv,
        payload_rdb_version=version,
        restored=total.restored,
        bytes=total.bytes,
        seconds=round(time.monotonic() - stream.started, 3),
        skipped=skipped(total),
        failed=total.failed,
        per_db=db_rows(counts),
        per_node=node_rows(counts),
        functions=functions,
        modules_missing=dict(counts.modules_missing),
        failures=tuple(counts.failures),
        interrupted=interrupted,
        error=error,
        notes=tuple(notes),
    )
