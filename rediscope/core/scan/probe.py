"""What a node lets the scan do, asked once per connection: the commands the server denies (ACL,
renamed), whether SCAN filters by TYPE (Redis 6.0+, Valkey), and whether keys of module types
can exist (MODULE LIST)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from rediscope.core.pipeline.options import LENGTH_COMMANDS
from rediscope.core.pipeline.records import NodeScan
from rediscope.core.resp import RawConnection
from rediscope.core.scan.replies import denied, is_error
from rediscope.errors import CommandDenied

_ABSENT = b"rediscope:probe:absent-key"


@dataclass(frozen=True)
class Capabilities:
    scan_type: bool  # SCAN ... TYPE t works
    modules: bool  # keys of module types may exist (modules loaded, or MODULE LIST denied)


def probe(
    conn: RawConnection,
    needs: set[str],
    result: NodeScan,
    note: Callable[[str], None],
    walks: bool = True,
) -> Capabilities:
    """Drop what the server denies with a note; fail if SCAN or TYPE is denied, since nothing
    can be measured without them. WALKS: whether SCAN TYPE and module types are asked about
    (only the typed walks of --type-lookup scan use them)."""
    probes: list[tuple[str, tuple[bytes, ...], str]] = [
        ("type", (b"TYPE", _ABSENT), "TYPE"),
        ("scan", (b"SCAN", b"0", b"COUNT", b"1"), "SCAN"),
        ("memory", (b"MEMORY", b"USAGE", _ABSENT), "MEMORY USAGE: bytes are not measured"),
        ("ttl", (b"PTTL", _ABSENT), "PTTL: TTLs are not measured"),
        ("encoding", (b"OBJECT", b"ENCODING", _ABSENT), "OBJECT ENCODING: encodings unknown"),
        ("idle", (b"OBJECT", b"IDLETIME", _ABSENT), "OBJECT IDLETIME: idle times unknown"),
        ("freq", (b"OBJECT", b"FREQ", _ABSENT), "OBJECT FREQ: access frequencies unknown"),
    ]
    if "length" in needs:
        probes += [
            ("length", (cmd, _ABSENT), f"{cmd.decode()}: element counts not measured")
            for cmd in LENGTH_COMMANDS.values()
        ]
    for need, args, what in probes:
        if need not in ("type", "scan") and need not in needs:
            continue
        reply = conn.call(*args)
        if not denied(reply):
            continue
        if need in ("type", "scan"):
            raise CommandDenied(
                what, str(reply), "the scan needs SCAN and TYPE; see docs/security.md"
            )
        needs.discard(need)
        result.unmeasured.append(need)
        note(f"the server denied {what} ({str(reply).split(':')[0].strip()})")
    if not walks:
        return Capabilities(scan_type=False, modules=True)
    scan_type = not is_error(conn.call(b"SCAN", b"0", b"COUNT", b"1", b"TYPE", b"string"))
    modules = conn.call(b"MODULE", b"LIST")
    return Capabilities(scan_type, is_error(modules) or bool(modules))
