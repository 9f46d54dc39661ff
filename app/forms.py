"""The one way to read numbers, dates and text a person (or an attacker) sends: forms, query strings, fields.

- ``EmptyForm``: the WTForms form behind a bare POST button (CSRF only); templates get it as ``empty_form()``.
- ``csrf_input``: the hidden CSRF field EmptyForm writes, without building a form (``csrf_field()`` in templates).
- ``IntField`` / ``DecimalField``: WTForms fields that accept ASCII digits only (``int("١")`` is 1 in Python and
  ``"²".isdigit()`` is true) and refuse values beyond what both databases store.
- ``form_int``, ``arg_int``, ``form_decimal``, ``form_date``, ``arg_date``: the same rules for values read from
  ``request.form`` / ``request.args`` by hand; a bad value aborts with a 422 (or 400 for query strings) and a
  clear message, never a 500.
- ``parse_int`` / ``parse_decimal``: the rules without a request, returning None for a bad value.
"""

from __future__ import annotations

import re
from datetime import date
from decimal import Decimal, InvalidOperation

from flask import abort, current_app, request
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from flask_wtf.csrf import generate_csrf
from markupsafe import Markup
from wtforms import DecimalField as _DecimalField
from wtforms import IntegerField as _IntegerField
from wtforms.validators import ValidationError

from app.errors import ServiceError
from app.timeutil import is_valid_timezone

# PostgreSQL INTEGER is 32-bit; SQLite stores 64. Ids and counts stay within the smaller one.
INT_MAX = 2**31 - 1
INT_MIN = -(2**31)
# Money and quantities: NUMERIC(12, 2) columns.
DECIMAL_MAX = Decimal("9999999999.99")
EARLIEST_DATE = date(1970, 1, 1)
LATEST_DATE = date(2100, 12, 31)

_INT = re.compile(r"[+-]?[0-9]{1,12}")
_DECIMAL = re.compile(r"[+-]?[0-9]{1,13}([.,][0-9]{1,6})?|[+-]?[.,][0-9]{1,6}")


class EmptyForm(FlaskForm):
    """A form with nothing but its CSRF token, for buttons that post."""


_CSRF_INPUT = Markup('<input name="%s" type="hidden" value="%s">')


def csrf_input() -> Markup:
    """The hidden CSRF field of a post form, as ``EmptyForm().csrf_token(id=False)`` writes it (nothing when CSRF is
    off), without building a form each time: a live board has a form per card, and ~500 forms took 30 ms of the
    render at 60 us each (the token itself is made once per request)."""
    config = current_app.config
    if not config.get("WTF_CSRF_ENABLED", True):
        return Markup("")
    return _CSRF_INPUT % (config.get("WTF_CSRF_FIELD_NAME", "csrf_token"), generate_csrf())


def parse_int(raw: object, *, minimum: int = INT_MIN, maximum: int = INT_MAX) -> int | None:
    if isinstance(raw, bool):
        return None
    if isinstance(raw, int):
        value = raw
    else:
        text = str(raw if raw is not None else "").strip()
        if not _INT.fullmatch(text):
            return None
        value = int(text)
    return value if minimum <= value <= maximum else None


def parse_decimal(raw: object, *, minimum: Decimal = -DECIMAL_MAX, maximum: Decimal = DECIMAL_MAX,
                  places: int = 2) -> Decimal | None:
    text = str(raw if raw is not None else "").strip()
    if not _DECIMAL.fullmatch(text):
        return None
    try:
        value = Decimal(text.replace(",", "."))
    except InvalidOperation:
        return None
    if not value.is_finite() or not minimum <= value <= maximum:
        return None
    if value.as_tuple().exponent < -places:  # type: ignore[operator]
        return None
    return value


def parse_date(raw: object, *, earliest: date = EARLIEST_DATE, latest: date = LATEST_DATE) -> date | None:
    text = str(raw if raw is not None else "").strip()
    if not re.fullmatch(r"[0-9]{4}-[0-9]{2}-[0-9]{2}", text):
        return None
    try:
        value = date.fromisoformat(text)
    except ValueError:
        return None
    return value if earliest <= value <= latest else None


def _read(source, name: str, required: bool, status: int):
    raw = (source.get(name) or "").strip()
    if not raw and required:
        abort(status, description=_("A required value is missing."))
    return raw


def form_int(name: str, *, required: bool = True, minimum: int = INT_MIN, maximum: int = INT_MAX,
             source=None, status: int = 422) -> int | None:
    raw = _read(source if source is not None else request.form, name, required, status)
    if not raw:
        return None
    value = parse_int(raw, minimum=minimum, maximum=maximum)
    if value is None:
        abort(status, description=_("“%(value)s” is not a whole number between %(low)s and %(high)s.",
                                    value=raw[:20], low=minimum, high=maximum))
    return value


