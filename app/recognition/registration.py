"""How recognition shows in the navigation and on "My day"."""

from __future__ import annotations

from datetime import date, timedelta

from flask_babel import lazy_gettext as _l
from sqlalchemy import select

from app.extension_points import home_section, nav_item
from app.extensions import db
from app.org.models import Role
from app.recognition.models import Recognition, RecognitionReceiver
from app.timeutil import utcnow

nav_item(60, "recognition.org_wall", _l("Recognition"), active_prefix="recognition.")
nav_item(60, "recognition.settings", _l("Recognition settings"), menu="admin",
         visible=lambda user: user.has_role(Role.ADMIN))


@home_section(60, "recognition/_home.html")
def recent_recognition(user, today: date) -> dict | None:
    since = utcnow() - timedelta(days=30)
    received = db.session.scalars(
        select(Recognition).join(RecognitionReceiver, RecognitionReceiver.recognition_id == Recognition.id)
        .where(RecognitionReceiver.user_id == user.id, Recognition.created_at >= since)
        .order_by(Recognition.created_at.desc()).limit(3)
    ).all()
    return {"received": received}
