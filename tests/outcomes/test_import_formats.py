"""File imports: each format, idempotent re-import, newer exports, every kind of bad row and bad file."""

from __future__ import annotations

import csv
import io
from datetime import datetime
from pathlib import Path

import pytest
from sqlalchemy import func, select

from app.extensions import db
from app.outcomes import attribution, ingest
from app.outcomes.importers import FileRejected
from app.outcomes.models import Case, Import, ImportRowError, ImportStatus

ZENDESK_HEADER = (
    "Id,Requester,Requester id,Requester external id,Requester email,Requester domain,Submitter,Assignee,Group,"
    "Subject,Tags,Status,Priority,Via,Ticket type,Created at,Updated at,Assigned at,Organization,Due date,"
    "Initially assigned at,Solved at,Resolution time,Satisfaction Score,Group stations,Assignee stations,Reopens,"
    "Replies,First reply time in minutes,First reply time in minutes within business hours,"
    "First resolution time in minutes,First resolution time in minutes within business hours,"
    "Full resolution time in minutes,Full resolution time in minutes within business hours,"
    "Agent wait time in minutes,Agent wait time in minutes within business hours,Requester wait time in minutes,"
    "Requester wait time in minutes within business hours,On hold time in minutes,"
    "On hold time in minutes within business hours,Segment [list],Lifecycle stage [list],Request type [list]"
).split(",")
FRESHDESK_HEADER = (
    "Ticket ID,Subject,Description,Status,Priority,Source,Type,Agent,Group,Created time,Due by Time,Resolved time,"
    "Closed time,Last update time,Initial response time,Time tracked,First response time (in hrs),"
    "Resolution time (in hrs),Agent interactions,Customer interactions,Resolution status,First response status,Tags,"
    "Survey results,Product"
).split(",")


def zendesk_row(**values: str) -> dict[str, str]:
    row = {
        "Id": "1", "Requester": "Cliente 1", "Requester id": "501", "Requester email": "c1@example.com",
        "Assignee": "Ana Torres", "Group": "Soporte", "Subject": 'Router "roto", otra vez', "Tags": "vip",
        "Status": "Solved", "Priority": "High", "Via": "Email", "Ticket type": "Incident",
        "Created at": "2026-07-01 10:00", "Updated at": "2026-07-02 10:00", "Assigned at": "2026-07-01 10:05",
        "Initially assigned at": "2026-07-01 10:05", "Solved at": "2026-07-02 09:00", "Satisfaction Score": "Good",
        "Group stations": "1", "Assignee stations": "1", "Reopens": "0", "Replies": "1",
        "First reply time in minutes": "30", "First resolution time in minutes": "1380",
        "Full resolution time in minutes": "1380", "Segment [list]": "Residencial",
        "Lifecycle stage [list]": "Posventa", "Request type [list]": "Garantía",
    }
    row.update(values)
    return row


def write_csv(path: Path, header: list[str], rows: list[dict[str, str]], *, encoding: str = "utf-8") -> Path:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(header)
    for row in rows:
        writer.writerow([row.get(name, "") for name in header])
    path.write_bytes(buffer.getvalue().encode(encoding))
    return path


def zendesk_file(tmp_path: Path, rows: list[dict[str, str]], name: str = "tickets.csv") -> Path:
    return write_csv(tmp_path / name, ZENDESK_HEADER, rows)


def run(path: Path, fmt: str = "zendesk", timezone: str = "Europe/Madrid") -> Import:
    return ingest.import_file(path, fmt=fmt, timezone=timezone)


def case(external_id: str, source: str = "zendesk") -> Case:
    db.session.expire_all()
    return db.session.scalar(select(Case).where(Case.source == source, Case.external_id == external_id))


def errors_of(import_: Import) -> list[tuple[int, str | None, str]]:
    return [tuple(row) for row in db.session.execute(
        select(ImportRowError.line, ImportRowError.external_id, ImportRowError.reason)
        .where(ImportRowError.import_id == import_.id).order_by(ImportRowError.line))]


