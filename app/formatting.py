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
