"""Stand-up fixtures: a pod with a coach and three agents, another pod, a leader; a request context."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, time

import pytest

from app.extensions import db

NOW = datetime(2026, 3, 11, 8, 0)  # Wednesday 11 March 2026, 09:00 in Madrid


@dataclass
class Team:
    pod: object
    coach: object
    agent: object
    mate: object
    third: object
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
    third = make_user("agent", name="Cris Agent")
    other_coach = make_user("coach", name="Oscar Coach")
    other_agent = make_user("agent", name="Olga Agent")
    leader = make_user("leader", name="Lea Leader")
    pod = make_pod("Home pod", coaches=[coach], members=[agent, mate, third], standup_time=time(9, 30))
    other = make_pod("Other pod", coaches=[other_coach], members=[other_agent])
    return Team(pod, coach, agent, mate, third, other, other_coach, other_agent, leader)


@pytest.fixture
def every_day(team):
    for pod in (team.pod, team.other_pod):
        pod.working_days = "1234567"  # the pages use today's date: make every day a stand-up day
    db.session.commit()
    return team
