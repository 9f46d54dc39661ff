"""Autonomy fixtures: the catalog, a pod with a coach and agents, another pod, a leader; limit helper."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import pytest

from app.autonomy import services as svc
from app.extensions import db

NOW = datetime(2026, 3, 11, 10, 0)  # a Wednesday, 11:00 in Madrid


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
    admin: object


@pytest.fixture
def ctx(app):
    """A request context, so services can build notification links."""
    with app.test_request_context("/"):
        yield


@pytest.fixture
def catalog(ctx):
    types = {a.code: a for a in svc.ensure_action_types()}
    db.session.commit()
    return types


@pytest.fixture
def team(make_user, make_pod, catalog):
    coach = make_user("coach", name="Carla Coach")
    agent = make_user("agent", name="Ana Agent")
    mate = make_user("agent", name="Ben Agent")
    other_coach = make_user("coach", name="Oscar Coach")
    other_agent = make_user("agent", name="Olga Agent")
    leader = make_user("leader", name="Lea Leader")
    admin = make_user("admin", name="Adam Admin")
    pod = make_pod("Home pod", coaches=[coach], members=[agent, mate])
    other = make_pod("Other pod", coaches=[other_coach], members=[other_agent])
    return Team(pod, coach, agent, mate, other, other_coach, other_agent, leader, admin)


@pytest.fixture
def set_limit(team, catalog):
    def _set(code="refund", per_case=5000, *, period=None, cap=None, customer_cap=None, approver="coach",
             reason="test", now=None, **scope):
        level = ("agent" if "agent_id" in scope else "pod" if "pod_id" in scope else "role" if "role" in scope
                 else "org")
        version = svc.set_limit(team.leader, catalog[code], level=level,
                                values=svc.LimitInput(per_case, period, cap, customer_cap, approver), reason=reason,
                                now=now or datetime(2026, 1, 1), **scope)
        db.session.commit()
        return version

    return _set


@pytest.fixture
def log(team, catalog):
    def _log(user=None, code="refund", amount="10.00", *, now=NOW, customer="", case_ref="Z-1", **extra):
        action = catalog[code]
        decision = svc.log_decision(user or team.agent, action, amount=amount,
                                    currency=action.currency if action.unit == "money" else None,
                                    case_ref=case_ref, customer=customer, rationale="because", now=now, **extra)
        db.session.commit()
        return decision

    return _log
