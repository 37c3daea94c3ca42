"""Reports as Rich tables: one module per command family registers its renderers here."""

from __future__ import annotations

from typing import Any

from rich.console import RenderableType

from rediscope.core.report import Report

# the family modules register their renderers when imported
from rediscope.render import (  # noqa: F401
    audit_tables,
    backup_tables,
    capacity_tables,
    clients_tables,
    diff_tables,
    health_tables,
    hotkeys_tables,
    restore_tables,
    scan_tables,
    top_view,
)
from rediscope.render.base import RENDERERS


def render_table(report: Report, **view: Any) -> RenderableType:
    """The table for a report; `view` holds table-only options (e.g. tree=True)."""
    return RENDERERS[type(report)](report, **view)
