"""The imports demo step: mappings that explain the demo cases' values, and one import in the history."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select

from app.extensions import db
from app.outcomes import attribution
from app.outcomes.import_demo import load_import_demo
from app.outcomes.models import Case, Import, ImportRowError, ImportStatus


def test_demo_step_maps_the_demo_values_and_records_an_import(make_user, make_segment):
    leader = make_user("leader", email="leader@example.com")
    residential = make_segment("Residential")
    db.session.add(Case(source="zendesk", external_id="180001", status="open", created_at=datetime(2026, 11, 2, 9),
                        raw_segment="Residencial", raw_stage="Posventa y garantía", raw_request_type="Garantía"))
    db.session.commit()
    load_import_demo(datetime(2026, 12, 1, 12))
    db.session.commit()
    history = db.session.scalar(select(Import))
    assert (history.status, history.rows_created, history.rows_failed) == (ImportStatus.DONE.value, 1, 3)
    assert history.started_by_id == leader.id and history.filename == "zendesk-tickets-2026-12-01.csv"
    assert len(db.session.scalars(select(ImportRowError)).all()) == 3
    unmapped = attribution.unmapped_by_kind()
    assert unmapped["segment"] == [] and unmapped["request_type"] == [] and unmapped["stage"] == []
    attribution.reattribute_cases(None)
    db.session.commit()
    db.session.expire_all()
    case = db.session.scalar(select(Case))
    assert (case.segment_id, case.request_type) == (residential.id, "warranty")
    assert case.stage_id is not None