# --- each format ----------------------------------------------------------------------------------


def test_zendesk_row_becomes_a_case_in_utc_with_durations_and_pseudonymous_customer(tmp_path):
    result = run(zendesk_file(tmp_path, [zendesk_row(**{"Due date": "2026-07-03", "Tags": "vip escalated"})]))
    assert (result.status, result.rows_created, result.rows_failed) == (ImportStatus.DONE.value, 1, 0)
    stored = case("1")
    assert stored.created_at == datetime(2026, 7, 1, 8, 0)  # Madrid is UTC+2 in July
    assert stored.first_reply_at == datetime(2026, 7, 1, 8, 30) and stored.first_reply_minutes == 30
    assert stored.first_resolved_at == datetime(2026, 7, 2, 7, 0) and stored.resolution_minutes == 1380
    assert stored.due_at == datetime(2026, 7, 3, 22, 0)  # a date alone is the end of that day
    assert (stored.status, stored.channel, stored.priority, stored.csat_score) == ("solved", "email", "high", 5)
    assert stored.escalated is True
    assert (stored.raw_segment, stored.raw_stage, stored.raw_request_type) == ("Residencial", "Posventa", "Garantía")
    assert (stored.raw_group, stored.raw_assignee) == ("Soporte", "Ana Torres")
    assert stored.customer_ref and "501" not in stored.customer_ref and "example.com" not in stored.customer_ref
    assert stored.import_id == result.id


def test_zendesk_dashes_blanks_and_a_leading_summation_column(tmp_path):
    header = ["Summation column", *ZENDESK_HEADER]
    row = zendesk_row(**{"Summation column": "", "Assignee": "-", "Satisfaction Score": "Offered",
                         "Status": "Open", "Solved at": "", "First resolution time in minutes": "",
                         "Full resolution time in minutes": "", "Group stations": "-", "Via": "Web Form"})
    result = run(write_csv(tmp_path / "t.csv", header, [row]))
    assert result.rows_created == 1 and result.rows_failed == 0
    stored = case("1")
    assert stored.raw_assignee is None and stored.csat_score is None and stored.first_resolved_at is None
    assert stored.group_stations == 1 and stored.channel == "web"


def test_freshdesk_durations_come_from_timestamps_with_hours_as_fallback(tmp_path):
    rows = [
        {"Ticket ID": "F-1", "Status": "Resolved", "Priority": "Urgent", "Source": "Phone", "Type": "Complaint",
         "Agent": "Ana Torres", "Group": "Soporte", "Created time": "2026-07-01 10:00:00",
         "Resolved time": "2026-07-01 12:30:00", "Initial response time": "2026-07-01 10:15:00",
         "Agent interactions": "2", "Survey results": "Extremely Happy", "Due by Time": "2026-07-02 10:00:00"},
        {"Ticket ID": "F-2", "Status": "Closed", "Source": "Chat", "Created time": "2026-07-01 10:00:00",
         "First response time (in hrs)": "01:30:00", "Resolution time (in hrs)": "2.5", "Survey results": "Unhappy"},
    ]
    result = run(write_csv(tmp_path / "fd.csv", FRESHDESK_HEADER, rows), fmt="freshdesk", timezone="UTC")
    assert (result.rows_created, result.rows_failed) == (2, 0), errors_of(result)
    first, second = case("F-1", "freshdesk"), case("F-2", "freshdesk")
    assert (first.first_reply_minutes, first.resolution_minutes, first.replies) == (15, 150, 2)
    assert (first.status, first.channel, first.priority, first.csat_score) == ("solved", "phone", "urgent", 5)
    assert first.raw_request_type == "Complaint"
    assert (second.first_reply_minutes, second.resolution_minutes, second.csat_score) == (90, 150, 2)
    assert second.first_resolved_at == datetime(2026, 7, 1, 12, 30) and second.channel == "chat"


