"""The opcode loop of an RDB file: header, aux fields, functions, module aux, slot info,
db selection, expiry/LRU/LFU prefixes, one record per key, EOF and the CRC-64 trailer."""

from __future__ import annotations

import functools
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import IO, Any

from rediscope.core.keynames import display_key
from rediscope.core.pipeline.records import Batch
from rediscope.core.rdbfile import compiled, memest
from rediscope.core.rdbfile.check import RdbError, RdbTooNew, check_version
from rediscope.core.rdbfile.layout import REDIS_7, layout_of
from rediscope.core.rdbfile.memest import SDS
from rediscope.core.rdbfile.modules import module_value
from rediscope.core.rdbfile.stream import ByteStream, Malformed, Truncated
from rediscope.core.rdbfile.values import READERS, VALKEY_READERS, Value

OP_SLOT_IMPORT = 243  # Valkey 9: a slot import in progress (mandatory under VALKEY magic)
OP_SLOT_INFO, OP_FUNCTION2, OP_FUNCTION_PRE_GA, OP_MODULE_AUX = 244, 245, 246, 247
OP_IDLE, OP_FREQ, OP_AUX, OP_RESIZEDB = 248, 249, 250, 251
OP_EXPIRETIME_MS, OP_EXPIRETIME, OP_SELECTDB, OP_EOF = 252, 253, 254, 255
BATCH = 1000
_COLLECTIONS = (b"list", b"set", b"zset", b"hash")
_MAGIC = re.compile(rb"^(REDIS(\d{4})|VALKEY(\d{3}))$")
_MODULE_CHARSET = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"


class RdbCorrupt(RdbError):
    """The file cannot be read past OFFSET; what was read before it stays valid."""

    def __init__(self, message: str, offset: int, key: bytes | None) -> None:
        where = f"at byte {offset:,}" + (f" (key {display_key(key)})" if key is not None else "")
        super().__init__(f"{message} {where}")
        self.offset = offset
        self.key = key


class ChecksumMismatch(RdbCorrupt):
    """Every record read, and the CRC-64 trailer does not match them: the damage is inside
    a value, and where cannot be told."""


@dataclass
class FileInfo:
    """What the file says of itself besides its keys."""

    magic: str = ""
    rdb_version: int = 0
    aux: dict[str, str] = field(default_factory=dict)
    functions: int = 0
    module_aux: list[str] = field(default_factory=list)
    slot_info: int = 0
    keys: int = 0
    keys_expired: int = 0
    modules: dict[str, int] = field(default_factory=dict)  # module type -> keys
    keys_empty: int = 0  # empty collections (a server refuses or drops them)
    db_sizes: dict[int, int] = field(default_factory=dict)  # RESIZEDB: keys per db
    keys_with_idle: int = 0
    keys_with_freq: int = 0
    checksum: str | None = None  # the CRC-64 trailer as hex; None: absent (RDB < 5) or 0
    bytes_read: int = 0
    complete: bool = False


@functools.lru_cache(maxsize=256)  # a file holds a few module types, each on many keys
def module_name(module_id: int) -> str:
    """The 9-character type name packed in a module id (its low 10 bits are the encver)."""
    module_id >>= 10
    out = []
    for _ in range(9):
        out.append(_MODULE_CHARSET[module_id & 63])
        module_id >>= 6
    return "".join(reversed(out))


def skip_module_value(s: ByteStream) -> None:
    """A module value of RDB type 7 (or module aux): opcodes until EOF, any module."""
    while True:
        op = s.length()
        if op == 0:
            return
        if op in (1, 2):
            s.length()
        elif op == 3:
            s.skip(4)
        elif op == 4:
            s.skip(8)
        elif op == 5:
            s.string_size()
        else:
            raise Malformed(f"unknown module opcode {op}")


def _listpack_lists(aux: dict[str, str]) -> bool:
    """Whether the writer keeps small lists as listpacks (Redis 7.2+, every Valkey)."""
    if "valkey-ver" in aux:
        return True
    parts = aux.get("redis-ver", "0").split(".")
    try:
        return (int(parts[0]), int(parts[1]) if len(parts) > 1 else 0) >= (7, 2)
    except ValueError:
        return False


