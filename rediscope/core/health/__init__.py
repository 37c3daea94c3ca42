"""`rediscope health`: checks with thresholds and monitoring-plugin exit codes.

Each check is declared once (model.CHECKS): per-node checks in node_checks.py and
commandlog.py, the deployment's own (cluster, sentinel, backup age) in deployment.py,
`connection` in probe.py.
run.py probes every node and runs them. Importing this package registers them all.
"""

from rediscope.core.health import deployment, node_checks  # noqa: F401  (registrations)

# isort: split
# after the checks above, in report order: the COMMANDLOG checks beside the slowlog one
from rediscope.core.health import commandlog  # noqa: F401  (registrations)

# isort: split
from rediscope.core.health.model import (
    CHECKS,
    Check,
    HealthOptions,
    HealthReport,
    NotApplicable,
    load_thresholds_file,
    parse_thresholds,
)
from rediscope.core.health.run import health

#: every check id, in report order
ALL_CHECKS = tuple(CHECKS)

__all__ = [
    "ALL_CHECKS",
    "CHECKS",
    "Check",
    "HealthOptions",
    "HealthReport",
    "NotApplicable",
    "health",
    "load_thresholds_file",
    "parse_thresholds",
]
