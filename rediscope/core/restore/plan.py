"""Everything `backup restore` checks before its first write: the files (intact), the target
(a primary; the dbs it can hold), the RDB version rule, and that no destination db holds keys
unless --merge or --replace says what to do with them."""

from __future__ import annotations

import zlib
from dataclasses import dataclass, field
from pathlib import Path

from rediscope.core.backup.catalog import deep_count
from rediscope.core.backup.manifest import BackupFile
from rediscope.core.connection import connect
from rediscope.core.info import info, keyspace_dbs
from rediscope.core.rdbfile.check import RdbError, check_file, open_decompressed
from rediscope.core.rdbfile.reader import ChecksumMismatch, RdbCorrupt
from rediscope.core.restore.records import FileFacts, RawReader, unreadable
from rediscope.core.restore.target import RestoreTarget, dump_version, rdb_version
from rediscope.errors import RediscopeError, UsageError

#: the RDB header: magic and version (REDIS0012, VALKEY080)
_HEADER = 9


class RestoreRefused(RediscopeError):
    """A check before the first write failed: nothing was written."""


@dataclass(frozen=True)
class RestoreOptions:
    match: str | None = None
    db: int | None = None  # only this db of the file
    type: str | None = None
    db_map: dict[int, int] = field(default_factory=dict)  # file db -> target db
    merge: bool = False
    replace: bool = False
    dry_run: bool = False
    keep_expired: bool = False
    skip_functions: bool = False
    rate: float | None = None  # keys per second
    partial: bool = False  # a damaged file: restore the records before the damage

    @property
    def mode(self) -> str:
        return "replace" if self.replace else "merge" if self.merge else "refuse-nonempty"

    def to_db(self, db: int) -> int:
        return self.db_map.get(db, db)


@dataclass(frozen=True)
class Input:
    path: Path
    entry: BackupFile | None  # its manifest entry (a file of a backup rediscope took)
    rdb_version: int = 0
    magic: str = "REDIS"
    crc_checked: bool = False  # its CRC-64 was read and matches (its values are verified)
    damaged: bool = False  # its check failed (restored with --partial up to the damage)

    @property
    def dbs(self) -> set[int] | None:
        """The dbs holding keys when the backup was taken (None: not known)."""
        if self.entry is None:
            return None
        return {int(k[2:]) for k, n in self.entry.keys.items() if k[2:].isdigit() and n}


def checked(inputs: list[Input], partial: bool) -> list[Input]:
    """Each file read through once (CRC-64, EOF) before anything is written: a damaged file
    is named with the offset of the first record that does not read, and refused."""
    out = []
    for i in inputs:
        try:
            check = check_file(i.path)
        except RdbError as exc:
            if partial:
                out.append(_header_only(i))
                continue
            where, kind = _where_damaged(i.path, exc)
            raise RestoreRefused(
                f"{i.path.name}: {where}; nothing was written", _HINTS[kind]
            ) from None
        out.append(Input(i.path, i.entry, check.version, check.magic, check.crc_checked))
    return out


def _header_only(i: Input) -> Input:
    """A damaged file's RDB version and magic from its header (--partial)."""
    try:
        with open_decompressed(i.path) as fh:
            head = fh.read(_HEADER)
    except (OSError, EOFError, zlib.error) as exc:
        raise RestoreRefused(f"{i.path.name} cannot be read: {exc}; nothing was written") from None
    magic = "VALKEY" if head.startswith(b"VALKEY") else "REDIS"
    digits = head[len(magic) :]
    if not digits.isdigit():
        raise RestoreRefused(f"{i.path.name} is not an RDB file; nothing was written")
    return Input(i.path, i.entry, int(digits), magic, damaged=True)


#: what --partial would do, by where the damage is
_HINTS = {
    "record": "--partial restores the keys before the damage (unverified)",
    "value": "every record reads, so the damage is inside a value and cannot be located: "
    "--partial restores every key, counted unverified",
    "file": None,  # not an RDB file at all: nothing to restore
}


def _where_damaged(path: Path, exc: RdbError) -> tuple[str, str]:
    """Where the damage is (the first record that does not read), and what kind: a record,
    somewhere inside a value (every record reads, only the checksum tells), or the header."""
    try:
        deep_count(path)
    except ChecksumMismatch:
        return str(exc), "value"
    except RdbCorrupt as located:
        return str(located), "file" if located.offset <= _HEADER else "record"
    except RdbError as located:
        return str(located), "record"
    except (OSError, EOFError, zlib.error):  # the container: past its start, or not at all
        return str(exc), "record" if _readable_head(path) else "file"
    return str(exc), "value"


