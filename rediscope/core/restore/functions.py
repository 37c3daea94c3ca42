"""The function libraries of a backup, restored with FUNCTION RESTORE on every primary (one
library per call, so each one is counted; a library already there is left as it is unless
--replace)."""

from __future__ import annotations

import hiredis
import redis

from rediscope.core.restore.records import frame
from rediscope.core.restore.report import Functions
from rediscope.core.restore.target import RestoreTarget
from rediscope.errors import RediscopeError


def restore_functions(
    target: RestoreTarget,
    libraries: list[bytes],
    version: int,
    replace: bool,
    dry_run: bool,
    notes: list[str],
) -> Functions:
    """Each library on each primary; a dry run only counts them."""
    if not libraries:
        return Functions(0, 0, 0, 0)
    if dry_run:
        return Functions(len(libraries), len(libraries), 0, 0)
    restored = skipped = failed = 0
    errors: list[str] = []
    policy = [b"REPLACE"] if replace else []
    for i, primary in enumerate(target.primaries):
        try:
            conn = target.connection(i)
        except RediscopeError as exc:  # it stopped answering after the keys
            failed += len(libraries)
            errors.append(f"FUNCTION RESTORE on {primary.address}: {exc.message}")
            continue
        try:
            for body in libraries:
                reply = conn.call(b"FUNCTION", b"RESTORE", frame(body, version), *policy)
                if not isinstance(reply, hiredis.ReplyError):
                    restored += 1
                elif "already exists" in str(reply):
                    skipped += 1
                elif "unknown command" in str(reply).lower():
                    skipped += len(libraries)
                    notes.append(f"{primary.address} has no FUNCTION command: functions skipped")
                    break
                else:
                    failed += 1
                    errors.append(f"FUNCTION RESTORE on {primary.address}: {reply}")
        except (redis.RedisError, OSError) as exc:
            failed += 1
            errors.append(f"FUNCTION RESTORE on {primary.address}: {exc}")
        finally:
            conn.close()
    if skipped:
        notes.append(
            f"{skipped} function librar{'y' if skipped == 1 else 'ies'} already on the target "
            "left as they are (--replace overwrites them)"
        )
    return Functions(len(libraries), restored, skipped, failed, tuple(errors))