def test_podium_csv_with_offsets_and_defaults(tmp_path):
    path = tmp_path / "podium.csv"
    path.write_text(
        "external_id,status,created_at,solved_at,channel,csat_score,nps_score,escalated,segment,request_type\n"
        "P-1,solved,2026-07-01T10:00:00+02:00,2026-07-01T11:00:00+02:00,chat,4,9,true,Pymes,warranty\n"
        "P-2,open,2026-07-01 10:00,,,,,,,\n",
        encoding="utf-8",
    )
    result = run(path, fmt="podium")
    assert (result.rows_created, result.rows_failed) == (2, 0), errors_of(result)
    first, second = case("P-1", "podium"), case("P-2", "podium")
    assert first.created_at == datetime(2026, 7, 1, 8, 0) and first.resolution_minutes == 60
    assert (first.channel, first.csat_score, first.nps_score, first.escalated) == ("chat", 4, 9, True)
    assert first.request_type == "warranty"  # Podium's own code maps by itself
    assert second.created_at == datetime(2026, 7, 1, 8, 0) and second.escalated is False
    assert (second.replies, second.group_stations) == (0, 1)


def test_tag_prefix_selects_a_field(tmp_path):
    path = zendesk_file(tmp_path, [zendesk_row(Tags="vip seg_pymes stage_venta")])
    ingest.import_file(path, fmt="zendesk", timezone="UTC",
                       options=ingest.ParseOptions(segment_from="tag:seg_", stage_from="tag:stage_"))
    stored = case("1")
    assert (stored.raw_segment, stored.raw_stage) == ("pymes", "venta")


# --- idempotence and newer exports ----------------------------------------------------------------


def test_same_file_twice_changes_nothing(tmp_path):
    path = zendesk_file(tmp_path, [zendesk_row(Id=str(n)) for n in range(1, 6)])
    first = run(path)
    before = db.session.execute(select(Case.id, Case.external_id, Case.imported_at).order_by(Case.id)).all()
    second = run(path)
    assert (first.rows_created, second.rows_created, second.rows_updated, second.rows_unchanged) == (5, 0, 0, 5)
    assert db.session.execute(select(Case.id, Case.external_id, Case.imported_at).order_by(Case.id)).all() == before


def test_a_case_changed_after_its_import_is_compared_by_its_columns(tmp_path):
    """An unchanged re-import reads each case's row digest; a case changed since (through the ORM, or without
    its digest: cases imported before there was one) is compared column by column and gets its digest back."""
    path = zendesk_file(tmp_path, [zendesk_row(Id=str(n)) for n in range(1, 5)])
    run(path)
    assert None not in db.session.scalars(select(Case.row_hash)).all()
    case("1").replies = 7  # changed by hand: the file puts it back
    db.session.commit()
    assert case("1").row_hash is None
    db.session.execute(Case.__table__.update().where(Case.external_id == "3").values(row_hash=None))
    db.session.commit()
    again = run(path)
    assert (again.rows_created, again.rows_updated, again.rows_unchanged) == (0, 1, 3)
    assert case("1").replies == 1
    assert None not in db.session.scalars(select(Case.row_hash)).all()
    assert run(path).rows_unchanged == 4


