"""Figures as people read them, in their language: rates as percentages, times as hours and minutes."""

from __future__ import annotations

from flask_babel import format_decimal, format_percent
from flask_babel import gettext as _


def format_minutes(minutes: float | None) -> str:
    if minutes is None:
        return "—"
    minutes = round(minutes)
    if minutes < 60:
        return _("%(m)d min", m=minutes)
    hours, rest = divmod(minutes, 60)
    if hours < 48:
        return _("%(h)d h %(m)02d min", h=hours, m=rest)
    return _("%(d)s days", d=format_decimal(round(minutes / 1440, 1)))


def format_metric(code: str | None, value: float | None) -> str:
    """A metric's value by its unit (METRICS.md): rates 0-1 as percent, times in minutes, counts as numbers."""
    if value is None or code is None:
        return "—"
    from app.outcomes import metrics

    definition = metrics.METRICS.get(code)
    unit = definition.unit if definition else "count"
    if unit == "rate":
        return format_percent(value, "#,##0.0%")
    if unit == "minutes":
        return format_minutes(value)
    return format_decimal(round(value, 2))
