"""`rediscope backup`: verified, rotated RDB backups; nothing is ever half-written.

One module per concern: `files` (names, the directory lock, the atomic writer), `fetch` (the RDB
by SYNC or BGSAVE), `run` (backup run), `catalog` (list), `verify` (verify and its drill in `load`),
`orphans` (files no manifest names), `retention` (prune).
"""

from rediscope.core.backup.catalog import (
    BackupInfo,
    BackupListReport,
    FileVerdict,
    ListedBackup,
    list_backups,
    list_report,
)
from rediscope.core.backup.files import BackupError
from rediscope.core.backup.manifest import BackupFile, Manifest
from rediscope.core.backup.orphans import OrphanFile
from rediscope.core.backup.retention import PruneReport, RetentionPolicy, plan_prune, prune
from rediscope.core.backup.run import BackupRunReport, default_name, run_backup
from rediscope.core.backup.verify import VerifyReport, verify

__all__ = [
    "BackupError",
    "BackupFile",
    "BackupInfo",
    "BackupListReport",
    "BackupRunReport",
    "FileVerdict",
    "ListedBackup",
    "Manifest",
    "OrphanFile",
    "PruneReport",
    "RetentionPolicy",
    "VerifyReport",
    "default_name",
    "list_backups",
    "list_report",
    "plan_prune",
    "prune",
    "run_backup",
    "verify",
]
