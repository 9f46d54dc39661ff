"""Demo reviews: last quarter signed off for every pod, this quarter in draft with objectives."""

from __future__ import annotations

import re
from datetime import datetime

from sqlalchemy import select

from app.demo.org_data import AGENT_EMAIL, COACH_EMAIL, LEADER_EMAIL
from app.extensions import db
from app.org.models import Pod, User
from app.reviews import demo as review_demo
from app.reviews.models import KeyResult, NarrativeEdit, Review
from tests.demo_snapshot import load_demo_snapshot

NOW = datetime(2026, 11, 24, 9, 30)


def test_demo_shows_reviews(client, auth):
    assert load_demo_snapshot(now=NOW) is True
    pods = db.session.scalar(select(db.func.count()).select_from(Pod).where(Pod.active))
    by_quarter = {}
    for review in db.session.scalars(select(Review)):
        by_quarter.setdefault((review.year, review.quarter), set()).add(review.status)
    assert by_quarter == {(2026, 3): {"signed_off"}, (2026, 4): {"draft"}}
    assert db.session.scalar(select(db.func.count()).select_from(Review)) == 2 * pods
    assert db.session.scalar(select(db.func.count()).select_from(KeyResult)) >= 3 * pods
    signed = db.session.scalar(select(Review).where(Review.quarter == 3).limit(1))
    auth.login(AGENT_EMAIL, "podium-demo")
    assert client.get("/reviews/").status_code == 200
    auth.logout()
    auth.login(COACH_EMAIL, "podium-demo")
    draft_page = client.get("/reviews/").get_data(as_text=True)
    assert "2026-Q4" in draft_page
    auth.logout()
    auth.login(LEADER_EMAIL, "podium-demo")
    page = client.get(f"/reviews/{signed.id}").get_data(as_text=True)
    coach = db.session.get(User, signed.opened_by_id)
    assert review_demo.OBJECTIVE_FCR.by(coach) in page and 'id="frozen-note"' in page
    assert client.get("/reviews/all").status_code == 200


def _wins(pod_name: str, quarter: int) -> str:
    return db.session.scalar(
        select(NarrativeEdit.text).join(Review, Review.id == NarrativeEdit.review_id).join(Pod, Pod.id == Review.pod_id)
        .where(Pod.name == pod_name, Review.quarter == quarter, NarrativeEdit.section == "wins")
        .order_by(NarrativeEdit.id.desc()).limit(1))


def test_demo_review_narratives_tell_what_the_figures_show():
    """The coach writes in their own language, and a "wins" line claims a rise only where the figures rose."""
    assert load_demo_snapshot(now=NOW) is True
    care, growth = _wins("Residential Care", 3), _wins("SMB Growth", 3)
    # Residential Care's first-contact resolution climbs through the demo history; SMB Growth's holds.
    assert care.startswith("La resolución en el primer contacto pasó del"), care
    assert growth.startswith("La risoluzione al primo contatto è rimasta intorno al"), growth
    before, after = re.findall(r"(\d+)\s?%", care)
    assert int(after) > int(before)
