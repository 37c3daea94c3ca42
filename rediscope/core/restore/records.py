"""An RDB file as RESTORE payloads: each key's own value bytes, captured as the reader passes
over them, framed as DUMP frames them (type byte, value bytes, the 2-byte RDB version, the
CRC-64 of all that), so no value is decoded or re-encoded on the way to the target."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import IO

import hiredis

from rediscope.core.pipeline.records import Batch
from rediscope.core.rdbfile import compiled
from rediscope.core.rdbfile.check import _MODEL, crc64
from rediscope.core.rdbfile.reader import (
    OP_FUNCTION2,
    OP_FUNCTION_PRE_GA,
    FileInfo,
    RdbReader,
)

#: the value types a server of each RDB version reads (REDIS magic; a later version reads all
#: the earlier ones): 6.2 writes 9, 7.0 10, 7.2 11, 7.4 12
_TYPES_BY_VERSION = {
    9: frozenset({0, 1, 2, 3, 4, 5, 6, 7, 9, 10, 11, 12, 13, 14, 15}),
    10: frozenset({16, 17, 18, 19}),
    11: frozenset({20, 21}),
    12: frozenset({22, 23, 24, 25}),
}
#: value types whose meaning depends on the file's magic (22: Valkey 9's hash with field
#: expiry under VALKEY, Redis 7.4's pre-GA hash metadata under REDIS)
_MAGIC_BOUND = frozenset({22, 23, 24, 25})
_CRC = _MODEL.calc  # Redis's CRC-64, in C (crc64() without its call)
#: value types held in one string (a compact encoding, or a string): TYPE's name for each.
#: A server never writes such a value empty, so it is passed over without a look inside.
_ONE_STRING = {
    0: b"string",
    9: b"hash",
    10: b"list",
    11: b"set",
    12: b"zset",
    13: b"hash",
    16: b"hash",
    17: b"zset",
    20: b"set",
}
_COLLECTIONS = (b"list", b"set", b"zset", b"hash")


def readable_types(rdb_version: int) -> frozenset[int]:
    """The value types a server whose RDB version is RDB_VERSION loads."""
    out: set[int] = set()
    for version, types in _TYPES_BY_VERSION.items():
        if version <= rdb_version:
            out |= types
    return frozenset(out)


def unreadable(types: set[int], magic: str, target_version: int) -> set[int]:
    """The value types of a file (of MAGIC) that a server of TARGET_VERSION cannot load."""
    if magic == "VALKEY":
        return {t for t in types if t in _MAGIC_BOUND or t not in readable_types(12)}
    return {t for t in types if t not in readable_types(target_version)}


def frame(body: bytes, rdb_version: int) -> bytes:
    """BODY (type byte and value bytes) as a DUMP payload of RDB_VERSION."""
    data = body + rdb_version.to_bytes(2, "little")
    return data + crc64(data).to_bytes(8, "little")


@dataclass(slots=True)
class RawKey:
    """One key record as the file holds it."""

    db: int
    key: bytes
    rtype: int  # the RDB value type
    type: bytes  # as TYPE names it (a module value: the module's type name)
    #: as DUMP gives it: type byte, value bytes, RDB version, CRC-64; a big value (BIG) in
    #: the pieces it was read in, so that it is never copied whole on its way out
    payload: bytes | list[bytes]
    expire_ms: int | None  # absolute, ms since the epoch
    idle: int | None  # seconds (LRU)
    freq: int | None  # LFU counter
    module: bool = False
    empty: bool = False  # an empty collection: a server drops it on load


@dataclass(frozen=True, slots=True)
class Framed:
    """Key records of one db as their RESTORE commands, joined (the compiled reader frames
    them, no per-key Python work): plain keys, no LRU/LFU, any TTL still ahead."""

    db: int
    commands: bytes
    keys: int
    size: int  # the payloads' bytes
    expired: int = 0  # keys passed over: their TTL had run out

    def records(self) -> list[tuple[RawKey, bytes]]:
        """Each command's record and its own bytes (read back only when a reply is not OK)."""
        reader = hiredis.Reader()
        reader.feed(self.commands)
        out = []
        for _ in range(self.keys):
            args = reader.gets()
            _restore, key, at, payload = args[:4]
            expire = int(at) if len(args) == 5 else None
            rec = RawKey(
                self.db, key, payload[0], _ONE_STRING[payload[0]], payload, expire, None, None
            )
            out.append((rec, _resp_of(args)))
        return out


def _resp_of(args: list[bytes]) -> bytes:
    return b"*%d\r\n" % len(args) + b"".join(b"$%d\r\n%b\r\n" % (len(a), a) for a in args)


#: keys and bytes per Framed at most; whether a key whose TTL ran out is passed over (counted)
FrameLimits = tuple[int, int, bool]


@dataclass
class FileFacts:
    """What a reading of the whole file found (dbs, value types, functions)."""

    info: FileInfo
    dbs: set[int] = field(default_factory=set)
    rtypes: set[int] = field(default_factory=set)
    functions: list[bytes] = field(default_factory=list)  # FUNCTION RESTORE bodies
    functions_pre_ga: int = 0  # 7.0 release-candidate libraries: no server restores them


