"""Figures as people read them, in their language: rates as percentages, times as hours and minutes."""

from __future__ import annotations

from flask_babel import format_decimal
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
    """A metric's value by its unit; the metric registry owns the rule (app.outcomes.metrics.format_value)."""
    from app.outcomes import metrics  # metrics imports format_minutes from here

    return metrics.format_value(code, value)
