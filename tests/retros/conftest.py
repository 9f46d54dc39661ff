"""Retro fixtures: a pod with a coach and three members, a retro factory and a fake metric engine."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import pytest

from app import live
from app.extensions import db
from app.outcomes import metrics
from app.retros import services as retros
from app.retros.models import PHASES
from tests.conftest import PASSWORD


@dataclass
class Team:
    pod: object
    coach: object
    members: list
    outsider: object
    leader: object


@pytest.fixture(autouse=True)
def _quiet_boards():
    """No board starts busy (app/live.py ``_BUSY``): a retro of an earlier test may have had the same id."""
    live._BUSY.clear()  # noqa: SLF001
    yield
    live._BUSY.clear()  # noqa: SLF001


@pytest.fixture(autouse=True)
def _fast_passwords(quick_password_hashes):
    """Retro tests sign in many people; see quick_password_hashes in tests/conftest.py."""


@pytest.fixture
def team(_fast_passwords, make_user, make_pod):
    coach = make_user("coach", name="Carla Coach")
    members = [make_user("agent", name=name) for name in ("Ana Agent", "Ben Agent", "Cai Agent")]
    outsider = make_user("agent", name="Olga Outsider")
    make_pod(name="Other pod", members=[outsider])
    leader = make_user("leader", name="Lea Leader")
    pod = make_pod(name="Home pod", coaches=[coach], members=members)
    return Team(pod, coach, members, outsider, leader)


@pytest.fixture
def as_user(app):
    """A fresh test client signed in as `user` (each client keeps its own session)."""

    def _client(user):
        client = app.test_client()
        response = client.post("/login", data={"email": user.email, "password": PASSWORD})
        assert response.status_code in (302, 303), response.status_code
        return client

    return _client


@pytest.fixture
def make_retro(team):
    def _make(phase: str = "checkin", **options):
        options.setdefault("title", "Sprint retro")
        options.setdefault("template_key", "start_stop_continue")
        retro = retros.create_retro(team.coach, team.pod, facilitator=team.coach, **options)
        db.session.commit()
        advance_to(retro, phase, team.coach)
        return retro

    return _make


def advance_to(retro, phase: str, actor) -> None:
    while retro.phase != phase:
        retros.advance_phase(actor, retro, retro.phase)
        db.session.commit()
    assert PHASES.index(retro.phase) == PHASES.index(phase)


class FakeEngine:
    """Stands in for app.outcomes.metrics.compute (same signature): figures from a table the test can change."""

    def __init__(self):
        self.values = {"fcr": 0.62, "handoff_rate": 0.2}
        self.calls = []

    def compute(self, start, end, scope=None, codes=None, tz=None):
        scope = scope or metrics.Scope()
        self.calls.append({"codes": list(codes or []), "start": start, "end": end, "pod_id": scope.pod_id,
                           "segment_id": scope.segment_id, "stage_id": scope.stage_id, "tz": tz})
        return {code: metrics.Figure(code, self.values.get(code), (self.values.get(code) or 0) * 100, 100)
                for code in codes}


@pytest.fixture(autouse=True)
def engine(monkeypatch):
    fake = FakeEngine()
    monkeypatch.setattr(metrics, "compute", fake.compute)
    return fake


NOW = datetime(2026, 3, 10, 9, 0)