def _pieces(rtype: int, parts: list[bytes], tail: bytes) -> list[bytes]:
    """A payload in pieces (a value longer than the read buffer), its CRC-64 computed across
    them."""
    head = bytes((rtype,))
    crc = _CRC(head, 0)
    for part in parts:
        crc = _CRC(part, crc)
    crc = _CRC(tail, crc)
    return [head, *parts, tail + crc.to_bytes(8, "little")]


def payload_size(payload: bytes | list[bytes]) -> int:
    return len(payload) if isinstance(payload, bytes) else sum(len(p) for p in payload)


class RawReader(RdbReader):
    """The RDB reader, yielding RawKey batches (lists) instead of analysis rows."""

    fast = False  # every record's bytes are captured here

    def __init__(
        self,
        fh: IO[bytes],
        label: str,
        sink: Callable[[list[RawKey] | Framed], None],
        batch: int = 500,
        version: int | None = None,
        frame: FrameLimits | None = None,
    ) -> None:
        super().__init__(fh, label, lambda _i: 0, self._never)
        self.sink = sink
        self.batch_size = batch
        self.version = version  # the payloads' RDB version (None: the file's own)
        self._tail = b""
        self.facts = FileFacts(self.info)
        self._out: list[RawKey] = []
        #: the plain keys framed in C, up to these limits per Framed (None: every key here)
        self.frame = frame if compiled.restores is not None else None
        self._f_parts: list[bytes] = []  # framed RESTOREs not yet handed on, of self._db
        self._f_keys = self._f_bytes = self._f_size = self._f_bits = self._f_expired = 0

    @staticmethod
    def _never(_b: Batch) -> None:  # the analysis rows are not made here
        return None

    def _flush(self) -> None:  # the reader's: at a SELECTDB, at the end
        self._flush_framed()
        self._flush_out()

    def _flush_out(self) -> None:
        if self._out:
            out, self._out = self._out, []
            self.sink(out)

    def _records(self) -> None:
        if self.frame is None:
            super()._records()
            return
        record = self._record
        while True:  # the compiled loop up to a record it leaves here, that record, again
            self._framed()
            if not record():
                return

    def _framed(self) -> None:
        """The compiled loop from here: its RESTOREs kept until there are enough for a
        request (a record it leaves to the code here does not cut one short)."""
        restores, (keys_max, bytes_max, skip) = compiled.restores, self.frame or (0, 0, False)
        assert restores is not None
        s, facts, first = self.s, self.facts, self._first_opcode
        tail = self._tail or self._version_tail()
        while True:
            keys_left, bytes_left = keys_max - self._f_keys, bytes_max - self._f_bytes
            now = int(time.time() * 1000)
            pos, commands, keys, size, bits, expired = restores(
                s.buf, s.pos, first, now, skip, tail, keys_left, bytes_left
            )
            if pos == s.pos:
                return
            s.pos, self._key = pos, None
            self.info.keys += keys + expired
            facts.dbs.add(self._db)
            if bits | self._f_bits != self._f_bits:
                self._f_bits |= bits
                facts.rtypes.update(t for t in range(64) if bits >> t & 1)
            self._f_parts.append(commands)
            self._f_keys += keys
            self._f_bytes += len(commands)
            self._f_size += size
            self._f_expired += expired
            if self._f_keys >= keys_max or self._f_bytes >= bytes_max:
                self._flush_framed()

    def _flush_framed(self) -> None:
        if self._f_keys or self._f_expired:
            parts, self._f_parts = self._f_parts, []
            framed = Framed(self._db, b"".join(parts), self._f_keys, self._f_size, self._f_expired)
            self._f_keys = self._f_bytes = self._f_size = self._f_expired = 0
            self.sink(framed)

    def _key_record(
        self, rtype: int, expire_ms: int | None, idle: int | None, freq: int | None
    ) -> None:
        s = self.s
        key = s.string()
        self._key = key
        s.capture()
        tname = _ONE_STRING.get(rtype)
        module = empty = False
        if tname is not None:  # the value is one string: passed over, not looked into
            s.string_size()
        else:
            read = self.readers.get(rtype)
            value = read(s) if read is not None else self._value(rtype)
            tname, module = value.type, value.encoding == b"module"
            empty = value.elements == 0 and tname in _COLLECTIONS
        parts = s.captured_parts()
        tail = self._tail or self._version_tail()
        payload: bytes | list[bytes]
        if len(parts) == 1:  # the value was in the read buffer: one piece (most keys)
            data = b"%c%b%b" % (rtype, parts[0], tail)
            payload = data + _CRC(data, 0).to_bytes(8, "little")
        else:
            payload = _pieces(rtype, parts, tail)
        self.info.keys += 1
        facts = self.facts
        facts.dbs.add(self._db)
        facts.rtypes.add(rtype)
        out = self._out
        out.append(
            RawKey(self._db, key, rtype, tname, payload, expire_ms, idle, freq, module, empty)
        )
        if len(out) >= self.batch_size:
            self._flush_out()

    def _version_tail(self) -> bytes:
        self._tail = (self.version or self.info.rdb_version).to_bytes(2, "little")
        return self._tail

    def _opcode(self, op: int) -> bool:
        if op == OP_FUNCTION2:
            self._key = None
            self.s.capture()
            self.s.string_size()
            self.facts.functions.append(bytes((OP_FUNCTION2,)) + self.s.captured())
            self.info.functions += 1
            return True
        if op == OP_FUNCTION_PRE_GA:
            self.facts.functions_pre_ga += 1
        return super()._opcode(op)
