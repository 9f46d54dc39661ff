"""Hostile values on every review route: never a 5xx, a clear 4xx for what cannot be read or stored, nothing
saved. Issue 13 #4: a NUL in the narrative or an objective title was a 500 on PostgreSQL; "²" / "١" passed
isdigit() and were read as numbers."""

from __future__ import annotations

from datetime import date

import pytest
from sqlalchemy import func, select

from app.extensions import db
from app.reviews import services as svc
from app.reviews.models import KeyResult, NarrativeEdit, Objective, Review

NOT_NUMBERS = ["²", "١", "1e30", "x" * 10_000, "\x00", "-1", str(2**31), str(2**63), "nan", "inf"]
BAD_TEXT = ["x" * 10_000, "bad\x00text", "bad\x01text"]
PATH_IDS = ["0", "-1", str(2**31), str(2**63), str(10**30)]


def _bad(response) -> None:
    assert 400 <= response.status_code < 500, response.status_code


def _saved() -> tuple[int, ...]:
    return tuple(db.session.scalar(select(func.count()).select_from(model))
                 for model in (Review, NarrativeEdit, Objective, KeyResult))


@pytest.fixture
def review(team, make_case):
    make_case(team.pod, date(2026, 7, 6), csat=5)
    db.session.commit()
    created = svc.open_review(team.coach, team.pod, 2026, 3)
    objective = svc.add_objective(team.coach, created, "Happier customers")
    svc.add_key_result(team.coach, objective, "csat", 0.9, 5)
    db.session.commit()
    return created


def _post_both_ways(client, url: str, data: dict) -> None:
    """URL-encoded (refused before any view when it holds NUL) and multipart (the form refuses it)."""
    _bad(client.post(url, data=data))
    _bad(client.post(url, data=data, content_type="multipart/form-data"))


def test_opening_with_hostile_values_saves_nothing(client, auth, team, review):
    auth.login(team.coach)
    before = _saved()
    for value in NOT_NUMBERS + ["0"]:
        _post_both_ways(client, "/reviews/open", {"pod_id": value, "quarter": "2026-Q4"})
        _post_both_ways(client, "/reviews/open", {"pod_id": str(team.pod.id), "quarter": value})
    _post_both_ways(client, "/reviews/open", {"pod_id": str(team.pod.id), "quarter": "²⁰²⁶-Q4"})
    _post_both_ways(client, "/reviews/open", {"pod_id": str(team.pod.id), "quarter": "١٢٣٤-Q4"})
    assert _saved() == before


def test_narrative_objective_and_reason_with_hostile_text_save_nothing(client, auth, team, review):
    auth.login(team.coach)
    before = _saved()
    for value in BAD_TEXT:
        _post_both_ways(client, f"/reviews/{review.id}/narrative", {"section": "wins", "text": value})
        _post_both_ways(client, f"/reviews/{review.id}/narrative", {"section": value, "text": "ok"})
        _post_both_ways(client, f"/reviews/{review.id}/objectives", {"title": value})
    assert _saved() == before
    svc.submit(team.coach, review)
    svc.sign_off(team.leader, review)
    db.session.commit()
    auth.logout()
    auth.login(team.leader)
    for value in BAD_TEXT:
        _post_both_ways(client, f"/reviews/{review.id}/reopen", {"reason": value})
    db.session.expire_all()
    assert db.session.get(Review, review.id).status == "signed_off"


def test_key_results_and_confidence_with_hostile_numbers_save_nothing(client, auth, team, review):
    auth.login(team.coach)
    objective = db.session.scalar(select(Objective))
    kr = db.session.scalar(select(KeyResult))
    before = _saved()
    url = f"/reviews/{review.id}/objectives/{objective.id}/key-results"
    for value in NOT_NUMBERS:
        _post_both_ways(client, url, {"metric": "fcr", "target": value, "confidence": "5"})
        _post_both_ways(client, url, {"metric": "fcr", "target": "80", "confidence": value})
        _post_both_ways(client, url, {"metric": value, "target": "80", "confidence": "5"})
        _post_both_ways(client, f"/reviews/key-results/{kr.id}/confidence", {"confidence": value})
    _post_both_ways(client, f"/reviews/key-results/{kr.id}/confidence", {"confidence": "11"})
    assert _saved() == before
    db.session.expire_all()
    assert db.session.get(KeyResult, kr.id).confidence == 5


def test_hostile_path_ids_are_404(client, auth, team, review):
    auth.login(team.leader)
    for ident in PATH_IDS:
        for path in (f"/reviews/{ident}", f"/reviews/{ident}/print", f"/reviews/{ident}/review.csv",
                     f"/reviews/{ident}/review.pdf"):
            assert client.get(path).status_code == 404, path
        for path in (f"/reviews/{ident}/narrative", f"/reviews/{ident}/objectives", f"/reviews/{ident}/submit",
                     f"/reviews/{ident}/sign-off", f"/reviews/{ident}/reopen",
                     f"/reviews/key-results/{ident}/confidence",
                     f"/reviews/{review.id}/objectives/{ident}/key-results"):
            assert client.post(path, data={"text": "x", "section": "wins", "title": "x", "reason": "x",
                                           "confidence": "5", "metric": "fcr", "target": "80"}).status_code == 404


def test_leader_view_with_hostile_query_values_is_a_400(client, auth, team, review):
    auth.login(team.leader)
    for value in NOT_NUMBERS + ["²⁰²⁶-Q3", "١٢٣٤-Q3", "2026-Q²"]:
        for path in ("/reviews/all", "/reviews/all.csv", "/reviews/all.pdf"):
            _bad(client.get(path, query_string={"quarter": value}))
        _bad(client.get("/reviews/all", query_string={"sort": value}))
    assert client.get("/reviews/all", query_string={"dir": "x" * 10_000}).status_code == 200  # ignored