def _readable_head(path: Path) -> bool:
    try:
        with open_decompressed(path) as fh:
            return fh.read(_HEADER).startswith((b"REDIS", b"VALKEY"))
    except (OSError, EOFError, zlib.error):
        return False


def read_facts(inputs: list[Input]) -> FileFacts:
    """Every record of every file read once, for its dbs and value types (nothing kept)."""
    merged: FileFacts | None = None
    for i in inputs:
        with open_decompressed(i.path) as fh:
            reader = RawReader(fh, i.path.name, lambda _b: None)
            try:
                reader.read()
            except RdbError:
                if not i.damaged:  # --partial: the types before the damage
                    raise
        facts = reader.facts
        if merged is None:
            merged = facts
        else:
            merged.dbs |= facts.dbs
            merged.rtypes |= facts.rtypes
    assert merged is not None
    return merged


def source_dbs(inputs: list[Input], opts: RestoreOptions) -> set[int] | None:
    """The file dbs the restore writes from (None: not known without reading the files)."""
    if opts.db is not None:
        return {opts.db}
    known = [i.dbs for i in inputs]
    if any(d is None for d in known):
        return None
    return set().union(*(d for d in known if d is not None))


def check_cluster_dbs(dbs: set[int], opts: RestoreOptions) -> None:
    """A cluster has db 0 only: keys of another db need --db-map to send them there."""
    others = sorted(d for d in dbs if opts.to_db(d) != 0)
    if others:
        listed = ", ".join(str(d) for d in others)
        raise UsageError(
            f"the backup has keys in db {listed}, and a cluster has only db 0",
            f"--db-map {','.join(f'{d}:0' for d in others)} sends them to db 0, "
            "or --from-db 0 restores db 0 alone",
        )


def occupied(target: RestoreTarget, dests: set[int] | None) -> list[str]:
    """Destination dbs that hold keys now (DESTS None: any db), as 'host:port db N: K keys'."""
    out = []
    for p in target.primaries:
        conn = connect(p.spec)
        try:
            sizes = keyspace_dbs(info(conn, "keyspace"))
        finally:
            conn.close()
        for db, n in sorted(sizes.items()):
            if n and (dests is None or db in dests):
                out.append(f"{p.address} db {db}: {n:,} keys")
    return out


def target_version(target: RestoreTarget, want: int, dry_run: bool) -> int | None:
    """The oldest RDB version any primary loads (a dry run asks a DUMP, never a RESTORE:
    None when no primary holds a key to DUMP)."""
    if dry_run:
        seen = [dump_version(target, i) for i in range(len(target.primaries))]
        known = [v for v in seen if v is not None]
        return min(known) if known else None
    return min(rdb_version(target, i, want) for i in range(len(target.primaries)))


def payload_version(inputs: list[Input], target: RestoreTarget, tv: int, notes: list[str]) -> int:
    """The version written into each payload: the file's, or (a target older than the file
    that reads every value type the file uses) the target's. Else refused, naming both."""
    fv = max(i.rdb_version for i in inputs)
    if tv >= fv:
        return fv
    magic = "VALKEY" if any(i.magic == "VALKEY" for i in inputs) else "REDIS"
    facts = read_facts(inputs)
    bad = unreadable(facts.rtypes, magic, tv)
    server = f"{target.identity.name} {target.identity.version}"
    aux = facts.info.aux
    writer = (aux.get("valkey-ver") and f"valkey {aux['valkey-ver']}") or aux.get("redis-ver")
    written = f" (written by {'redis ' if writer and writer[0].isdigit() else ''}{writer})"
    if bad:
        raise RestoreRefused(
            f"the backup is RDB version {fv}{written if writer else ''} and the target "
            f"({server}) loads RDB version {tv} "
            f"at most: value types {sorted(bad)} in the file are newer than it reads; "
            "nothing was written",
            "restore into a server of the backup's version or newer",
        )
    notes.append(
        f"the backup is RDB version {fv}, the target ({server}) loads {tv}: every key uses "
        f"encodings it reads, so payloads are sent as RDB version {tv}"
    )
    return tv
