"""`rediscope audit`: the caching-pattern mistakes that cause outages, found in a keyspace."""

from rediscope.core.audit.checks import SEVERITIES, Finding, Thresholds
from rediscope.core.audit.run import AuditReport, audit

__all__ = ["SEVERITIES", "AuditReport", "Finding", "Thresholds", "audit"]
