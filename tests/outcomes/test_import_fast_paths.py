"""The importer's shortcuts for the common case give exactly what the general code gives."""

from __future__ import annotations

import random
from datetime import datetime, timedelta

import pytest

from app.outcomes import ingest
from app.outcomes.importers import ParseOptions, RowProblem, TimeReader, ZendeskParser, hash_customer_ref
from app.outcomes.models import ImportStatus
from app.outcomes.records import _UNSTORABLE, CaseRecord, RangeProblem, _unstorable, check_record
from tests.outcomes.test_import_formats import ZENDESK_HEADER, errors_of, zendesk_file, zendesk_row

# Whole-hour, half-hour and 45-minute offsets, a 30-minute DST shift (Lord Howe), southern and northern DST
ZONES = ("Europe/Madrid", "America/St_Johns", "Asia/Kathmandu", "Australia/Lord_Howe", "America/Santiago", "UTC")


def _general(zone: str, column: str, value: str, day_end: bool = False) -> datetime | str | None:
    """What a reader that has seen nothing yet gives (no cache: the general path), or its error."""
    try:
        return TimeReader(zone)(column, value, day_end=day_end)
    except RowProblem as exc:
        return str(exc)


@pytest.mark.parametrize("zone", ZONES)
def test_times_written_as_zendesk_writes_them_read_alike_warm_or_cold(zone):
    rng = random.Random(zone)
    reader = TimeReader(zone)
    moments = []
    for year in (1970, 2026, 2100):  # around the year bounds, and every DST change of a year
        start = datetime(year, 1, 1) if year != 2100 else datetime(2100, 12, 30)
        moments += [start + timedelta(minutes=rng.randrange(0, 60 * 24 * (366 if year == 2026 else 2)))
                    for _n in range(3000)]
    for day in ("2026-03-08", "2026-03-29", "2026-04-05", "2026-09-06", "2026-10-04", "2026-10-25", "2026-11-01"):
        first = datetime.fromisoformat(day)
        moments += [first + timedelta(minutes=minute) for minute in range(0, 24 * 60, 7)]
    values = [moment.strftime("%Y-%m-%d %H:%M") for moment in moments]
    values += [value.replace(" ", "T") for value in values[:500]]
    # Near misses of the fast path's form after their hour has been read: each must go the general way
    values += ["2026-07-01 10:60", "2026-07-01 10:5x", "2026-07-01 10:05 ", " 2026-07-01 10:0", "2026-07-01 10:-5",
               "2026-07-01 10:+5", "2026-07-01 10:٠٥", "2026-07-01 10:05Z", "2026-07-01 10", "2026-07-01",
               "1969-12-31 23:59", "2101-01-01 00:00", "2026-W27-3 10:05", "2026-W27-3 10:06"]
    for _round in range(2):  # the second time, every hour is known
        rng.shuffle(values)
        for value in values:
            try:
                warm = reader("Created at", value)
            except RowProblem as exc:
                warm = str(exc)
            assert warm == _general(zone, "Created at", value), (zone, value)
    assert reader.utc_hours  # the fast path was taken


def test_a_due_date_with_and_without_a_time_reads_alike_warm_or_cold():
    reader = TimeReader("Europe/Madrid")
    for value in ("2026-10-25 01:30", "2026-10-25", "2026-10-25 02:30", "2026-10-25 02:45", "2026-10-24"):
        reader("Created at", value)
    for value in ("2026-10-25", "2026-10-25 02:31", "2026-10-24", "2026-10-25 01:59"):
        assert reader("Due date", value, day_end=True) == _general("Europe/Madrid", "Due date", value, True)


def test_the_text_check_finds_what_the_pattern_finds():
    rng = random.Random(3)
    alphabet = ["a", "ñ", "é", "\x00", "\ud800", "\udfff", "\U0001f600", " ", "漢", "\ud83d\ude00"]
    for _n in range(5000):
        text = "".join(rng.choice(alphabet) for _i in range(rng.randrange(0, 6)))
        assert _unstorable(text) == bool(_UNSTORABLE.search(text)), repr(text)


@pytest.mark.parametrize(("field", "value", "kind"), [
    ("raw_group", "Soporte\udc80", "text"), ("raw_assignee", "A\x00", "text"), ("replies", -1, "integer"),
    ("reopens", 2**31, "integer"), ("first_reply_minutes", 0, None), ("due_at", datetime(1969, 12, 31), "time"),
    ("solved_at", datetime(2101, 1, 1), "time"), ("closed_at", datetime(2100, 12, 31, 23, 59), None),
])
def test_a_record_s_values_are_checked_field_by_field(field, value, kind):
    record = CaseRecord("1", "open", datetime(2026, 7, 1), **{field: value})
    if kind is None:
        check_record(record)
        return
    with pytest.raises(RangeProblem) as caught:
        check_record(record)
    assert (caught.value.field, caught.value.kind) == (field, kind)


def test_a_zendesk_row_s_first_wrong_value_is_its_error(tmp_path):
    rows = [
        zendesk_row(Id="1", **{"Solved at": "soon", "Replies": "many"}),
        zendesk_row(Id="2", **{"Due date": "tomorrow", "Replies": "many"}),
        zendesk_row(Id="3", **{"Replies": "many", "Group stations": "-2"}),
        zendesk_row(Id="4", **{"Initially assigned at": "", "Assigned at": "later", "Due date": "x"}),
        zendesk_row(Id="5", **{"First reply time in minutes": "99999999999", "Due date": "x"}),
        zendesk_row(Id="6"),
    ]
    result = ingest.import_file(zendesk_file(tmp_path, rows), fmt="zendesk", timezone="Europe/Madrid")
    assert (result.status, result.rows_created) == (ImportStatus.DONE.value, 1)
    reasons = {external_id: reason for _line, external_id, reason in errors_of(result)}
    assert "Solved at" in reasons["1"] and "Due date" in reasons["2"] and "Replies" in reasons["3"]
    assert "Assigned at" in reasons["4"] and "First reply time" in reasons["5"]


@pytest.mark.parametrize("salt", [b"", b"s", b"k" * 64, b"x" * 100])
def test_customer_references_are_the_salted_hash_of_the_format_and_id(salt):
    parser = ZendeskParser(list(ZENDESK_HEADER), ParseOptions(salt=salt))
    for value in ("501", " 501 ", "cliente@example.com", "ñandú"):
        assert parser.customer(value) == hash_customer_ref(f"zendesk:{value.strip()}", salt)
    assert parser.customer(" - ") is None and parser.customer("") is None
