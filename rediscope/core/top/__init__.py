"""`rediscope top`: a live view of every node from deltas of one INFO per node per interval."""

from rediscope.core.top.model import TopReport
from rediscope.core.top.watch import Watcher

__all__ = ["TopReport", "Watcher"]
