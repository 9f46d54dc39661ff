"""Review fixtures: a pod with a coach and two agents, another pod, a leader; cases with known figures."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta

import pytest

from app.extensions import db
from app.outcomes.models import Case


@dataclass
class Team:
    pod: object
    coach: object
    agent: object
    mate: object
    other_pod: object
    other_coach: object
    other_agent: object
    leader: object


@pytest.fixture(autouse=True)
def _quick_password_hashes(quick_password_hashes):
    """These tests make several people each; see quick_password_hashes in tests/conftest.py."""


@pytest.fixture
def ctx(app):
    with app.test_request_context("/"):
        yield


@pytest.fixture
def team(make_user, make_pod, ctx):
    coach = make_user("coach", name="Carla Coach")
    agent = make_user("agent", name="Ana Agent")
    mate = make_user("agent", name="Ben Agent")
    other_coach = make_user("coach", name="Oscar Coach")
    other_agent = make_user("agent", name="Olga Agent")
    leader = make_user("leader", name="Lea Leader")
    pod = make_pod("Home pod", coaches=[coach], members=[agent, mate], start=date(2024, 1, 1))
    other = make_pod("Other pod", coaches=[other_coach], members=[other_agent], start=date(2024, 1, 1))
    return Team(pod, coach, agent, mate, other, other_coach, other_agent, leader)


class Cases:
    """Cases with known figures; times are naive UTC at 10:00, well inside their local day."""

    def __init__(self):
        self.n = 0

    def __call__(self, pod, day: date, *, resolved_hours: float | None = 2, csat=None, replies=1, reopens=0,
                 at: datetime | None = None):
        self.n += 1
        created = at or datetime.combine(day, datetime.min.time()) + timedelta(hours=10)
        resolved = created + timedelta(hours=resolved_hours) if resolved_hours is not None else None
        case = Case(
            source="podium", external_id=f"R-{self.n}", status="solved" if resolved else "open",
            pod_id=pod.id, channel="phone", request_type="complaint", priority="normal",
            created_at=created, first_reply_at=created + timedelta(minutes=30), first_reply_minutes=30,
            assigned_at=created, first_resolved_at=resolved, solved_at=resolved,
            resolution_minutes=int(resolved_hours * 60) if resolved_hours is not None else None,
            replies=replies, reopens=reopens, group_stations=1, assignee_stations=1, csat_score=csat,
        )
        db.session.add(case)
        return case


@pytest.fixture
def make_case():
    return Cases()