def arg_int(name: str, default: int | None = None, *, minimum: int = INT_MIN, maximum: int = INT_MAX) -> int | None:
    """A whole number from the query string; absent gives the default, a bad value a 400."""
    value = form_int(name, required=False, minimum=minimum, maximum=maximum, source=request.args, status=400)
    return default if value is None else value


def form_decimal(name: str, *, required: bool = True, minimum: Decimal = -DECIMAL_MAX,
                 maximum: Decimal = DECIMAL_MAX, places: int = 2, source=None) -> Decimal | None:
    raw = _read(source if source is not None else request.form, name, required, 422)
    if not raw:
        return None
    value = parse_decimal(raw, minimum=minimum, maximum=maximum, places=places)
    if value is None:
        abort(422, description=_("“%(value)s” is not a number between %(low)s and %(high)s.",
                                 value=raw[:20], low=minimum, high=maximum))
    return value


def form_date(name: str, *, required: bool = False, source=None, status: int = 422) -> date | None:
    raw = _read(source if source is not None else request.form, name, required, status)
    if not raw:
        return None
    value = parse_date(raw)
    if value is None:
        abort(status, description=_("Give the date as YYYY-MM-DD, between %(first)s and %(last)s.",
                                    first=EARLIEST_DATE.isoformat(), last=LATEST_DATE.isoformat()))
    return value


def arg_date(name: str, default: date | None = None) -> date | None:
    value = form_date(name, source=request.args, status=400)
    return default if value is None else value


class _BoundedNumber:
    """Reads a number with ``parse`` (ASCII digits only) between ``minimum`` and ``maximum``; blank is None."""

    refused = _l("Enter a number between %(low)s and %(high)s.")

    def __init__(self, label=None, validators=None, minimum=None, maximum=None, **kwargs):
        super().__init__(label, validators, **kwargs)
        self.minimum, self.maximum = minimum, maximum

    def parse(self, raw: str):
        raise NotImplementedError

    def process_formdata(self, valuelist):
        if not valuelist or not str(valuelist[0]).strip():
            self.data = None
            return
        self.data = self.parse(valuelist[0])
        if self.data is None:
            raise ValueError(self.refused % {"low": self.minimum, "high": self.maximum})


class IntField(_BoundedNumber, _IntegerField):
    """An IntegerField that reads ASCII digits only and refuses what the database cannot store."""

    refused = _l("Enter a whole number between %(low)s and %(high)s.")

    def __init__(self, label=None, validators=None, minimum: int = INT_MIN, maximum: int = INT_MAX, **kwargs):
        super().__init__(label, validators, minimum, maximum, **kwargs)

    def parse(self, raw: str) -> int | None:
        return parse_int(raw, minimum=self.minimum, maximum=self.maximum)


class DecimalField(_BoundedNumber, _DecimalField):
    """A DecimalField that reads ASCII digits only, accepts a decimal comma and stays within NUMERIC(12, 2)."""

    def __init__(self, label=None, validators=None, minimum: Decimal = -DECIMAL_MAX,
                 maximum: Decimal = DECIMAL_MAX, **kwargs):
        super().__init__(label, validators, minimum, maximum, **kwargs)

    def parse(self, raw: str) -> Decimal | None:
        return parse_decimal(raw, minimum=self.minimum, maximum=self.maximum,
                             places=self.places if isinstance(self.places, int) else 2)


# "" keeps no stored language: the person follows their browser's language until they choose one.
LANGUAGE_CHOICES = [("", _l("The browser's language")), ("en", "English"), ("es", "Español"), ("it", "Italiano")]


def language_or_none(value: str | None) -> str | None:
    return value or None


def validate_timezone_field(form, field):
    # Length first: a 10,000-character name is a file name too long for the zoneinfo lookup (OSError).
    value = field.data or ""
    if len(value) > 64 or not is_valid_timezone(value):
        raise ValidationError(_l("Choose a time zone from the list."))


def validated(form: FlaskForm, error: type[ServiceError] = ServiceError) -> FlaskForm:
    """The form when it validates; otherwise ``error`` (a feature's ServiceError, with its own status) naming the
    first field that is wrong: "Level: Not a valid choice." The one error handler shows it; nothing is saved."""
    if not form.validate():
        name, errors = next(iter(form.errors.items()))
        label = form[name].label.text if name in form else name
        raise error(_("%(field)s: %(error)s", field=label, error=errors[0]))
    return form
