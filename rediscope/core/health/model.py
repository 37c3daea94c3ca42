"""Health checks' data: statuses, a check's result, the report and its options, thresholds."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar, Literal

import yaml

from rediscope.core.report import Outcome, ReportBase
from rediscope.core.target import Target
from rediscope.errors import ConfigError, UsageError
from rediscope.exitcodes import HealthExit

Status = Literal["OK", "WARNING", "CRITICAL", "UNKNOWN"]
OK: Status = "OK"
WARNING: Status = "WARNING"
CRITICAL: Status = "CRITICAL"
UNKNOWN: Status = "UNKNOWN"

#: the one order of statuses (the roll-up takes the highest; renderers list the highest first):
#: CRITICAL > WARNING > UNKNOWN > OK
RANK: dict[Status, int] = {OK: 0, UNKNOWN: 1, WARNING: 2, CRITICAL: 3}


EXIT = {
    OK: HealthExit.OK,
    WARNING: HealthExit.WARNING,
    CRITICAL: HealthExit.CRITICAL,
    UNKNOWN: HealthExit.UNKNOWN,
}


@dataclass(frozen=True)
class CheckSpec:
    """A check, declared once: its id, default thresholds, unit, what it measures, and (for
    the checks run on every node) its function."""

    id: str
    warn: float | None
    crit: float | None
    unit: str
    what: str
    #: None from it: the check does not apply to this node (the server lacks what it reads)
    per_node: Callable[..., Check | None] | None = None


#: every check, in the order reports list them (filled by the modules that declare them)
CHECKS: dict[str, CheckSpec] = {}


def declare(
    check_id: str, warn: float | None, crit: float | None, unit: str, what: str
) -> CheckSpec:
    """Declare a check that the deployment as a whole answers (connection, cluster, ...)."""
    spec = CHECKS[check_id] = CheckSpec(check_id, warn, crit, unit, what)
    return spec


def node_check(
    check_id: str, warn: float | None, crit: float | None, unit: str, what: str
) -> Callable[[Callable[..., Check | None]], Callable[..., Check | None]]:
    """Declare a check run on every node: `fn(checker, probe, policy_on_cache) -> Check`, or
    None where the node lacks what the check reads (it then does not apply there)."""

    def register(fn: Callable[..., Check | None]) -> Callable[..., Check | None]:
        CHECKS[check_id] = CheckSpec(check_id, warn, crit, unit, what, fn)
        return fn

    return register


@dataclass(frozen=True, kw_only=True)
class Check:
    id: str
    status: Status
    value: float | None
    unit: str
    warn: float | None
    crit: float | None
    message: str
    hint: str | None = None
    node: str | None = None


@dataclass(frozen=True)
class NotApplicable:
    id: str
    reason: str


@dataclass(frozen=True, kw_only=True)
class HealthReport(ReportBase):
    command: ClassVar[str] = "health"
    target: Target
    complete: bool
    status: Status
    exit_code: int
    window_s: float
    checks: tuple[Check, ...]
    notes: tuple[str, ...] = ()
    #: checks asked for by --checks that do not apply here, each with the reason
    not_applicable: tuple[NotApplicable, ...] = ()

    @staticmethod
    def verdict(
        checks: list[Check], not_applicable: tuple[NotApplicable, ...], fail_on: str
    ) -> tuple[Status, int]:
        """The overall status and its exit code: the worst check; UNKNOWN when nothing asked
        for applies (the monitoring convention for "cannot tell"); with --fail-on critical a
        WARNING exits 0."""
        status = worst([c.status for c in checks]) if checks or not not_applicable else UNKNOWN
        code = EXIT[status]
        if status == WARNING and fail_on == "critical":
            code = HealthExit.OK
        return status, int(code)

    def outcome(self) -> Outcome:
        """The monitoring-plugin exit code, and the failed connection (if any) on stderr."""
        failed = next(
            (c for c in self.checks if c.id == "connection" and c.status == CRITICAL), None
        )
        errors = (
            ()
            if failed is None
            else (failed.message + (f" — {failed.hint}" if failed.hint else ""),)
        )
        return Outcome(self.exit_code, errors)


@dataclass(frozen=True)
class HealthOptions:
    checks: tuple[str, ...] = ()  # empty: all that apply
    skip: tuple[str, ...] = ()
    warn: dict[str, float] = field(default_factory=dict)
    crit: dict[str, float] = field(default_factory=dict)
    window: float = 5.0
    pings: int = 5
    expect_replicas: int | None = None
    expect_nodes: int | None = None
    slowlog_window: float = 900.0
    backup_dir: str | None = None
    fail_on: str = "warning"  # warning: plain convention; critical: warnings exit 0

    def validate(self) -> None:
        for name in (*self.checks, *self.skip, *self.warn, *self.crit):
            if name not in CHECKS:
                raise UsageError(f"unknown check {name!r}", f"checks are: {', '.join(CHECKS)}")
        if self.window < 0 or self.window > 3600:
            raise UsageError("--window must be between 0 and 3600 seconds")
        if self.fail_on not in ("warning", "critical"):
            raise UsageError("--fail-on must be warning or critical")

    def thresholds(self, check_id: str) -> tuple[float | None, float | None]:
        spec = CHECKS[check_id]
        warn, crit = spec.warn, spec.crit
        return self.warn.get(check_id, warn), self.crit.get(check_id, crit)

    def wants(self, check_id: str) -> bool:
        if check_id in self.skip:
            return False
        return not self.checks or check_id in self.checks


def parse_thresholds(values: list[str], option: str) -> dict[str, float]:
    """`memory=85` pairs into {check: value}."""
    out = {}
    for item in values:
        name, sep, raw = item.partition("=")
        if not sep:
            raise UsageError(f"{option} {item!r}: expected CHECK=VALUE, e.g. memory=85")
        try:
            out[name.strip()] = float(raw)
        except ValueError:
            raise UsageError(f"{option} {item!r}: {raw!r} is not a number") from None
    return out


def load_thresholds_file(path: str) -> tuple[dict[str, float], dict[str, float]]:
    """A YAML file {warn: {check: value}, crit: {check: value}}."""
    try:
        data = yaml.safe_load(Path(path).read_text(encoding="utf-8")) or {}
    except (OSError, yaml.YAMLError) as exc:
        raise ConfigError(f"cannot read thresholds file {path}: {exc}") from None
    if not isinstance(data, dict) or set(data) - {"warn", "crit"}:
        raise ConfigError(f"{path}: expected a mapping with 'warn' and/or 'crit' sections")
    out: list[dict[str, float]] = []
    for section in ("warn", "crit"):
        body = data.get(section) or {}
        if not isinstance(body, dict):
            raise ConfigError(f"{path}: '{section}' must map check names to numbers")
        try:
            out.append({str(k): float(v) for k, v in body.items()})
        except (TypeError, ValueError):
            raise ConfigError(f"{path}: '{section}' values must be numbers") from None
    return out[0], out[1]


def level(value: float | None, warn: float | None, crit: float | None) -> Status:
    """Higher is worse: above crit is CRITICAL, above warn is WARNING."""
    if value is None:
        return UNKNOWN
    if crit is not None and value > crit:
        return CRITICAL
    if warn is not None and value > warn:
        return WARNING
    return OK


def worst(statuses: list[Status]) -> Status:
    return max(statuses, key=lambda s: RANK[s], default=OK)


def int_field(data: Any, name: str) -> int | None:
    value = data.get(name)
    try:
        return int(value) if value is not None else None
    except (TypeError, ValueError):
        return None
