"""Every check `backup restore` makes before its first write, the same for its dry run: the
dbs the backup writes into (each one there on the target), the RDB version rule, and whether
a destination db already holds keys."""

from __future__ import annotations

import zlib
from dataclasses import dataclass

from rediscope.core.pipeline.records import Batch
from rediscope.core.rdbfile.check import RdbError, open_decompressed
from rediscope.core.rdbfile.reader import RdbReader
from rediscope.core.restore import plan
from rediscope.core.restore.plan import Input, RestoreOptions
from rediscope.core.restore.target import RestoreTarget, missing_dbs
from rediscope.errors import UsageError

_BUSY_HINT = (
    "--merge adds the backup's keys beside them (existing keys are kept), "
    "--replace overwrites the keys the backup also has"
)


@dataclass(frozen=True)
class Prepared:
    target_version: int | None  # None: not known (a dry run of an empty target)
    version: int  # the payloads' RDB version
    refused: str | None = None  # a dry run: why the restore itself would be refused
    dbs: frozenset[int] = frozenset()  # the backup's dbs the restore writes from


def file_dbs(inputs: list[Input]) -> set[int]:
    """The dbs holding keys in the files, read through (files without a manifest). A damaged
    file (--partial) gives the dbs before its damage: the restore stops there too."""
    dbs: set[int] = set()

    def seen(batch: Batch) -> None:
        dbs.add(batch.db)

    for i in inputs:
        try:
            with open_decompressed(i.path) as fh:
                RdbReader(fh, i.path.name, lambda _i: 0, seen).read()
        except (RdbError, OSError, EOFError, zlib.error):
            if not i.damaged:
                raise
    return dbs


def check_target_dbs(target: RestoreTarget, dbs: set[int], opts: RestoreOptions) -> None:
    """Every destination db is one the target has (a standalone server has `databases` of
    them); else refused naming them, before anything is written."""
    found = missing_dbs(target, {opts.to_db(d) for d in dbs})
    if found is None:
        return
    address, lacking, count = found
    whence = [
        f"db {d} of the backup" + (f" (--db-map {d}:{opts.to_db(d)})" if d in opts.db_map else "")
        for d in sorted(dbs)
        if opts.to_db(d) in lacking
    ]
    listed = ", ".join(str(d) for d in lacking)
    raise UsageError(
        f"the target {address} has dbs 0-{count - 1} (databases {count}); the restore would "
        f"write into db {listed}, from {', '.join(whence)}; nothing was written",
        f"--db-map FROM:TO sends a db of the backup into one the target has (0 to {count - 1}), "
        "--from-db N (-n) restores one db of the backup alone",
    )


def _check_from_db(inputs: list[Input], opts: RestoreOptions) -> None:
    """-n/--from-db N of a backup whose manifest says it has no keys in db N: refused, naming
    the dbs it has (a file without a manifest: the restore's count says so, afterwards)."""
    known = [i.dbs for i in inputs]
    if opts.db is None or any(d is None for d in known):
        return
    have: set[int] = set().union(*(d for d in known if d is not None))
    if opts.db not in have:
        raise plan.RestoreRefused(
            f"-n/--from-db {opts.db} matches nothing: the backup has no keys in db {opts.db} "
            f"({has_keys_in(have)}); nothing was written",
            "-n/--from-db picks a db of the backup; --db-map FROM:TO picks the target's",
        )


def _check_db_map(inputs: list[Input], opts: RestoreOptions, have: set[int] | None) -> None:
    """Every FROM of --db-map FROM:TO is a db the backup holds keys in (its manifest, else
    the first pass over the files; HAVE: already known); else a usage error naming the dbs
    it has, before anything is written."""
    if not opts.db_map:
        return
    if have is None:
        known = [i.dbs for i in inputs]
        if all(d is not None for d in known):
            have = set().union(*(d for d in known if d is not None))
        else:
            have = file_dbs(inputs)
    lacking = sorted(d for d in opts.db_map if d not in have)
    if not lacking:
        return
    pairs = ",".join(f"{d}:{opts.db_map[d]}" for d in lacking)
    damaged = " before its damage" if any(i.damaged for i in inputs) else ""
    raise UsageError(
        f"--db-map {pairs}: the backup has no keys in db {', '.join(map(str, lacking))}"
        f"{damaged} ({has_keys_in(have)}); nothing was written",
        "--db-map FROM:TO sends db FROM of the backup into db TO of the target",
    )


def has_keys_in(dbs: set[int] | frozenset[int]) -> str:
    """ "it has keys in dbs 0, 1" (or "it holds no keys")."""
    if not dbs:
        return "it holds no keys"
    return f"it has keys in db{'s' if len(dbs) > 1 else ''} {', '.join(map(str, sorted(dbs)))}"


def prepare(
    target: RestoreTarget, inputs: list[Input], opts: RestoreOptions, notes: list[str]
) -> Prepared:
    """Every check before the first write. A dry run makes the same ones and raises the same
    refusals, except that an occupied target is reported (`refused`) with the plan."""
    _check_from_db(inputs, opts)
    dbs = plan.source_dbs(inputs, opts)
    if dbs is None:
        dbs = file_dbs(inputs)
    _check_db_map(inputs, opts, dbs if opts.db is None else None)
    if target.cluster:
        plan.check_cluster_dbs(dbs, opts)
    else:
        check_target_dbs(target, dbs, opts)
    fv = max(i.rdb_version for i in inputs)
    tv = plan.target_version(target, fv, opts.dry_run)
    if tv is None:
        notes.append(
            "the target's RDB version is not known in a dry run of an empty target (the probe "
            "is a RESTORE, which a dry run never sends): the restore itself checks it first"
        )
    version = fv if tv is None else plan.payload_version(inputs, target, tv, notes)
    refused = None
    if opts.mode == "refuse-nonempty":
        busy = plan.occupied(target, {opts.to_db(d) for d in dbs})
        if busy:
            refused = f"the target already holds keys ({'; '.join(busy)})"
            if not opts.dry_run:
                raise plan.RestoreRefused(f"{refused}; nothing was written", _BUSY_HINT)
    return Prepared(tv, version, refused, frozenset(dbs))
