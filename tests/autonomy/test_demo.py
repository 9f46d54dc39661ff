"""Demo autonomy data: limits at every level, ~3 months of ledger, a queue for the demo coach, a raise suggestion."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import func, select

from app.autonomy import services as svc
from app.autonomy.models import Decision, Limit, Proposal
from app.demo.org_data import COACH_EMAIL, LEADER_EMAIL
from app.extensions import db
from app.org.models import User
from tests.demo_snapshot import load_demo_snapshot

NOW = datetime(2026, 11, 24, 9, 30)


def test_demo_shows_autonomy(client, auth):
    assert load_demo_snapshot(now=NOW) is True
    levels = set(db.session.scalars(select(Limit.level).distinct()))
    assert levels == {"org", "role", "pod", "agent"}
    statuses = dict(db.session.execute(select(Decision.status, func.count()).group_by(Decision.status)).all())
    assert statuses["done"] > 500 and statuses["approved"] > 50 and statuses["rejected"] > 10
    within = statuses["done"] / sum(statuses.values())
    assert 0.7 < within < 0.9, within
    oldest = db.session.scalar(select(func.min(Decision.decided_at)))
    assert oldest < NOW - timedelta(days=80)
    coach = db.session.scalar(select(User).where(User.email == COACH_EMAIL))
    assert len(svc.pending_for(coach)) >= 3
    assert db.session.scalar(select(func.count()).select_from(Proposal).where(
        Proposal.kind == "raise", Proposal.status == "open")) >= 1
    auth.login(COACH_EMAIL, "podium-demo")
    assert client.get("/autonomy/queue").status_code == 200
    own = client.get("/autonomy/proposals").get_data(as_text=True)
    assert "Nada que decidir" not in own and "Nothing to decide" not in own, "the coach sees their own proposals"
    assert "Recargos por demora en facturas en disputa" in own  # the Spanish coach's own words
    auth.logout()
    auth.login(LEADER_EMAIL, "podium-demo")
    page = client.get("/autonomy/proposals").get_data(as_text=True)
    assert "kind-raise" in page
