"""The one way Podium writes CSV for people: in the reader's locale, and with no cell a spreadsheet runs.

**Locale.** A file opens in the reader's spreadsheet as columns of numbers and dates, not as text: where the
locale writes decimals with a comma (Spanish, Italian) the separator is ``;`` and decimals carry a comma
(``0,85``), yes/no as 1/0; dates are written in the locale's day-first order with four-digit years (``03/12/2026``), and in
ISO 8601 where the locale's own order is month-first (English: ``2026-12-03``, which every spreadsheet
reads). Integers are written without grouping, so "1.200" never means 1.2. Outside a request (a job, a
test) the style is the English one.

**Formulas.** A cell starting with = + - @ (or a tab / carriage return) is prefixed with an apostrophe, so a
pod name, a retro card or an imported value never runs as a formula when the file is opened (CSV injection,
OWASP). Numbers are written by us, so a negative number stays a number.
"""

from __future__ import annotations

import csv
import io
import itertools
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal

from babel import Locale
from babel.dates import format_date
from babel.numbers import get_decimal_symbol
from flask import Response, has_request_context, stream_with_context
from flask_babel import get_locale

_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def safe_cell(value: object) -> object:
    if value is None:
        return ""
    if isinstance(value, str) and value.startswith(_FORMULA_START):
        return "'" + value
    return value


def _date_pattern(locale: Locale) -> str | None:
    """The locale's short numeric date with a four-digit year (a CLDR pattern), or None for ISO 8601."""
    pattern = locale.date_formats["short"].pattern
    if not pattern.startswith("d"):
        return None
    return pattern if "yyyy" in pattern else pattern.replace("yy", "yyyy")


@dataclass(frozen=True)
class CsvStyle:
    """How one locale writes a CSV: the separator, the decimal mark and the date order."""

    delimiter: str = ","
    decimal: str = "."
    date_pattern: str | None = None  # CLDR pattern; None = ISO 8601

    @classmethod
    def for_locale(cls, locale: Locale | str) -> CsvStyle:
        locale = Locale.parse(locale)
        decimal = get_decimal_symbol(locale)
        return cls(delimiter=";" if decimal == "," else ",", decimal=decimal, date_pattern=_date_pattern(locale))

    @classmethod
    def current(cls) -> CsvStyle:
        if not has_request_context():
            return cls()
        locale = get_locale()
        return cls.for_locale(locale) if locale is not None else cls()

    def _date(self, value: date) -> str:
        if self.date_pattern is None:
            return value.isoformat()
        return format_date(value, self.date_pattern, locale="en")  # numeric pattern: no names to translate

    def cell(self, value: object) -> object:
        """One value as the locale writes it in a spreadsheet (texts neutralised against formulas)."""
        if value is None:
            return ""
        if isinstance(value, bool):
            return "1" if value else "0"
        if isinstance(value, datetime):
            return f"{self._date(value.date())} {value:%H:%M:%S}"
        if isinstance(value, date):
            return self._date(value)
        if isinstance(value, int):
            return str(value)
        if isinstance(value, float | Decimal):
            text = format(value, "f") if isinstance(value, Decimal) else repr(value)
            if "e" in text or "E" in text:
                text = format(Decimal(repr(value)), "f")
            return text.replace(".", self.decimal)
        return safe_cell(value)


class SafeWriter:
    """A csv.writer in the reader's locale whose cells are neutralised one by one."""

    def __init__(self, buffer: io.StringIO, style: CsvStyle | None = None) -> None:
        self.style = style or CsvStyle.current()
        self._writer = csv.writer(buffer, delimiter=self.style.delimiter)

    def writerow(self, row: Iterable[object]) -> None:
        self._writer.writerow([self.style.cell(cell) for cell in row])

    def writerows(self, rows: Iterable[Iterable[object]]) -> None:
        for row in rows:
            self.writerow(row)


def csv_text(rows: Iterable[Iterable[object]], style: CsvStyle | None = None) -> str:
    buffer = io.StringIO()
    SafeWriter(buffer, style).writerows(rows)
    return buffer.getvalue()


def csv_response(content: str | Iterator[str], filename: str) -> Response:
    """A CSV download: UTF-8 with a BOM so spreadsheets read accents right; an iterator is streamed (inside the
    request's context, so a long export never holds the whole file in memory)."""
    safe_name = "".join(c if c.isalnum() or c in "-_." else "-" for c in filename) or "export.csv"
    if isinstance(content, str):
        body: str | Iterator[str] = "\ufeff" + content
    else:
        body = stream_with_context(itertools.chain(("\ufeff",), content))
    return Response(body, mimetype="text/csv", headers={"Content-Disposition": f'attachment; filename="{safe_name}"'})