def test_a_file_imported_again_is_passed_over_unread_only_where_nothing_changed(tmp_path, monkeypatch, make_pod):
    """Rows of a file imported before are known by their digest (cases.raw_hash) and not read again; a row that
    changed, a case changed since, a mapping changed since, an id repeated in the file are read as always."""
    rows = [zendesk_row(Id=str(n)) for n in range(1, 7)]
    path = zendesk_file(tmp_path, rows)
    run(path)
    assert None not in db.session.scalars(select(Case.raw_hash)).all()
    read = []
    original = ingest.RawRow.read

    def counted(self):
        read.append(self.external_id)
        return original(self)

    monkeypatch.setattr(ingest.RawRow, "read", counted)
    again = run(path)
    assert (again.rows_created, again.rows_updated, again.rows_unchanged, read) == (0, 0, 6, [])

    case("2").replies = 7  # changed by hand: the file puts it back
    db.session.commit()
    rows[2] = zendesk_row(Id="3", Replies="4")  # changed in the file
    rows.append(zendesk_row(Id="9", Status="Bogus"))  # a new row that is an error
    rows.append(zendesk_row(Id="5", Replies="5"))  # repeated: its last row wins
    rows.append(zendesk_row(Id="10", Replies="2"))  # a new case
    again = run(zendesk_file(tmp_path, rows))
    assert sorted(read) == ["10", "2", "3", "5", "5", "9"]
    # the first row of 5 is replaced by its second in the file, and the case by that: two updates, as always
    assert (again.rows_created, again.rows_updated, again.rows_unchanged, again.rows_failed) == (1, 4, 3, 1)
    assert errors_of(again)[0][:2] == (8, "9")
    assert (case("2").replies, case("3").replies, case("5").replies, case("10").replies) == (1, 4, 5, 2)

    read.clear()
    pod = make_pod("Support")
    attribution.save_mapping(None, "pod", "Soporte", target_id=pod.id)  # the cases would be attributed otherwise
    db.session.commit()
    again = run(zendesk_file(tmp_path, rows))
    assert len(read) == 9 and again.rows_unchanged == 0
    assert case("1").pod_id == pod.id


def test_newer_export_updates_the_cases_it_contains(tmp_path):
    run(zendesk_file(tmp_path, [zendesk_row(Id="1", Status="Open", **{"Solved at": "",
                                            "First resolution time in minutes": "",
                                            "Full resolution time in minutes": ""}),
                                zendesk_row(Id="2")], "old.csv"))
    newer = run(zendesk_file(tmp_path, [zendesk_row(Id="1", Reopens="1"), zendesk_row(Id="3")], "new.csv"))
    assert (newer.rows_created, newer.rows_updated, newer.rows_unchanged) == (1, 1, 0)
    updated = case("1")
    assert (updated.status, updated.reopens, updated.first_resolved_at) == ("solved", 1, datetime(2026, 7, 2, 7, 0))
    assert updated.import_id == newer.id
    assert db.session.scalar(select(func.count()).select_from(Case)) == 3


def test_a_case_repeated_in_one_file_keeps_its_last_row(tmp_path):
    result = run(zendesk_file(tmp_path, [zendesk_row(Id="1", Replies="1"), zendesk_row(Id="1", Replies="4")]))
    assert (result.rows_created, result.rows_updated) == (1, 1)
    assert case("1").replies == 4


def test_sources_do_not_collide_on_the_same_id(tmp_path):
    run(zendesk_file(tmp_path, [zendesk_row(Id="7")]))
    path = tmp_path / "p.csv"
    path.write_text("external_id,status,created_at\n7,open,2026-07-01 10:00\n", encoding="utf-8")
    result = run(path, fmt="podium")
    assert result.rows_created == 1
    assert db.session.scalar(select(func.count()).select_from(Case)) == 2


def test_small_batches_give_the_same_result(tmp_path):
    path = zendesk_file(tmp_path, [zendesk_row(Id=str(n)) for n in range(1, 12)] + [zendesk_row(Id="3", Replies="9")])
    progress = []
    result = ingest.import_file(path, fmt="zendesk", timezone="UTC", batch_size=5, progress=lambda c: progress.append(
        c.processed))
    assert (result.rows_created, result.rows_updated, result.rows_processed) == (11, 1, 12)
    assert progress == [5, 10, 12]
    assert case("3").replies == 9


# --- bad rows -------------------------------------------------------------------------------------


