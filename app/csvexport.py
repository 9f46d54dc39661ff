"""The one way Podium writes CSV for people: every cell a spreadsheet could read as a formula is neutralised.

A cell starting with = + - @ (or a tab / carriage return) is prefixed with an apostrophe, so a pod name, a retro
card or an imported value never runs as a formula when the file is opened (CSV injection, OWASP).
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable

from flask import Response

_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def safe_cell(value: object) -> object:
    if isinstance(value, str) and value.startswith(_FORMULA_START):
        return "'" + value
    return value


class SafeWriter:
    """A csv.writer whose rows are neutralised cell by cell."""

    def __init__(self, buffer: io.StringIO, **kwargs) -> None:
        self._writer = csv.writer(buffer, **kwargs)

    def writerow(self, row: Iterable[object]) -> None:
        self._writer.writerow([safe_cell(cell) for cell in row])

    def writerows(self, rows: Iterable[Iterable[object]]) -> None:
        for row in rows:
            self.writerow(row)


def csv_text(rows: Iterable[Iterable[object]]) -> str:
    buffer = io.StringIO()
    SafeWriter(buffer).writerows(rows)
    return buffer.getvalue()


def csv_response(rows: Iterable[Iterable[object]], filename: str) -> Response:
    """A CSV download (UTF-8 with a BOM so spreadsheets read accents right)."""
    safe_name = "".join(c if c.isalnum() or c in "-_." else "-" for c in filename) or "export.csv"
    return Response("\ufeff" + csv_text(rows), mimetype="text/csv",
                    headers={"Content-Disposition": f'attachment; filename="{safe_name}"'})
