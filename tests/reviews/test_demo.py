"""Demo reviews: last quarter signed off for every pod, this quarter in draft with objectives."""

from __future__ import annotations

import time
from datetime import datetime

from sqlalchemy import select

from app.demo.loader import load_demo
from app.demo.org_data import AGENT_EMAIL, COACH_EMAIL, LEADER_EMAIL
from app.extensions import db
from app.org.models import Pod
from app.reviews import demo as review_demo
from app.reviews.models import KeyResult, Review

NOW = datetime(2026, 11, 24, 9, 30)


def test_demo_shows_reviews(client, auth, monkeypatch):
    timings = {}
    original = review_demo._load

    def timed(now):
        started = time.perf_counter()
        original(now)
        timings["reviews"] = time.perf_counter() - started

    monkeypatch.setattr(review_demo, "_load", timed)
    assert load_demo(now=NOW) is True
    print(f"reviews demo step: {timings['reviews']:.2f} s")  # speed is benchmarked, never asserted
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
    assert "Resolve more at first contact" in page and 'id="frozen-note"' in page
    assert client.get("/reviews/all").status_code == 200