def test_bad_rows_are_reported_with_line_and_reason_and_the_others_imported(tmp_path):
    rows = [
        zendesk_row(Id="1"),
        zendesk_row(Id="2", **{"Created at": "not a date"}),
        zendesk_row(Id="3", Status="Escalated"),
        zendesk_row(Id=""),
        zendesk_row(Id="5", Replies="many"),
        zendesk_row(Id="6", Reopens="-1"),
        zendesk_row(Id="7", **{"Created at": ""}),
        zendesk_row(Id="8"),
    ]
    path = zendesk_file(tmp_path, rows)
    with path.open("a", encoding="utf-8") as handle:
        handle.write("9,too,few\r\n")
    result = run(path)
    assert (result.status, result.rows_created, result.rows_failed) == (ImportStatus.DONE.value, 2, 7)
    errors = errors_of(result)
    assert [(line, external_id) for line, external_id, _reason in errors] == [
        (3, "2"), (4, "3"), (5, None), (6, "5"), (7, "6"), (8, "7"), (10, "9")]
    reasons = [reason for *_rest, reason in errors]
    assert "not a date" in reasons[0] and "Created at" in reasons[0]
    assert "Escalated" in reasons[1] and "unknown" in reasons[1]
    assert "Id is empty" in reasons[2]
    assert "Replies" in reasons[3] and "whole number" in reasons[3]
    assert "negative" in reasons[4]
    assert "Created at is empty" in reasons[5]
    assert "columns" in reasons[6]
    assert {c for c in db.session.scalars(select(Case.external_id))} == {"1", "8"}


def test_line_numbers_count_quoted_newlines(tmp_path):
    rows = [zendesk_row(Id="1", Subject="line one\nline two\nline three"), zendesk_row(Id="2", Status="Nope")]
    result = run(zendesk_file(tmp_path, rows))
    assert [line for line, *_rest in errors_of(result)] == [5]


def test_freshdesk_and_podium_bad_rows(tmp_path):
    fd = write_csv(tmp_path / "fd.csv", FRESHDESK_HEADER, [
        {"Ticket ID": "1", "Status": "Resolved", "Created time": "2026-07-01 10:00:00",
         "First response time (in hrs)": "soon"},
        {"Ticket ID": "2", "Status": "Lost", "Created time": "2026-07-01 10:00:00"},
    ])
    result = run(fd, fmt="freshdesk")
    assert result.rows_failed == 2 and "not a duration" in errors_of(result)[0][2]
    podium = tmp_path / "p.csv"
    podium.write_text("external_id,status,created_at,channel,csat_score,escalated\n"
                      "1,open,2026-07-01 10:00,pigeon,,\n2,open,2026-07-01 10:00,,7,\n3,open,2026-07-01 10:00,,,maybe\n",
                      encoding="utf-8")
    result = run(podium, fmt="podium")
    reasons = [reason for *_rest, reason in errors_of(result)]
    assert result.rows_failed == 3 and "pigeon" in reasons[0] and "between 1 and 5" in reasons[1]
    assert "maybe" in reasons[2]


# --- bad files: refused, nothing imported ---------------------------------------------------------


def _refused(path: Path, fmt: str = "zendesk") -> str:
    with pytest.raises(FileRejected) as raised:
        run(path, fmt=fmt)
    assert db.session.scalar(select(func.count()).select_from(Case)) == 0
    assert db.session.scalar(select(func.count()).select_from(Import)) == 0
    return raised.value.message


def test_wrong_headers_are_refused_naming_the_missing_columns(tmp_path):
    path = tmp_path / "x.csv"
    path.write_text("Name,Email\nAna,ana@example.com\n", encoding="utf-8")
    message = _refused(path)
    assert "Zendesk" in message and "“Id”" in message and "“Created at”" in message


def test_an_export_of_another_format_says_which(tmp_path):
    message = _refused(write_csv(tmp_path / "fd.csv", FRESHDESK_HEADER, []), fmt="zendesk")
    assert "Freshdesk" in message


def test_unknown_podium_columns_are_refused(tmp_path):
    path = tmp_path / "p.csv"
    path.write_text("external_id,status,created_at,customer_email\n1,open,2026-07-01 10:00,a@b.c\n", encoding="utf-8")
    assert "customer_email" in _refused(path, fmt="podium")


def test_not_utf8_is_refused_with_the_line(tmp_path):
    path = write_csv(tmp_path / "latin.csv", ZENDESK_HEADER, [zendesk_row(Id="1"), zendesk_row(Id="2", Subject="Garantía")],
                     encoding="latin-1")
    message = _refused(path)
    assert "UTF-8" in message and "line 2" in message


