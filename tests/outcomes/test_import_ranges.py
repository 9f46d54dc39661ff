"""One validation of ranges: every row of a file (and every API item) becomes a case or a row error."""

from __future__ import annotations

from sqlalchemy import func, select

from app.extensions import db
from app.outcomes.models import Case, ImportStatus
from tests.outcomes.test_import_formats import errors_of, run, write_csv, zendesk_file, zendesk_row

BAD_ZENDESK_CELLS = [
    {"Created at": "9999-01-01 10:00"},
    {"Due date": "9999-12-31"},
    {"Replies": "1e30"},
    {"Replies": str(2**63)},
    {"Reopens": str(2**31)},
    {"Created at": "0001-01-01 00:00"},
    {"Solved at": "1969-12-31 23:00"},
    {"First reply time in minutes": "1e30"},
    {"First resolution time in minutes": str(2**31 - 1)},  # fits the column, but lands after the year 9999
    {"Full resolution time in minutes": "inf"},
    {"Group stations": "nan"},
    {"Updated at": "2101-01-01 00:00"},
]


def test_out_of_range_cells_are_row_errors_on_their_own_lines_and_every_good_row_is_imported(tmp_path):
    rows, bad_lines, good_ids = [], {}, []
    for n in range(1, 61):
        if n % 5 == 0 and n // 5 <= len(BAD_ZENDESK_CELLS):
            rows.append(zendesk_row(Id=str(n), **BAD_ZENDESK_CELLS[n // 5 - 1]))
            bad_lines[n + 1] = str(n)  # the header is line 1
        else:
            rows.append(zendesk_row(Id=str(n), Replies=str(2**31 - 1) if n == 1 else "1"))
            good_ids.append(str(n))
    result = run(zendesk_file(tmp_path, rows))
    assert result.status == ImportStatus.DONE.value, result.message
    assert (result.rows_processed, result.rows_created, result.rows_failed) == (60, 48, 12)
    errors = errors_of(result)
    assert [(line, external_id) for line, external_id, _reason in errors] == sorted(bad_lines.items())
    assert all(reason for _line, _id, reason in errors)
    reasons = {external_id: reason for _line, external_id, reason in errors}
    assert "9999" in reasons["5"] and "1970" in reasons["5"]
    assert "too large" in reasons["15"] and "too large" in reasons["20"]
    stored = set(db.session.scalars(select(Case.external_id)))
    assert stored == set(good_ids)
    assert db.session.scalar(select(Case.replies).where(Case.external_id == "1")) == 2**31 - 1


def test_the_year_bounds_are_inclusive(tmp_path):
    path = write_csv(tmp_path / "p.csv", ["external_id", "status", "created_at", "updated_at"], [
        {"external_id": "a", "status": "open", "created_at": "1970-01-01T00:00:00Z", "updated_at": "2100-12-31 10:00"},
        {"external_id": "b", "status": "open", "created_at": "1969-12-31T23:59:59Z"},
        {"external_id": "c", "status": "open", "created_at": "2100-06-01 10:00", "updated_at": "2101-01-01 10:00"},
    ])
    result = run(path, fmt="podium", timezone="UTC")
    assert (result.rows_created, result.rows_failed) == (1, 2)
    assert [line for line, _id, _reason in errors_of(result)] == [3, 4]


def test_freshdesk_hours_beyond_the_column_are_row_errors(tmp_path):
    from tests.outcomes.test_import_formats import FRESHDESK_HEADER

    path = write_csv(tmp_path / "fd.csv", FRESHDESK_HEADER, [
        {"Ticket ID": "1", "Status": "Open", "Created time": "2026-07-01 10:00:00"},
        {"Ticket ID": "2", "Status": "Resolved", "Created time": "2026-07-01 10:00:00",
         "Resolution time (in hrs)": "1e30"},
        {"Ticket ID": "3", "Status": "Open", "Created time": "2026-07-01 10:00:00",
         "First response time (in hrs)": "inf"},
        {"Ticket ID": "4", "Status": "Open", "Created time": "2026-07-01 10:00:00", "Agent interactions": "1e30"},
    ])
    result = run(path, fmt="freshdesk", timezone="UTC")
    assert result.status == ImportStatus.DONE.value
    assert (result.rows_created, result.rows_failed) == (1, 3)
    assert [line for line, _id, _reason in errors_of(result)] == [3, 4, 5]
    assert db.session.scalar(select(func.count()).select_from(Case)) == 1