class RdbReader:
    """Reads one RDB stream; `emit` gets the key batches, `info` the rest."""

    #: whether the compiled loop may read the key records (a subclass that does more per
    #: record than _key_record here says no)
    fast = True

    def __init__(
        self,
        fh: IO[bytes],
        label: str,
        now_ms: Callable[[FileInfo], int],
        emit: Callable[[Batch], None],
    ) -> None:
        self.s = ByteStream(fh)
        self.label = label
        self.now_ms = now_ms
        self.emit = emit
        self.info = FileInfo()
        self.readers = READERS
        self._key: bytes | None = None
        self._db = 0
        self._cols = _columns()
        self._clock: int | None = None
        self._first_opcode = OP_SLOT_INFO  # below it, a byte is a value type
        self.layout = REDIS_7  # the writer's memory layout (from the aux fields)

    def _flush(self) -> None:
        """The rows read so far as one batch (columns, as the collectors take them), each
        key's memory estimate corrected for the writer's layout."""
        if self._cols[0]:
            cols, self._cols = self._cols, _columns()
            layout = self.layout
            if layout is not REDIS_7:
                cols[2][:] = layout.correct_all(cols[1], cols[5], cols[3], cols[2])
            self.emit(Batch(self.label, self._db, *cols))

    def read(self) -> FileInfo:
        """Every record; RdbCorrupt naming the offset (and key) where the data goes wrong."""
        try:
            self._header()
            self._records()
            self._trailer()
            if not self.s.at_end():
                raise Malformed(
                    "trailing data after the RDB's end (two files or compressed members joined?)"
                )
        except (Truncated, Malformed, RdbError) as exc:
            self._flush()
            self.info.bytes_read = self.s.offset
            if isinstance(exc, RdbCorrupt | RdbTooNew):
                raise
            raise RdbCorrupt(str(exc), self.s.offset, self._key) from None
        self._flush()
        self.info.bytes_read = self.s.offset
        self.info.complete = True
        return self.info

    def _header(self) -> None:
        try:
            head = self.s.read(9)
        except Truncated:  # shorter than a header: a truncated one, or no RDB at all
            head = self.s.buf[self.s.pos :]
            if head and any(m.startswith(head[:6]) for m in (b"REDIS0", b"VALKEY")):
                raise
        m = _MAGIC.match(head)
        if not head:
            raise RdbError("not an RDB file: it is empty")
        if not m:
            shown = head.decode("ascii", "replace")
            raise RdbError(f"not an RDB file (header {shown!r}, expected REDIS0nnn or VALKEYnnn)")
        valkey = m.group(3) is not None
        magic, version = ("VALKEY" if valkey else "REDIS"), int(m.group(3) or m.group(2))
        check_version(magic, version)  # the tables below are the ones of the file's magic
        self.info.magic, self.info.rdb_version = magic, version
        if valkey:
            self.readers = VALKEY_READERS
            self._first_opcode = OP_SLOT_IMPORT
            self.layout = layout_of({}, magic)
            self.s.rax_allocated = self.layout.rax_allocated
            self.s.small_classes = self.layout.small_classes

    def _records(self) -> None:
        """Until EOF; a key record with no prefix (most of them) without a call in between."""
        s, first = self.s, self._first_opcode
        key_record, record = self._key_record, self._record
        fast = compiled.records if self.fast else None
        while True:
            if fast is not None and self._clock is not None and compiled.fits(self._clock):
                self._fast_run(fast)
            buf, pos = s.buf, s.pos
            if pos < len(buf) and buf[pos] < first:
                s.pos = pos + 1
                key_record(buf[pos], None, None, None)
            elif not record():
                return

    def _fast_run(self, fast: compiled.Records) -> None:
        """The compiled loop over the buffer, up to a record it leaves to the code here."""
        s, info = self.s, self.info
        assert self._clock is not None
        flags = (1 if s.listpack_lists else 0) | (2 if s.valkey else 0)
        while True:
            pos, keys, expired, empty, idle, freq = fast(
                s.buf, s.pos, self._first_opcode, self._clock, flags, self._cols, BATCH
            )
            if pos != s.pos:
                s.pos = pos
                self._key = None
            info.keys += keys
            info.keys_expired += expired
            info.keys_empty += empty
            info.keys_with_idle += idle
            info.keys_with_freq += freq
            if len(self._cols[0]) < BATCH:
                return
            self._flush()

    def _record(self) -> bool:
        """One opcode and what follows it; False after EOF."""
        s = self.s
        self._key = None
        op = s.byte()
        if op < self._first_opcode:  # most records: a key with no expiry, idle or freq
            self._key_record(op, None, None, None)
            return True
        expire_ms = idle = freq = None
        while True:
            if op == OP_EXPIRETIME_MS:
                expire_ms = s.ms_time()
            elif op == OP_EXPIRETIME:
                expire_ms = s.s_time() * 1000
            elif op == OP_IDLE:
                idle = s.length()
            elif op == OP_FREQ:
                freq = s.byte()
            else:
                break
            op = s.byte()
        if op < self._first_opcode:
            self._key_record(op, expire_ms, idle, freq)
            return True
        return self._opcode(op)

    def _opcode(self, op: int) -> bool:
        s = self.s
        self._key = None
        if op == OP_EOF:
            return False
        if op == OP_SELECTDB:
            self._flush()
            self._db = s.length()
        elif op == OP_RESIZEDB:  # the db's key count (and keys with a TTL): RDB 7+
            self.info.db_sizes[self._db] = s.length()
            s.length()
        elif op == OP_AUX:
            name, value = s.string(), s.string()
            self.info.aux[name.decode("utf-8", "replace")] = value.decode("utf-8", "replace")
            s.listpack_lists = _listpack_lists(self.info.aux)
            self.layout = layout_of(self.info.aux, self.info.magic)
            s.rax_allocated = self.layout.rax_allocated
            s.small_classes = self.layout.small_classes
            s.valkey = self.info.magic == "VALKEY" or "valkey-ver" in self.info.aux
        elif op == OP_MODULE_AUX:
            self.info.module_aux.append(module_name(s.length()))
            s.length(), s.length()  # when-opcode, when
            skip_module_value(s)
        elif op == OP_FUNCTION2:
            s.string_size()
            self.info.functions += 1
        elif op == OP_FUNCTION_PRE_GA:
            s.string_size(), s.string_size()  # name, engine
            if s.length():
                s.string_size()  # description
            s.string_size()  # code
            self.info.functions += 1
        elif op == OP_SLOT_INFO:
            s.length(), s.length(), s.length()
            self.info.slot_info += 1
        elif op == OP_SLOT_IMPORT:  # job name, then (start, end) slot ranges
            s.string_size()
            for _ in range(s.length()):
                s.length(), s.length()
        else:
            raise Malformed(f"unknown opcode {op}")
        return True

    def _key_record(
        self, rtype: int, expire_ms: int | None, idle: int | None, freq: int | None
    ) -> None:
        s = self.s
        begin = s.base + s.pos - 1
        self._key = None
        key = s.string()
        self._key = key
        read = self.readers.get(rtype)
        vtype, enc, n, mem = read(s) if read is not None else self._value(rtype)
        info = self.info
        info.keys += 1
        clock = self._clock
        if clock is None:
            clock = self._clock = self.now_ms(info)
        ttl = -1
        if expire_ms is not None:
            if expire_ms <= clock:
                info.keys_expired += 1  # the server drops it on load
                return
            ttl = expire_ms - clock
        if n == 0 and vtype in _COLLECTIONS:
            info.keys_empty += 1  # an empty collection: the server drops it on load
            return
        if idle is not None:
            info.keys_with_idle += 1
        if freq is not None:
            info.keys_with_freq += 1
        cols = self._cols
        kl = len(key)
        if mem is not None:  # None: a module value of a type with no model (unknown)
            mem += (SDS[kl] if kl < 4000 else memest.sds(kl)) + memest.DICT_ENTRY  # the key
        row = (key, vtype, mem, n, ttl, enc, idle, freq, s.base + s.pos - begin)
        for col, item in zip(cols, row, strict=True):
            col.append(item)
        if len(cols[0]) >= BATCH:
            self._flush()

    def _value(self, rtype: int) -> Value:
        """A value of a type with no reader of its own: a module's, or none known."""
        if rtype == 7:
            module_id = self.s.length()
            name = module_name(module_id)
            memory, elements = module_value(self.s, name, module_id & 1023)
            self.info.modules[name] = self.info.modules.get(name, 0) + 1
            return Value(name.encode(), b"module", elements, memory)
        if rtype == 6:
            raise Malformed("a module value in the 4.0 release-candidate format (type 6)")
        raise Malformed(f"unknown value type {rtype}")

    def _trailer(self) -> None:
        if self.info.rdb_version < 5 and self.info.magic == "REDIS":
            return
        if self.s.at_end():
            raise Truncated("truncated: no CRC-64 trailer after the EOF opcode")
        computed = self.s.crc_so_far()
        trailer_at = self.s.offset
        value = int.from_bytes(self.s.read(8), "little")
        self.info.checksum = f"{value:016x}" if value else None
        if value and value != computed:
            raise ChecksumMismatch(
                f"CRC-64 mismatch (trailer {value:016x}, content {computed:016x}): the file is "
                f"damaged somewhere before the trailer",
                trailer_at,
                None,
            )


def _columns() -> tuple[list[Any], ...]:
    """The columns of one batch: key, type, memory, length, ttl_ms, encoding, idle, freq,
    serialized bytes."""
    return ([], [], [], [], [], [], [], [], [])
