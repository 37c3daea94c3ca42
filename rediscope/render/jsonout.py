"""JSON output: the envelope of DESIGN.md around a report's own fields."""

from __future__ import annotations

import dataclasses
import json
import math
from datetime import datetime, timezone
from enum import Enum
from typing import Any, TypeGuard

from rediscope import __version__
from rediscope.core.keynames import json_key
from rediscope.core.report import Report

SCHEMA_VERSION = 1


def to_jsonable(value: Any) -> Any:
    """Dataclasses, tuples, enums and bytes keys into plain JSON values. A report inside
    another (the demo's tour steps) is written as its own envelope."""
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        if _is_report(value):
            return envelope(value)
        return _fields(value)
    if isinstance(value, Enum):
        return value.value
    if isinstance(value, bytes):
        return json_key(value)[0]
    if isinstance(value, dict):
        return {str(k): to_jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [to_jsonable(v) for v in value]
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


def _is_report(value: Any) -> TypeGuard[Report]:
    """A report names its command in a ClassVar (a dataclass field called `command` is data)."""
    return hasattr(type(value), "command") and all(
        f.name != "command" for f in dataclasses.fields(value)
    )


def _fields(value: Any) -> dict[str, Any]:
    """A dataclass's fields; bytes fields are key names (text, or redis-cli's quoted form)."""
    out: dict[str, Any] = {}
    for f in dataclasses.fields(value):
        item = getattr(value, f.name)
        if isinstance(item, bytes):
            out[f.name], escaped = json_key(item)
            if escaped:
                out[f"{f.name}_escaped"] = True
        else:
            out[f.name] = to_jsonable(item)
    return out


def envelope(report: Report, generated_at: datetime | None = None) -> dict[str, Any]:
    body = _fields(report)
    when = generated_at or datetime.now(timezone.utc)
    out: dict[str, Any] = {
        "schema_version": SCHEMA_VERSION,
        "tool": {"name": "rediscope", "version": __version__},
        "command": type(report).command,
        "generated_at": when.strftime("%Y-%m-%dT%H:%M:%SZ"),
        "target": body.pop("target"),
        "complete": body.pop("complete"),
    }
    out.update(body)
    return out


def dumps(report: Report) -> str:
    return json.dumps(envelope(report), indent=2, ensure_ascii=False)
