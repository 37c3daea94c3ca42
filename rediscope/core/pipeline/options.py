"""What a scan is asked for: the options every source takes, the types it knows and the
per-key fields a collector may ask for."""

from __future__ import annotations

from dataclasses import dataclass

from rediscope.errors import UsageError

TYPES = ("string", "list", "set", "zset", "hash", "stream")

TYPE_LOOKUPS = ("predict", "scan", "ask")


LENGTH_COMMANDS = {
    b"string": b"STRLEN",
    b"list": b"LLEN",
    b"set": b"SCARD",
    b"zset": b"ZCARD",
    b"hash": b"HLEN",
    b"stream": b"XLEN",
}


#: what a collector may ask for, per key
NEEDS = ("memory", "length", "ttl", "encoding", "idle", "freq")


@dataclass(frozen=True)
class ScanOptions:
    match: str | None = None
    type: str | None = None
    scan_count: int = 1000
    rate: float | None = None  # keys per second, per node
    sample: int | None = None  # stop after N keys per node
    replica: bool = False
    samples: int = 5  # MEMORY USAGE SAMPLES
    lengths: bool = True
    db: int | None = None
    #: where each key's type comes from: predict (from keys of the same shape, confirmed by
    #: the length command), scan (SCAN TYPE, one walk per type in lockstep), ask (TYPE per key)
    type_lookup: str = "predict"
    gentle: bool = False  # pick the rate from the server's load; small requests

    def validate(self) -> None:
        if not 1 <= self.scan_count <= 1_000_000:
            raise UsageError("--scan-count must be between 1 and 1000000")
        if self.rate is not None and self.rate <= 0:
            raise UsageError("--rate must be a positive number of keys per second")
        if self.sample is not None and self.sample < 1:
            raise UsageError("--sample must be at least 1")
        if self.samples < 0:
            raise UsageError("--samples must be 0 (exact) or more")
        if self.type_lookup not in TYPE_LOOKUPS:
            raise UsageError(f"--type-lookup must be one of {', '.join(TYPE_LOOKUPS)}")
        if self.type is not None and self.type not in TYPES:
            raise UsageError(f"--type must be one of {', '.join(TYPES)}")
