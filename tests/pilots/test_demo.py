"""The demo's pilots: one on the worst cell, started ten weeks ago, whose cases improve from the start; one with
no effect built in; each written in its pod's language."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from app.extensions import db
from app.org.models import User, pod_coaches
from app.pilots import demo as pilots_demo
from app.pilots import services
from app.pilots.models import Pilot
from app.timeutil import utcnow
from tests.demo_snapshot import load_demo_snapshot


def test_demo_pilots_show_an_effect_and_speak_their_pods_language(app, quick_password_hashes):
    load_demo_snapshot()
    pilots = list(db.session.scalars(select(Pilot).order_by(Pilot.id)))
    assert len(pilots) == 2
    first, second = pilots
    assert utcnow().date() - first.start_date <= timedelta(weeks=10, days=1)
    for pilot, texts in ((first, pilots_demo.FIRST), (second, pilots_demo.SECOND)):
        locale = db.session.scalar(select(User.locale).join(pod_coaches, pod_coaches.c.user_id == User.id)
                                   .where(pod_coaches.c.pod_id == pilot.pod_id).order_by(User.id).limit(1))
        assert pilot.name == texts["name"].in_locale(locale)
        assert pilot.hypothesis == texts["hypothesis"].in_locale(locale)
    effect = services.measure_pilot(services.load(first.id))[0].effects["handoff_rate"]
    assert effect.enough and effect.high < 0  # fewer handoffs in the pilot cell than the rest would explain
    assert services.measure_pilot(services.load(second.id))[0].effects["complaint_share"].enough
