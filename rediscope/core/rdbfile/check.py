"""RDB file checks: magic, version, EOF opcode and the CRC-64 trailer, streamed.

The trailer is Redis's CRC-64 (Jones polynomial, reflected, init 0; check value of "123456789"
is 0xe9c6d914c4b8d9ca), computed by anycrc in C at several GB/s, over everything before the 8
trailer bytes, stored little-endian. A zero trailer means the server had `rdbchecksum no`.
"""

from __future__ import annotations

import gzip
import re
import zlib
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO

import anycrc

_MODEL = anycrc.Model("CRC64-REDIS")
_MAGIC = re.compile(rb"^(REDIS\d{4}|VALKEY\d{3})")
EOF_OPCODE = 0xFF
CHUNK = 1 << 20
#: the newest Valkey release whose RDB format the reader knows (VALKEY080): a SYNC announces
#: it (`REPLCONF version`) so that a Valkey primary sends that format, not an older one
VALKEY_FORMAT_RELEASE = "9.1.0"


def crc64(data: bytes, crc: int = 0) -> int:
    """Redis's CRC-64, continuing from `crc`."""
    return int(_MODEL.calc(data, crc))


class RdbError(Exception):
    """The bytes are not a complete, intact RDB file."""


#: the newest RDB version the reader knows under each magic (Redis 7.4 to 8.4 write 12;
#: Valkey 9 writes VALKEY080, and under REDIS, for older replicas, 11)
NEWEST_KNOWN = {"REDIS": 12, "VALKEY": 80}
#: the first release to write each version past NEWEST_KNOWN that is known to exist
FIRST_WRITER = {("REDIS", 13): "Redis 8.6"}


class RdbTooNew(RdbError):
    """A file in an RDB version newer than the reader knows: its type and opcode numbers
    may mean anything, so nothing past the header is read."""

    def __init__(self, magic: str, version: int) -> None:
        self.magic, self.version = magic, version
        shown = f"RDB {version}" if magic == "REDIS" else f"VALKEY{version:03d}"
        super().__init__(f"{shown}: written by {likely_writer(magic, version)}")


def likely_writer(magic: str, version: int) -> str:
    """The server that most likely wrote a version past NEWEST_KNOWN."""
    known = sorted(v for (m, v) in FIRST_WRITER if m == magic and v <= version)
    if known:
        return f"{FIRST_WRITER[(magic, known[-1])]} or newer"
    return "a Valkey newer than 9.1" if magic == "VALKEY" else "a Redis newer than 8.4"


def check_version(magic: str, version: int) -> None:
    """RdbTooNew where the version is past what the reader knows (or below 1)."""
    if version > NEWEST_KNOWN[magic] or version < 1:
        raise RdbTooNew(magic, version)


@dataclass(frozen=True)
class RdbCheck:
    magic: str  # "REDIS" or "VALKEY"
    version: int
    size: int
    crc: int  # the trailer (0: the server had rdbchecksum no)
    crc_checked: bool


class RdbStreamChecker:
    """Feed the RDB bytes in order; finish() checks header, EOF opcode and CRC trailer.
    Memory is constant: only the last 9 bytes are held back."""

    def __init__(self) -> None:
        self._head = b""
        self._tail = b""
        self._crc = 0
        self.size = 0

    def feed(self, data: bytes) -> None:
        if not data:
            return
        self.size += len(data)
        if len(self._head) < 16:
            self._head += data[: 16 - len(self._head)]
        buf = self._tail + data
        if len(buf) > 9:  # everything but the last 9 bytes (EOF opcode + CRC) is final
            self._crc = crc64(buf[:-9], self._crc)
            self._tail = buf[-9:]
        else:
            self._tail = buf

    def finish(self) -> RdbCheck:
        match = _MAGIC.match(self._head)
        if not match:
            shown = self._head[:9].decode("ascii", "replace")
            raise RdbError(f"not an RDB file (header {shown!r}, expected REDIS0nnn or VALKEYnnn)")
        magic = match.group(1)
        name = "VALKEY" if magic.startswith(b"VALKEY") else "REDIS"
        version = int(magic[len(name) :])
        if self.size < len(magic) + 9 or len(self._tail) != 9:
            raise RdbError(f"truncated RDB ({self.size} bytes)")
        if self._tail[0] != EOF_OPCODE:
            raise RdbError("truncated RDB: no EOF opcode before the checksum")
        stored = int.from_bytes(self._tail[1:], "little")
        if stored == 0:
            return RdbCheck(name, version, self.size, 0, False)
        computed = crc64(self._tail[:1], self._crc)
        if computed != stored:
            raise RdbError(
                f"CRC-64 mismatch: trailer {stored:016x}, content {computed:016x} "
                "(corrupt or truncated)"
            )
        return RdbCheck(name, version, self.size, stored, True)


def check_stream(chunks: Iterable[bytes]) -> RdbCheck:
    checker = RdbStreamChecker()
    for chunk in chunks:
        checker.feed(chunk)
    return checker.finish()


def read_chunks(fileobj: IO[bytes], size: int = CHUNK) -> Iterator[bytes]:
    while True:
        chunk = fileobj.read(size)
        if not chunk:
            return
        yield chunk


def compression_of(name: str) -> str:
    return "gzip" if name.endswith(".gz") else "zstd" if name.endswith(".zst") else "none"


def open_decompressed(path: Path, compression: str | None = None) -> IO[bytes]:
    """The RDB inside a backup file: .gz, .zst, or plain (by extension unless given)."""
    kind = compression or compression_of(path.name)
    if kind == "gzip":
        return gzip.open(path, "rb")  # type: ignore[return-value]
    if kind == "zstd":
        try:
            import zstandard
        except ImportError:
            raise RdbError(
                "a .zst backup needs the zstandard package (pip install 'rediscope[zstd]')"
            ) from None
        return zstandard.ZstdDecompressor().stream_reader(path.open("rb"))  # type: ignore[no-any-return]
    return path.open("rb")


def check_file(path: Path, compression: str | None = None) -> RdbCheck:
    """Check a (possibly compressed) RDB file, streaming."""
    try:
        with open_decompressed(path, compression) as fh:
            return check_stream(read_chunks(fh))
    except (OSError, EOFError, zlib.error) as exc:  # BadGzipFile is an OSError
        raise RdbError(f"cannot read {path.name}: {exc}") from None
