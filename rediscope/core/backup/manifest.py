"""The manifest of one backup: `<base>.manifest.json`, written last, read by list, verify,
prune, health and restore. A backup without a readable manifest does not exist."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, fields, replace
from datetime import datetime
from pathlib import Path
from typing import Any

FORMAT = 1


@dataclass(frozen=True)
class BackupFile:
    """One RDB file of a backup (one per shard on a cluster)."""

    file: str
    sha256: str
    bytes: int
    bytes_raw: int
    crc64: str
    crc_checked: bool
    rdb_version: int
    node: str | None
    node_id: str | None
    slots: list[list[int]]
    keys: dict[str, int]

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> BackupFile:
        """Tolerant of manifests that lack a field: counts default to 0, text to ''."""
        return cls(
            file=str(data.get("file", "")),
            sha256=str(data.get("sha256", "")),
            bytes=int(data.get("bytes", 0)),
            bytes_raw=int(data.get("bytes_raw", 0)),
            crc64=str(data.get("crc64", "")),
            crc_checked=bool(data.get("crc_checked", True)),
            rdb_version=int(data.get("rdb_version") or 0),
            node=data.get("node"),
            node_id=data.get("node_id"),
            slots=[list(s) for s in data.get("slots", [])],
            keys={str(k): int(v) for k, v in dict(data.get("keys", {})).items()},
        )


@dataclass(frozen=True)
class Manifest:
    name: str
    base: str
    created_at: str
    finished_at: str
    finished_at_epoch: float | None
    target: str  # the redacted URL: never a password
    mode: str
    server: dict[str, str]
    method: str
    compression: str
    verified: bool
    duration_s: float
    files: tuple[BackupFile, ...]
    version: str = ""
    tool: str = "rediscope"
    format: int = FORMAT

    def finished(self, when: datetime) -> Manifest:
        """This manifest, stamped as finished at WHEN (UTC)."""
        return replace(
            self, finished_at=f"{when:%Y-%m-%dT%H:%M:%SZ}", finished_at_epoch=when.timestamp()
        )

    def to_json(self) -> str:
        data = asdict(self)
        data["files"] = [asdict(f) for f in self.files]
        order = ["tool", "version", "format"] + [
            f.name for f in fields(self) if f.name not in ("tool", "version", "format")
        ]
        return json.dumps({k: data[k] for k in order}, indent=2) + "\n"

    @classmethod
    def read(cls, path: Path) -> Manifest | None:
        """The manifest at PATH, or None when it is unreadable or not one of ours."""
        try:
            data = json.loads(path.read_text())
        except (OSError, ValueError):
            return None
        if not isinstance(data, dict) or data.get("tool") != "rediscope":
            return None
        if not isinstance(data.get("files"), list):
            return None
        try:
            manifest = cls._parse(data)
        except (TypeError, ValueError, AttributeError):
            return None
        return manifest if manifest.names_its_own_files() else None

    def names_its_own_files(self) -> bool:
        """At least one file, each a plain name of this backup in its own directory: a manifest
        that lists nothing, or a path elsewhere (`../x`), cannot stand for a backup (it would be
        counted as intact and let retention delete the ones that are)."""
        return bool(self.files) and all(
            f.file == Path(f.file).name and f.file.startswith(self.base) and self.base
            for f in self.files
        )

    @classmethod
    def _parse(cls, data: dict[str, Any]) -> Manifest:
        epoch = data.get("finished_at_epoch")
        return cls(
            name=str(data.get("name", "")),
            base=str(data.get("base", "")),
            created_at=str(data.get("created_at", "")),
            finished_at=str(data.get("finished_at", "")),
            finished_at_epoch=float(epoch) if isinstance(epoch, int | float) else None,
            target=str(data.get("target", "")),
            mode=str(data.get("mode", "standalone")),
            server={str(k): str(v) for k, v in dict(data.get("server", {})).items()},
            method=str(data.get("method", "")),
            compression=str(data.get("compression", "")),
            verified=bool(data.get("verified")),
            duration_s=float(data.get("duration_s", 0.0)),
            files=tuple(BackupFile.from_json(f) for f in data["files"]),
            version=str(data.get("version", "")),
            format=int(data.get("format", FORMAT)),
        )
