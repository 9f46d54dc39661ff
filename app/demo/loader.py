"""Load the demo organisation and its case history, once, or again from scratch with reset."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select

from app.demo.org_data import ADMIN_EMAIL, create_organisation
from app.extension_points import DEMO_STEPS
from app.extensions import db
from app.org.models import User
from app.timeutil import utcnow


def demo_present() -> bool:
    return db.session.scalar(select(User.id).where(User.email == ADMIN_EMAIL)) is not None


def wipe_database() -> None:
    """Delete every row of every table, children first; the schema stays."""
    for table in reversed(db.metadata.sorted_tables):
        db.session.execute(table.delete())
    db.session.expunge_all()


def load_demo(reset: bool = False, with_cases: bool = True, now: datetime | None = None) -> bool:
    """Create the demo data and commit; False when it is already there and no reset was asked."""
    now = now or utcnow()
    if reset:
        wipe_database()
    elif demo_present():
        return False
    try:
        create_organisation(now)
        if with_cases:
            for step in DEMO_STEPS:  # cases, stand-ups, retros, autonomy...: registered by each feature package
                step.run(now)
                db.session.flush()
        db.session.commit()
    except Exception:
        db.session.rollback()
        raise
    return True
