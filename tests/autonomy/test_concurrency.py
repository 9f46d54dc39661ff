"""Two decisions at the same moment can never both pass under one cap (threads, SQLite and PostgreSQL)."""

from __future__ import annotations

import threading

from sqlalchemy import select

from app.autonomy import services as svc
from app.autonomy.models import ActionType, Decision
from app.extensions import db
from app.org.models import User

from .conftest import NOW

THREADS = 6


def _race(app, agent_id: int, action_id: int, amounts: list[str], customers: list[str] | None = None) -> list:
    barrier = threading.Barrier(len(amounts))
    outcomes: list = []

    def attempt(index: int) -> None:
        with app.app_context(), app.test_request_context("/"):
            try:
                agent = db.session.get(User, agent_id)
                action = db.session.get(ActionType, action_id)
                barrier.wait(10)
                decision = svc.log_decision(agent, action, amount=amounts[index], currency="EUR",
                                            case_ref=f"RACE-{index}",
                                            customer=customers[index] if customers else "", rationale="race",
                                            now=NOW)
                db.session.commit()
                outcomes.append(decision.status)
            except Exception as exc:  # noqa: BLE001 - reported to the assertion below
                db.session.rollback()
                outcomes.append(repr(exc))
            finally:
                db.session.remove()

    threads = [threading.Thread(target=attempt, args=(i,)) for i in range(len(amounts))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    return outcomes


def test_concurrent_decisions_never_both_pass_one_cap(app, team, catalog, set_limit):
    set_limit(per_case=5000, period="day", cap=5000)
    outcomes = _race(app, team.agent.id, catalog["refund"].id, ["50.00"] * THREADS)
    assert sorted(outcomes) == ["done"] + ["pending"] * (THREADS - 1), outcomes
    db.session.expire_all()
    used = svc.used_in(team.agent.id, catalog["refund"].id, *svc.period_bounds("day", NOW, "Europe/Madrid"))
    assert used == 5000
    assert len(db.session.scalars(select(Decision)).all()) == THREADS


def test_concurrent_decisions_respect_the_customer_cap(app, team, catalog, set_limit):
    set_limit(per_case=5000, period="month", cap=100000, customer_cap=4000)
    outcomes = _race(app, team.agent.id, catalog["refund"].id, ["30.00"] * 4, customers=["CUST-9"] * 4)
    assert sorted(outcomes) == ["done", "pending", "pending", "pending"], outcomes


def test_under_the_cap_every_concurrent_decision_passes(app, team, catalog, set_limit):
    set_limit(per_case=5000, period="day", cap=50000)
    outcomes = _race(app, team.agent.id, catalog["refund"].id, ["10.00"] * 4)
    assert outcomes == ["done"] * 4, outcomes
