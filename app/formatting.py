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


def format_share(share: float | None) -> str:
    """A share (0..1) as a percentage with one decimal, in the reader's language; "—" when there is none."""
    return "—" if share is None else format_percent(share, "#,##0.0%")


# Catalog data that people name (action types, retro templates) carries its base name plus optional names per
# language in a JSON column ``names`` ({"es": ..., "it": ...}); these are the languages it can be named in.
NAMED_LOCALES = ("es", "it")


def current_language() -> str | None:
    """The language of the page or job being rendered ("es", "it", "en"), or None outside a request/context."""
    from flask import has_request_context
    from flask_babel import get_locale

    try:
        locale = get_locale()
    except RuntimeError:  # no application context
        return None
    if locale is None and not has_request_context():
        return None
    return locale.language if locale is not None else None


def name_in(names: dict | None, base: str, locale: str | None = None) -> str:
    """The name for ``locale`` (the current language when None), else ``base``: a name given per language wins."""
    language = locale or current_language()
    if names and language:
        chosen = names.get(language.split("_")[0])
        if isinstance(chosen, str) and chosen.strip():
            return chosen
    return base


def clean_names(values: dict) -> dict | None:
    """The per-language names a form sent, trimmed; None when none was given (the base name serves everyone)."""
    names = {code: (values.get(code) or "").strip() for code in NAMED_LOCALES}
    names = {code: text for code, text in names.items() if text}
    return names or None
