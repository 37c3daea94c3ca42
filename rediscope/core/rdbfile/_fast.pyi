from typing import Any

def records(
    buf: bytes,
    pos: int,
    first_opcode: int,
    clock_ms: int,
    flags: int,
    columns: tuple[list[Any], ...],
    max_rows: int,
    /,
) -> tuple[int, int, int, int, int, int]: ...
def elements(
    buf: bytes, pos: int, count: int, mode: int, small: int = 0, /
) -> tuple[int, int, int]: ...
def restores(
    buf: bytes,
    pos: int,
    first_opcode: int,
    now_ms: int,
    skip_expired: bool,
    version_tail: bytes,
    max_keys: int,
    max_bytes: int,
    /,
) -> tuple[int, bytes, int, int, int, int]: ...
