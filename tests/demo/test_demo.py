"""Demo data: the organisation newcomers meet, its accounts, coverage smells and case history."""

from __future__ import annotations

import re
from datetime import datetime

import pytest
from sqlalchemy import case, func, select

from app.auth.services import authenticate
from app.demo.loader import load_demo
from app.extensions import db
from app.org.models import LifecycleStage, Membership, Organisation, Pod, Segment, User, pod_coaches
from app.org.services import coverage_matrix
from app.outcomes.demo_cases import load_demo_cases
from app.outcomes.models import Case

NOW = datetime(2026, 11, 24, 7, 30)
ACCOUNTS = {"admin@example.com": "admin", "leader@example.com": "leader", "coach@example.com": "coach",
            "agent@example.com": "agent"}


def _count(model) -> int:
    return db.session.scalar(select(func.count()).select_from(model))


def _counts() -> dict[str, int]:
    return {model.__name__: _count(model) for model in (User, Segment, LifecycleStage, Pod, Membership, Case)}


@pytest.fixture
def demo():
    assert load_demo(with_cases=False, now=NOW) is True


def test_demo_accounts_sign_in_with_their_roles(demo):
    for email, role in ACCOUNTS.items():
        user = authenticate(email, "podium-demo")
        assert user is not None, email
        assert user.role == role
    assert authenticate("agent@example.com", "wrong-password") is None


def test_demo_organisation_shape(demo):
    assert 45 <= _count(User) <= 55
    assert _count(Segment) == 3
    assert _count(LifecycleStage) == 5
    assert _count(Pod) == 6
    organisation = db.session.get(Organisation, 1)
    assert organisation.timezone == "Europe/Madrid" and organisation.name != "Podium"
    roles = dict(db.session.execute(select(User.role, func.count()).group_by(User.role)).all())
    assert roles["admin"] == 1 and roles["leader"] == 2 and 6 <= roles["coach"] <= 7
    assert {u.locale for u in db.session.scalars(select(User))} == {"es", "it", "en"}
    password_hashes = set(db.session.scalars(select(User.password_hash)))
    assert len(password_hashes) == 1 and next(iter(password_hashes)).startswith("scrypt:")


def test_coverage_has_exactly_one_gap_and_one_overlap(demo):
    matrix = coverage_matrix()
    assert len(matrix.cells) == 15
    assert [(c.segment.name, c.stage.name) for c in matrix.gaps] == [("Enterprise", "Pre-sale")]
    assert [(c.segment.name, c.stage.name) for c in matrix.overlaps] == [("Residential", "Post-sale & warranty")]
    assert len(matrix.overlaps[0].pods) == 2
    others = [c for c in matrix.cells.values() if not c.is_gap and not c.is_overlap]
    assert len(others) == 13 and all(len(c.pods) == 1 for c in others)


def test_coach_coaches_the_agents_pod_and_history_is_kept(demo):
    coach = db.session.scalar(select(User).where(User.email == "coach@example.com"))
    agent = db.session.scalar(select(User).where(User.email == "agent@example.com"))
    agent_pods = set(db.session.scalars(
        select(Membership.pod_id).where(Membership.user_id == agent.id, Membership.end_date.is_(None))))
    coached = set(db.session.scalars(select(pod_coaches.c.pod_id).where(pod_coaches.c.user_id == coach.id)))
    assert len(agent_pods) == 1 and agent_pods <= coached
    ended = db.session.scalar(select(func.count()).select_from(Membership).where(Membership.end_date.is_not(None)))
    assert ended >= 2
    assert {m.profile for m in db.session.scalars(select(Membership))} == {"generalist", "specialist"}
    assert all(p.mission for p in db.session.scalars(select(Pod)))
    assert {p.working_days for p in db.session.scalars(select(Pod))} == {"12345", "123456"}


def test_second_load_changes_nothing_and_reset_reloads(demo):
    before = _counts()
    assert load_demo(with_cases=False, now=NOW) is False
    assert _counts() == before
    db.session.execute(Pod.__table__.update().values(mission="changed"))
    db.session.commit()
    assert load_demo(reset=True, with_cases=False, now=NOW) is True
    assert _counts() == before
    assert "changed" not in set(db.session.scalars(select(Pod.mission)))


def test_cases_cover_every_pod_with_the_trends_to_find(demo):
    created = load_demo_cases(NOW, weeks=4)
    db.session.commit()
    assert created == _count(Case) > 1000
    pods = dict(db.session.execute(select(Pod.name, Pod.id)).all())
    per_pod = dict(db.session.execute(select(Case.pod_id, func.count()).group_by(Case.pod_id)).all())
    assert all(per_pod.get(pod_id, 0) > 0 for pod_id in pods.values())
    assert per_pod.get(None, 0) > 0

    resolved = Case.first_resolved_at.is_not(None)
    fcr = func.avg(case(((Case.replies <= 1) & (Case.reopens == 0) & (Case.assignee_stations <= 1), 1.0),
                        else_=0.0))
    half = datetime(2026, 11, 10)
    care = pods["Residential Care"]
    early = db.session.scalar(select(fcr).where(Case.pod_id == care, resolved, Case.created_at < half))
    late = db.session.scalar(select(fcr).where(Case.pod_id == care, resolved, Case.created_at >= half))
    assert late > early + 0.05

    handoff = func.avg(case(((Case.assignee_stations > 1) | (Case.group_stations > 1), 1.0), else_=0.0))
    by_stage = dict(db.session.execute(
        select(LifecycleStage.name, handoff).join(LifecycleStage, LifecycleStage.id == Case.stage_id)
        .where(Case.pod_id == pods["SMB Care"], resolved).group_by(LifecycleStage.name)).all())
    assert by_stage["Post-sale & warranty"] > 2 * by_stage["In-life service"]

    last_day = db.session.scalar(select(func.max(Case.created_at)).where(Case.pod_id == care))
    assert last_day.date() == NOW.date()
    rated = db.session.scalar(select(func.count()).select_from(Case).where(Case.csat_score.is_not(None)))
    assert 0.25 < rated / created < 0.45


def test_cases_are_pseudonymous_and_shaped_like_zendesk(demo):
    load_demo_cases(NOW, weeks=1)
    db.session.commit()
    names = {n.lower() for n in db.session.scalars(select(User.display_name))}
    for row in db.session.execute(select(Case.customer_ref, Case.raw_assignee, Case.source, Case.external_id,
                                         Case.created_at, Case.first_reply_at, Case.solved_at, Case.status)):
        assert re.fullmatch(r"[0-9a-f]{16}", row.customer_ref)
        assert "@" not in row.customer_ref
        assert row.raw_assignee is None or row.raw_assignee.lower() in names
        assert row.source == "zendesk" and row.external_id.isdigit()
        assert row.created_at < NOW
        assert row.first_reply_at is None or row.first_reply_at >= row.created_at
        assert (row.solved_at is not None) == (row.status in ("solved", "closed"))
    raw = set(db.session.scalars(select(Case.raw_segment).distinct()))
    assert raw == {"Residencial", "Pymes", "Grandes cuentas"}