def test_utf16_binary_spreadsheet_empty_and_semicolons_are_refused(tmp_path):
    utf16 = tmp_path / "u16.csv"
    utf16.write_bytes(",".join(ZENDESK_HEADER).encode("utf-16"))
    assert "UTF-16" in _refused(utf16)
    binary = tmp_path / "image.csv"
    binary.write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR")
    assert "binary" in _refused(binary)
    xlsx = tmp_path / "export.xlsx"
    xlsx.write_bytes(b"PK\x03\x04" + b"x" * 100)
    assert "spreadsheet" in _refused(xlsx)
    empty = tmp_path / "empty.csv"
    empty.write_bytes(b"")
    assert "empty" in _refused(empty)
    semicolons = tmp_path / "semi.csv"
    semicolons.write_text(";".join(ZENDESK_HEADER) + "\n", encoding="utf-8")
    assert "comma" in _refused(semicolons)


def test_unknown_time_zone_and_missing_configured_column_are_refused(tmp_path):
    path = zendesk_file(tmp_path, [zendesk_row()])
    with pytest.raises(FileRejected, match="time zone"):
        ingest.import_file(path, fmt="zendesk", timezone="Mars/Olympus")
    with pytest.raises(FileRejected, match="Customer tier"):
        ingest.import_file(path, fmt="zendesk", timezone="UTC",
                           options=ingest.ParseOptions(segment_from="Customer tier"))
    assert db.session.scalar(select(func.count()).select_from(Case)) == 0


def test_a_bom_is_accepted(tmp_path):
    path = tmp_path / "bom.csv"
    path.write_bytes(b"\xef\xbb\xbf" + b"external_id,status,created_at\n1,open,2026-07-01 10:00\n")
    assert run(path, fmt="podium").rows_created == 1


def test_import_attributes_cases_with_the_mappings(tmp_path, make_pod, make_segment, make_user):
    pod = make_pod("Care")
    segment = make_segment("Residential")
    agent = make_user("agent", name="Ana Torres")
    attribution.save_mapping(None, "pod", "Soporte", target_id=pod.id)
    attribution.save_mapping(None, "segment", "residencial", target_id=segment.id)
    attribution.save_mapping(None, "request_type", "GARANTÍA", target_value="warranty")
    db.session.commit()
    run(zendesk_file(tmp_path, [zendesk_row()]))
    stored = case("1")
    assert (stored.pod_id, stored.segment_id, stored.request_type, stored.assignee_id) == (
        pod.id, segment.id, "warranty", agent.id)


def test_a_file_that_breaks_half_way_keeps_what_was_committed_and_fails_clearly(tmp_path, monkeypatch):
    monkeypatch.setattr(ingest, "COMMIT_SECONDS", 0)
    path = zendesk_file(tmp_path, [zendesk_row(Id=str(n)) for n in range(1, 301)])
    with path.open("ab") as handle:
        handle.write(b"999,\xff\xfe broken\r\n")
    queued = Import(source="zendesk", filename="broken.csv", timezone="UTC", rows_total=301)
    db.session.add(queued)
    db.session.commit()
    result = ingest.import_file(path, fmt="zendesk", timezone="UTC", import_=queued, checked=True, batch_size=50)
    assert result.status == ImportStatus.FAILED.value
    stored = db.session.scalar(select(func.count()).select_from(Case))
    assert 0 < stored < 300 and stored % 50 == 0
    assert (result.rows_created, result.rows_processed) == (stored, stored)
    assert "UTF-8" in result.message and f"row {stored};" in result.message


def test_row_errors_are_written_in_the_language_of_whoever_imports(tmp_path, make_user):
    leader = make_user("leader", locale="es")
    path = zendesk_file(tmp_path, [zendesk_row(Id="1", **{"Created at": "ayer"})])
    result = ingest.import_file(path, fmt="zendesk", timezone="UTC", actor=leader)
    [(_line, _id, reason)] = errors_of(result)
    assert "ayer" in reason and "is not a date" not in reason
