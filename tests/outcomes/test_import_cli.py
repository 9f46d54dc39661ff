"""`flask outcomes import` and `flask outcomes reattribute`."""

from __future__ import annotations

from sqlalchemy import func, select

from app.extensions import db
from app.outcomes import attribution
from app.outcomes.models import Case, Import, ImportStatus
from tests.outcomes.test_import_formats import FRESHDESK_HEADER, write_csv, zendesk_file, zendesk_row


def count(model) -> int:
    db.session.expire_all()
    return db.session.scalar(select(func.count()).select_from(model))


def test_cli_imports_a_zendesk_file_and_lists_bad_rows(runner, tmp_path):
    path = zendesk_file(tmp_path, [zendesk_row(Id="1"), zendesk_row(Id="2", Status="Lost"), zendesk_row(Id="3")])
    result = runner.invoke(args=["outcomes", "import", str(path), "--format", "zendesk", "--timezone", "UTC"])
    assert result.exit_code == 0, result.output
    assert "2 created" in result.output and "1 skipped" in result.output
    assert "line 3 (id 2)" in result.output and "Lost" in result.output
    assert count(Case) == 2
    import_ = db.session.scalar(select(Import))
    assert (import_.status, import_.timezone, import_.started_by_id) == (ImportStatus.DONE.value, "UTC", None)
    again = runner.invoke(args=["outcomes", "import", str(path), "--format", "zendesk", "--timezone", "UTC"])
    assert "0 created" in again.output and "2 unchanged" in again.output and count(Case) == 2


def test_cli_defaults_to_the_organisation_time_zone_and_reads_freshdesk(runner, tmp_path):
    path = write_csv(tmp_path / "fd.csv", FRESHDESK_HEADER,
                     [{"Ticket ID": "9", "Status": "Open", "Created time": "2026-07-01 10:00:00"}])
    result = runner.invoke(args=["outcomes", "import", str(path), "--format", "freshdesk"])
    assert result.exit_code == 0, result.output
    assert db.session.scalar(select(Import.timezone)) == "Europe/Madrid"
    assert db.session.scalar(select(Case.created_at)).hour == 8


def test_cli_refuses_a_bad_file_and_imports_nothing(runner, tmp_path):
    path = tmp_path / "x.csv"
    path.write_text("Name,Email\nAna,a@b.c\n", encoding="utf-8")
    result = runner.invoke(args=["outcomes", "import", str(path), "--format", "zendesk"])
    assert result.exit_code == 2 and "Refused, nothing imported" in result.output
    assert count(Case) == 0 and count(Import) == 0
    bad_zone = runner.invoke(args=["outcomes", "import", str(path), "--format", "zendesk", "--timezone", "Nowhere"])
    assert bad_zone.exit_code == 2
    bad_format = runner.invoke(args=["outcomes", "import", str(path), "--format", "excel"])
    missing = runner.invoke(args=["outcomes", "import", str(tmp_path / "none.csv"), "--format", "zendesk"])
    assert bad_format.exit_code == 2 and missing.exit_code == 2 and count(Import) == 0


def test_cli_field_options_and_reattribute(runner, tmp_path, make_segment):
    path = zendesk_file(tmp_path, [zendesk_row(Tags="vip seg_pymes")])
    result = runner.invoke(args=["outcomes", "import", str(path), "--format", "zendesk", "--segment-from", "tag:seg_"])
    assert result.exit_code == 0, result.output
    assert db.session.scalar(select(Case.raw_segment)) == "pymes"
    segment = make_segment("SMB")
    attribution.save_mapping(None, "segment", "pymes", target_id=segment.id)
    db.session.commit()
    result = runner.invoke(args=["outcomes", "reattribute"])
    assert result.exit_code == 0 and "1 cases re-attributed" in result.output
    db.session.expire_all()
    assert db.session.scalar(select(Case.segment_id)) == segment.id
