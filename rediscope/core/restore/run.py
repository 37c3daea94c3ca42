"""`backup restore`: the checks of prepare.py, then every key of every file streamed through
the RDB reader into pipelined RESTOREs on the primary that owns it, paced, with progress.
However it ends (the file's damage, a primary that stops answering, Ctrl-C) the report says
what the target confirmed."""

from __future__ import annotations

import dataclasses
import time
import zlib
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from rediscope.core.connection import ConnectionSpec
from rediscope.core.rdbfile.check import RdbError, open_decompressed
from rediscope.core.rdbfile.reader import ChecksumMismatch
from rediscope.core.restore import plan
from rediscope.core.restore.ask import matched_nothing, question
from rediscope.core.restore.functions import restore_functions
from rediscope.core.restore.integrity import integrity
from rediscope.core.restore.plan import Input, RestoreOptions
from rediscope.core.restore.prepare import Prepared, prepare
from rediscope.core.restore.records import FileFacts, Framed, RawKey, RawReader
from rediscope.core.restore.report import (
    Functions,
    RestoreReport,
    db_rows,
    node_rows,
    skipped,
)
from rediscope.core.restore.source import passed_over_warning, restore_inputs
from rediscope.core.restore.stream import Stream
from rediscope.core.restore.target import RestoreTarget
from rediscope.core.restore.writer import TargetLost

Progress = Callable[..., None]  # (bytes done, bytes in all or None, status)
Confirm = Callable[[str], None]  # raises to stop (the prompt's "no")
Warn = Callable[[str], None]  # said before the first write
_UNVERIFIED = "unverified: the file's CRC-64, which covers every value, does not vouch for them"


@dataclass
class Ended:
    """How the writing ended: why it stopped early, and the keys no checksum vouches for."""

    error: str | None = None
    interrupted: bool = False
    unverified: int = 0
    notes: list[str] = field(default_factory=list)


def _stream_file(
    stream: Stream, i: Input, done: int, progress: Progress | None, facts: list[FileFacts]
) -> int:
    """Every record of one file into the stream; the uncompressed bytes read."""
    total = i.entry.bytes_raw if i.entry else None

    with open_decompressed(i.path) as fh:

        def take(batch: list[RawKey] | Framed) -> None:
            ctime = reader.info.aux.get("ctime", "")
            stream.file_clock_ms = int(ctime) * 1000 if ctime.isdigit() else 0
            stream.take(batch)
            if progress is not None:
                msg = f"restore: {stream.sent:,} keys"
                progress(done + reader.s.offset, total and done + total, msg)

        reader = RawReader(
            fh,
            i.path.name,
            take,
            batch=stream.batch,
            version=stream.version,
            frame=stream.frame_limits(),
        )
        facts.append(reader.facts)
        try:
            reader.read()
        finally:
            stream.finish()
    return reader.s.offset


def _write_file(
    stream: Stream,
    i: Input,
    done: int,
    progress: Progress | None,
    facts: list[FileFacts],
    end: Ended,
) -> int:
    """One file written; END says why it stopped early. The uncompressed bytes read."""
    before = stream.counts.total().restored
    read = 0
    try:
        read = _stream_file(stream, i, done, progress, facts)
    except ChecksumMismatch as exc:  # every record read: the damage is inside a value
        end.error = (
            f"{i.path.name}: {exc}; every record reads, so where the damage is cannot be told"
        )
    except RdbError as exc:
        end.error = f"stopped reading {i.path.name}: {exc}"
    except (OSError, EOFError, zlib.error) as exc:  # the writers' socket errors are TargetLost
        end.error = f"stopped reading {i.path.name}: cannot decompress: {exc}"
    except TargetLost:
        pass  # named below: a primary lost while draining (Stream.finish) is noted, not raised
    except KeyboardInterrupt:
        end.interrupted = True
    t = stream.counts.total()
    if stream.counts.lost:
        lost = (
            f"{'; '.join(stream.counts.lost)}: the restore stopped there with {t.restored:,} "
            f"keys confirmed and {t.unconfirmed:,} sent without a reply (the target may hold them)"
        )
        end.error = lost if end.error is None else f"{end.error}; {lost}"
    n = t.restored - before
    if not i.crc_checked:
        end.unverified += n
        if end.error and i.damaged and n:
            end.error += f"; the {n:,} keys restored from it are {_UNVERIFIED}"
        elif not end.error:
            end.notes.append(
                f"{i.path.name} has no CRC-64 (written with rdbchecksum no): the {n:,} keys "
                "restored from it are unverified"
            )
    return read


def restore(
    spec: ConnectionSpec,
    source: Path,
    opts: RestoreOptions,
    progress: Progress | None = None,
    confirm: Confirm | None = None,
    warn: Warn | None = None,
) -> RestoreReport:
    """Restore the backup at SOURCE into the server (or cluster) of SPEC. WARN is told,
    before anything is written, that the backup is damaged and what vouches for it instead;
    CONFIRM is asked the question (before any progress is drawn)."""
    notes: list[str] = []
    picked, passed = restore_inputs(source)
    inputs = plan.checked(picked, opts.partial)
    checked = integrity(inputs)
    for warning in (passed_over_warning(passed), checked.warning()):
        if warning and warn is not None:
            warn(warning)
    target = RestoreTarget(spec)
    ready = prepare(target, inputs, opts, notes)
    if confirm is not None and not opts.dry_run:
        confirm(question(target, inputs, opts, ready))
    stream = Stream(target, opts, ready.version)
    end = Ended(notes=notes)
    facts: list[FileFacts] = []
    done = 0
    try:
        for i in inputs:
            done += _write_file(stream, i, done, progress, facts, end)
            if end.error or end.interrupted:
                break
    finally:
        stream.close()
    if end.error is None and not end.interrupted:
        end.error = matched_nothing(opts, stream.counts)
    libraries = next((f.functions for f in facts if f.functions), [])
    if opts.skip_functions or end.interrupted or end.error:
        functions = Functions(len(libraries), 0, len(libraries), 0)
    else:
        functions = restore_functions(
            target, libraries, ready.version, opts.replace, opts.dry_run, notes
        )
    if any(f.functions_pre_ga for f in facts):
        notes.append("function libraries in the 7.0 release-candidate format were skipped")
    report = _report(stream, inputs, opts, ready, functions, end, notes)
    return dataclasses.replace(
        report, backup_problems=checked.problems, checks=checked.checks, passed_over=passed
    )


def _report(
    stream: Stream,
    inputs: list[Input],
    opts: RestoreOptions,
    ready: Prepared,
    functions: Functions,
    end: Ended,
    notes: list[str],
) -> RestoreReport:
    counts = stream.counts
    total = counts.total()
    if counts.modules_missing:
        listed = ", ".join(f"{m} ({n:,})" for m, n in sorted(counts.modules_missing.items()))
        notes.append(f"keys of modules the target does not have were skipped: {listed}")
    return RestoreReport(
        target=stream.target.target,
        complete=end.error is None and not end.interrupted and ready.refused is None,
        source=tuple(str(i.path) for i in inputs),
        dry_run=opts.dry_run,
        mode=opts.mode,
        file_rdb_version=max(i.rdb_version for i in inputs),
        target_rdb_version=ready.target_version,
        payload_rdb_version=ready.version,
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
        failures_truncated=total.failed > len(counts.failures),
        unconfirmed=total.unconfirmed,
        unverified=end.unverified,
        interrupted=end.interrupted,
        error=end.error,
        refused=ready.refused,
        notes=tuple(notes),
    )
