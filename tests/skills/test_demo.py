"""The demo gives every pod a skills matrix with a few gaps, its added skills named in the pod's language."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select

from app.demo.language import texts_in
from app.extensions import db
from app.org.models import Pod, User, pod_coaches
from app.skills import demo as skills_demo
from app.skills import services
from app.skills.models import PodSkill
from tests.demo_snapshot import load_demo_snapshot

NOW = datetime(2026, 11, 25, 9, 30)


def test_every_pod_has_a_matrix_with_a_few_gaps_in_its_language(app):
    assert load_demo_snapshot(now=NOW) is True
    pods = list(db.session.scalars(select(Pod).where(Pod.active).order_by(Pod.id)))
    assert len(pods) == 6
    for pod in pods:
        m = services.matrix(pod, now=NOW)
        assert len(m.skills) >= 8, pod.name
        assert all(row.levels for row in m.skills if row.volume > 20), pod.name  # levels wherever there is demand
        assert 1 <= len(m.single_points) <= len(m.skills) // 3, (pod.name, [r.key for r in m.single_points])
        assert m.training_needs, pod.name
        assert m.mentors and m.pending and m.history, pod.name
        coach_locale = db.session.scalar(
            select(User.locale).join(pod_coaches, pod_coaches.c.user_id == User.id)
            .where(pod_coaches.c.pod_id == pod.id).order_by(User.display_name).limit(1))
        names = set(db.session.scalars(select(PodSkill.name).where(PodSkill.pod_id == pod.id)))
        assert names and names <= texts_in(coach_locale, skills_demo.CUSTOM_SKILLS), (pod.name, names)
        quarter = services.quarter_coverage(pod, NOW.date().replace(month=10, day=1), NOW.date(), now=NOW)
        assert quarter["changes"] > 0 and quarter["now"]["covered"] >= quarter["then"]["covered"], pod.name
