"""What the last audit of a target counted per counter pattern, kept so the next one can
say how much they grew (a small JSON file per target under the state dir; never a secret:
the file is named by a hash of the redacted target)."""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
import time
from pathlib import Path

from rediscope.core.config import state_dir


def _path(target_url: str) -> Path:
    digest = hashlib.sha256(target_url.encode()).hexdigest()[:16]
    return state_dir() / "audit" / f"{digest}.json"


def last_counts(target_url: str) -> tuple[float, dict[str, int]] | None:
    """(when, keys per pattern) of the last audit of the target, or None."""
    try:
        data = json.loads(_path(target_url).read_text())
        return float(data["at"]), {str(k): int(v) for k, v in data["patterns"].items()}
    except (OSError, ValueError, KeyError, TypeError, AttributeError):
        return None


def save_counts(target_url: str, counts: dict[str, int]) -> None:
    """This audit's counts, written whole or not at all (a temp file renamed over)."""
    path = _path(target_url)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".audit-")
        with os.fdopen(fd, "w") as fh:
            json.dump({"at": time.time(), "patterns": counts}, fh)
        os.replace(tmp, path)
    except OSError:
        return  # the history is a convenience: an audit does not fail for it
