"""`backup restore`: an RDB backup written back into a server or a cluster with RESTORE."""

from rediscope.core.restore.plan import RestoreOptions, RestoreRefused
from rediscope.core.restore.report import RestoreReport
from rediscope.core.restore.run import restore

__all__ = ["RestoreOptions", "RestoreRefused", "RestoreReport", "restore"]
