"""The retention options of `backup run` and `backup prune` (declared once)."""

from __future__ import annotations

from datetime import timedelta
from typing import TYPE_CHECKING, Annotated, Any

import typer

from rediscope.core.units import parse_duration

if TYPE_CHECKING:
    from rediscope.core.backup import RetentionPolicy

KEEP = "Retention (restic forget rules, OR-ed)"

_UNITS = {
    "hourly": "hours",
    "daily": "days",
    "weekly": "ISO weeks",
    "monthly": "months",
    "yearly": "years",
}


def _keep(name: str) -> Any:
    what = (
        f"Keep the newest backup of each of the last N {_UNITS[name]} that have one."
        if name in _UNITS
        else "Keep the N newest backups."
    )
    return Annotated[int, typer.Option(f"--keep-{name}", min=0, help=what, rich_help_panel=KEEP)]


RETENTION_PARAMS: list[tuple[str, Any, Any]] = [
    (f"keep_{name}", _keep(name), 0) for name in ("last", *_UNITS)
] + [
    (
        "keep_within",
        Annotated[
            str | None,
            typer.Option(
                "--keep-within",
                help="Keep every backup within this duration of the newest (e.g. 2d).",
                rich_help_panel=KEEP,
                show_default=False,
            ),
        ],
        None,
    )
]

RETENTION_NAMES = tuple(name for name, _, _ in RETENTION_PARAMS)


def retention_policy(values: dict[str, Any]) -> RetentionPolicy:
    """The policy the --keep-* options describe (validated)."""
    from rediscope.core.backup import RetentionPolicy  # only the backup commands get here

    within = values.get("keep_within")
    policy = RetentionPolicy(
        last=values.get("keep_last", 0),
        hourly=values.get("keep_hourly", 0),
        daily=values.get("keep_daily", 0),
        weekly=values.get("keep_weekly", 0),
        monthly=values.get("keep_monthly", 0),
        yearly=values.get("keep_yearly", 0),
        within=timedelta(seconds=parse_duration(within, "--keep-within")) if within else None,
    )
    policy.validate()
    return policy
