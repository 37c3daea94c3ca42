"""What `backup restore` says in words: the question asked before the first write, and why a
restore whose filters matched none of the backup's keys is an error (nothing was restored)."""

from __future__ import annotations

from rediscope.core.restore.plan import Input, RestoreOptions
from rediscope.core.restore.prepare import Prepared, has_keys_in
from rediscope.core.restore.target import RestoreTarget
from rediscope.core.restore.writer import Counts
from rediscope.core.units import plural

_HOW = {
    "replace": ", OVERWRITING the keys the backup also has",
    "merge": ", keeping the keys already there",
    "refuse-nonempty": "",
}


def _keys(inputs: list[Input], opts: RestoreOptions, dbs: frozenset[int]) -> str:
    """The keys to restore, from the manifests ("38,489 keys", "up to 120 keys" under
    --match/--type); the files named where no manifest counts them."""
    if any(i.entry is None for i in inputs):
        return "the keys of " + ", ".join(i.path.name for i in inputs)
    n = sum(
        count
        for i in inputs
        if i.entry is not None
        for name, count in i.entry.keys.items()
        if name[2:].isdigit() and int(name[2:]) in dbs
    )
    upto = "up to " if opts.match or opts.type else ""
    return upto + plural(n, "key")


def question(
    target: RestoreTarget, inputs: list[Input], opts: RestoreOptions, ready: Prepared
) -> str:
    """'Restore 38,489 keys into redis://127.0.0.1:6379 (db 0)': what, where, how."""
    dests = sorted({opts.to_db(d) for d in ready.dbs})
    where = target.target.url
    if target.cluster:
        where = f"the cluster of {', '.join(p.address for p in target.primaries)}"
    into = f" (db{'s' if len(dests) > 1 else ''} {', '.join(map(str, dests))})" if dests else ""
    return f"Restore {_keys(inputs, opts, ready.dbs)} into {where}{into}{_HOW[opts.mode]}"


def matched_nothing(opts: RestoreOptions, counts: Counts) -> str | None:
    """The error of a restore whose filters (-n/--from-db, --match, --type) left out every key
    the backup has (None: they matched some, or there is no filter)."""
    t = counts.total()
    if not t.filtered or t.filtered != sum(vars(t).values()) - t.bytes:
        return None
    given = [
        f"-n/--from-db {opts.db}" if opts.db is not None else "",
        f"--match {opts.match!r}" if opts.match else "",
        f"--type {opts.type}" if opts.type else "",
    ]
    dbs = frozenset(counts.per_db)
    return (
        f"{' '.join(g for g in given if g)} matched none of the backup's "
        f"{plural(t.filtered, 'key')} ({has_keys_in(dbs)}): nothing was restored"
    )
