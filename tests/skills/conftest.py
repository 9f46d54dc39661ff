"""Skills fixtures: a pod with a coach and three agents, another pod with its own people, a leader, an admin; cases
relative to now so the pages' "last 90 days" sees them."""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from datetime import date, datetime, timedelta

import pytest

from app.extensions import db
from app.outcomes.models import Case
from app.timeutil import utcnow

_ids = itertools.count(1)


@dataclass
class Team:
    pod: object
    coach: object
    ana: object
    ben: object
    cleo: object
    other_pod: object
    other_coach: object
    other_agent: object
    leader: object
    admin: object


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
    ana, ben, cleo = (make_user("agent", name=name) for name in ("Ana Agent", "Ben Agent", "Cleo Agent"))
    other_coach = make_user("coach", name="Otto Coach")
    other_agent = make_user("agent", name="Olga Agent")
    start = date(2025, 1, 1)
    pod = make_pod("Care", coaches=[coach], members=[ana, ben, cleo], start=start)
    other = make_pod("Sales", coaches=[other_coach], members=[other_agent], start=start)
    return Team(pod, coach, ana, ben, cleo, other, other_coach, other_agent, make_user("leader", name="Lea Leader"),
                make_user("admin", name="Adam Admin"))


def add_case(pod, *, request_type: str = "claim", channel: str = "phone", assignee=None, handed_off: bool = False,
             fcr: bool = True, days_ago: int = 5, now: datetime | None = None) -> Case:
    """A case of ``pod`` created ``days_ago`` and resolved an hour later; handed off (two assignee stations) or
    not, resolved at the first contact or not (two replies)."""
    created = (now or utcnow()) - timedelta(days=days_ago)
    case = Case(source="podium", external_id=f"s{next(_ids)}", status="solved", created_at=created,
                first_resolved_at=created + timedelta(hours=1), resolution_minutes=60, pod_id=pod.id,
                assignee_id=assignee.id if assignee else None, request_type=request_type, channel=channel,
                replies=1 if fcr and not handed_off else 2, reopens=0, group_stations=1,
                assignee_stations=2 if handed_off else 1, escalated=False)
    db.session.add(case)
    return case
