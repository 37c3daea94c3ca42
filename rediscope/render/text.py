"""Plain-text formats for monitoring: the Nagios plugin line and Prometheus text exposition."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from rediscope.core.capacity.command import CapacityReport
from rediscope.core.health import HealthReport
from rediscope.core.health.model import RANK
from rediscope.core.report import Report
from rediscope.core.units import plural
from rediscope.exitcodes import HealthExit

_TEXT: dict[tuple[type[Report], str], Callable[[Any], str]] = {}


def text_format(
    kind: type[Report], fmt: str
) -> Callable[[Callable[[Any], str]], Callable[[Any], str]]:
    def register(func: Callable[[Any], str]) -> Callable[[Any], str]:
        _TEXT[(kind, fmt)] = func
        return func

    return register


def render_text(report: Report, fmt: str) -> str:
    return _TEXT[(type(report), fmt)](report)


def _label(value: str) -> str:
    """A Prometheus label value, escaped."""
    return value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")


def _perf_label(check_id: str, node: str | None) -> str:
    name = check_id if node is None else f"{check_id}_{node}"
    return re.sub(r"[^A-Za-z0-9_.:-]", "_", name)


_UOM = {"ms": "ms", "%": "%", "s": "s", "bytes": "B"}


def _num(value: float) -> str:
    """A number as exact as it was measured: integers whole (bytes never become 1.31717e+08),
    fractions to 6 places, never in exponent form (Nagios perfdata does not read it)."""
    if float(value).is_integer():
        return str(int(value))
    return f"{value:.6f}".rstrip("0").rstrip(".")


@text_format(HealthReport, "nagios")
def health_nagios(report: HealthReport) -> str:
    """`REDISCOPE <STATUS> - <summary> | <perfdata>` per the monitoring plugins guidelines."""
    bad = [c for c in report.checks if c.status != "OK"]
    if bad:
        bad.sort(key=lambda c: -RANK[c.status])
        summary = "; ".join(
            f"{c.id}{'@' + c.node if c.node else ''} {c.status}: {c.message}" for c in bad[:3]
        )
        if len(bad) > 3:
            summary += f"; and {len(bad) - 3} more"
    elif report.checks:
        summary = f"{plural(len(report.checks), 'check')} OK on {report.target.url}"
    else:
        summary = "no check applies: " + _inapplicable(report)
    if report.checks and report.not_applicable:
        summary += "; not applicable: " + _inapplicable(report)
    perf = []
    for c in report.checks:
        if c.value is None:
            continue
        uom = _UOM.get(c.unit, "")
        warn = "" if c.warn is None else _num(c.warn)
        crit = "" if c.crit is None else _num(c.crit)
        perf.append(f"'{_perf_label(c.id, c.node)}'={_num(c.value)}{uom};{warn};{crit};;")
    line = f"REDISCOPE {report.status} - {summary.replace('|', '/')}"
    return line + (" | " + " ".join(perf) if perf else "")


def _inapplicable(report: HealthReport) -> str:
    return "; ".join(f"{n.id}: {n.reason}" for n in report.not_applicable)


@text_format(HealthReport, "prometheus")
def health_prometheus(report: HealthReport) -> str:
    codes = {
        "OK": HealthExit.OK,
        "WARNING": HealthExit.WARNING,
        "CRITICAL": HealthExit.CRITICAL,
        "UNKNOWN": HealthExit.UNKNOWN,
    }
    target = _label(report.target.url)
    lines = [
        "# HELP rediscope_health_status Overall status: 0 OK, 1 WARNING, 2 CRITICAL, 3 UNKNOWN.",
        "# TYPE rediscope_health_status gauge",
        f'rediscope_health_status{{target="{target}"}} {int(codes[report.status])}',
        "# HELP rediscope_health_check_status Status per check: 0 OK, 1 WARNING, 2 CRITICAL, "
        "3 UNKNOWN.",
        "# TYPE rediscope_health_check_status gauge",
    ]
    values = [
        "# HELP rediscope_health_check_value The value each check measured, in its unit.",
        "# TYPE rediscope_health_check_value gauge",
    ]
    for c in report.checks:
        labels = f'target="{target}",check="{c.id}",node="{_label(c.node or "")}"'
        lines.append(f"rediscope_health_check_status{{{labels}}} {int(codes[c.status])}")
        if c.value is not None:
            values.append(
                f'rediscope_health_check_value{{{labels},unit="{_label(c.unit)}"}} {_num(c.value)}'
            )
    return "\n".join(lines + values)


@text_format(CapacityReport, "prometheus")
def capacity_prometheus(report: CapacityReport) -> str:
    target = _label(report.target.url)
    lines = []
    metrics = [
        ("used_memory_bytes", "used_memory (latest sample)", "used_memory"),
        ("limit_bytes", "the limit the projection runs to", "limit_bytes"),
        ("growth_bytes_per_day", "least-squares growth of used_memory", "growth_bytes_per_day"),
        ("days_until_full", "days until the limit at the current growth", "days_until_full"),
        ("fit_r2", "r squared of the fit", "r2"),
    ]
    for name, help_text, attr in metrics:
        lines += [
            f"# HELP rediscope_capacity_{name} {help_text}.",
            f"# TYPE rediscope_capacity_{name} gauge",
        ]
        for node in report.nodes:
            value = getattr(node, attr)
            if value is not None:
                lines.append(
                    f'rediscope_capacity_{name}{{target="{target}",'
                    f'node="{_label(node.node)}"}} {_num(float(value))}'
                )
    return "\n".join(lines)
