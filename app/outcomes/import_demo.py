"""Demo data for imports: the mappings that explain the demo cases' helpdesk values, and the import history."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import func, insert, select

from app.demo.org_data import LEADER_EMAIL
from app.extension_points import demo_step
from app.extensions import db
from app.org.models import LifecycleStage, Segment, User
from app.outcomes.attribution import save_mapping
from app.outcomes.demo_cases import RAW_REQUEST_TYPE, RAW_SEGMENT, RAW_STAGE
from app.outcomes.models import Case, Import, ImportRowError, ImportStatus

DEMO_ROW_ERRORS = (
    (1834, "180455", "Created at: “31/02/2026 09:14” is not a date and time (expected e.g. 2026-09-17 14:05)."),
    (7702, "186310", "Status “Escalated” is unknown (expected one of New, Open, Pending, Hold, Solved, Closed)."),
    (12090, None, "Id is empty: every case needs its id."),
)


@demo_step(15, "import mappings and history")
def load_import_demo(now: datetime) -> None:
    """Map the demo helpdesk's Spanish field values as a leader would, and record the import they came from."""
    leader = db.session.scalar(select(User).where(User.email == LEADER_EMAIL))
    segments = dict(db.session.execute(select(Segment.name, Segment.id)).all())
    stages = dict(db.session.execute(select(LifecycleStage.name, LifecycleStage.id)).all())
    for name, raw in RAW_SEGMENT.items():
        if name in segments:
            save_mapping(leader, "segment", raw, target_id=segments[name], now=now)
    for name, raw in RAW_STAGE.items():
        if name in stages:
            save_mapping(leader, "stage", raw, target_id=stages[name], now=now)
    for code, raw in RAW_REQUEST_TYPE.items():
        save_mapping(leader, "request_type", raw, target_value=code, now=now)
    cases = db.session.scalar(select(func.count()).select_from(Case).where(Case.source == "zendesk")) or 0
    started = (now - timedelta(hours=7)).replace(minute=12, second=0, microsecond=0)
    history = Import(source="zendesk", filename=f"zendesk-tickets-{started:%Y-%m-%d}.csv", timezone="Europe/Madrid",
                     status=ImportStatus.DONE.value, rows_total=cases + len(DEMO_ROW_ERRORS),
                     rows_processed=cases + len(DEMO_ROW_ERRORS), rows_created=cases,
                     rows_failed=len(DEMO_ROW_ERRORS), started_by_id=leader.id if leader else None,
                     created_at=started, finished_at=started + timedelta(seconds=4 + cases // 20_000))
    db.session.add(history)
    db.session.flush()
    db.session.execute(insert(ImportRowError.__table__), [
        {"import_id": history.id, "line": line, "external_id": external_id, "reason": reason}
        for line, external_id, reason in DEMO_ROW_ERRORS
    ])
    db.session.flush()
