"""Hostile values on every recognition route: never a 5xx, a clear 4xx for what cannot be read, nothing saved.

Values: Unicode digits that pass isdigit() ("²", "١"), 1e30, ids beyond 32/64 bits, 0 / -1, 10,000 characters,
NUL (refused before any view for url-encoded bodies; multipart bodies reach the form, which refuses it too).
"""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from app.extensions import db
from app.recognition import services
from app.recognition.models import Recognition, RecognitionReaction, RecognitionSettings
from app.recognition.services import Draft, EvidenceInput
from tests.recognition.test_recognition import make_case

NOT_NUMBERS = ["²", "١", "1e30", "x" * 10_000, "\x00", "-1", "0", str(2**31), str(2**63), "10" * 20]
NOT_DATES = ["²", "9999-01-01", "9999-12-31", "2026-13-01", "0000-01-01", "1e30", "x" * 10_000, "\x00"]
PATH_IDS = ["0", "-1", str(2**31), str(2**63), str(10**30)]


def _saved() -> tuple[int, int]:
    return (db.session.scalar(select(func.count()).select_from(Recognition)),
            db.session.scalar(select(func.count()).select_from(RecognitionReaction)))


def _bad(response) -> None:
    assert 400 <= response.status_code < 500, response.status_code


@pytest.fixture
def recognised(team):
    make_case(team.pod, team.ben, "1001", csat=5)
    db.session.commit()
    recognition = services.give(team.ana, Draft(pod_id=team.pod.id, receiver_ids=[team.ben.id], message="Thanks",
                                                principle="customer_centric",
                                                evidence=EvidenceInput("case", case_ref="1001")))
    db.session.commit()
    return recognition


def test_walls_and_detail_with_hostile_query_and_path_values(client, auth, team, recognised):
    auth.login(team.coach)
    for value in NOT_NUMBERS:
        _bad(client.get("/recognition/", query_string={"page": value}))
        _bad(client.get(f"/recognition/pods/{team.pod.id}", query_string={"page": value}))
        _bad(client.get("/recognition/", query_string={"principle": value}))
        _bad(client.get("/recognition/", query_string={"evidence": value}))
    for ident in PATH_IDS:
        assert client.get(f"/recognition/{ident}").status_code == 404
        assert client.get(f"/recognition/pods/{ident}").status_code == 404
        assert client.get(f"/recognition/pods/{ident}/alignment").status_code == 404
        assert client.post(f"/recognition/{ident}/react", data={"kind": "clap"}).status_code == 404


def test_the_form_with_hostile_query_values(client, auth, team, recognised):
    auth.login(team.ana)
    for value in NOT_NUMBERS:
        _bad(client.get("/recognition/new", query_string={"pod": value}))
        response = client.get("/recognition/new", query_string={
            "pod": team.pod.id, "to": value, "action": value, "suggestion": value[:200], "metric": value,
            "case": value, "principle": value, "evidence": value, "subject": value})
        if "\x00" in value:
            _bad(response)
        else:
            assert response.status_code == 200  # a link with junk opens the form, with nothing of it filled in


@pytest.mark.parametrize("field", ["receivers", "action", "points"])
def test_giving_with_hostile_numbers_saves_nothing(client, auth, team, recognised, field):
    auth.login(team.ana)
    before = _saved()
    for value in NOT_NUMBERS:
        data = {"receivers": [team.ben.id], "message": "Thanks", "principle": "customer_centric",
                "evidence": "action" if field == "action" else "case", "case_ref": "1001", "visibility": "pod",
                "subject": "agent", "points": "0", field: value}
        if field == "points" and value in ("0",):
            continue  # 0 points is fine
        _bad(client.post(f"/recognition/new?pod={team.pod.id}", data=data))
    assert _saved() == before


@pytest.mark.parametrize("field", ["message", "case_ref", "suggestion"])
def test_giving_with_hostile_text_saves_nothing(client, auth, team, recognised, field):
    auth.login(team.ana)
    before = _saved()
    for value in ["x" * 10_000, "bad\x00text"]:
        data = {"receivers": str(team.ben.id), "message": "Thanks", "principle": "customer_centric",
                "evidence": "case", "case_ref": "1001", "visibility": "pod", "subject": "agent", "points": "0",
                field: value}
        _bad(client.post(f"/recognition/new?pod={team.pod.id}", data=data))
        _bad(client.post(f"/recognition/new?pod={team.pod.id}", data=data, content_type="multipart/form-data"))
    assert _saved() == before


def test_reacting_with_hostile_kinds_saves_nothing(client, auth, team, recognised):
    auth.login(team.cris)
    before = _saved()
    for value in NOT_NUMBERS + ["clap" * 3000]:
        _bad(client.post(f"/recognition/{recognised.id}/react", data={"kind": value}))
    assert _saved() == before


def test_alignment_with_hostile_dates_is_a_400(client, auth, team):
    auth.login(team.coach)
    url = f"/recognition/pods/{team.pod.id}/alignment"
    for value in NOT_DATES:
        assert client.get(url, query_string={"from": value}).status_code == 400, value
        assert client.get(url, query_string={"to": value}).status_code == 400, value
    # Issue 13 #4: a range in year 9999 was a 500.
    response = client.get(url, query_string={"from": "9999-01-01", "to": "9999-12-31"})
    assert response.status_code == 400 and "YYYY-MM-DD" in response.get_data(as_text=True)


def test_settings_with_hostile_numbers_change_nothing(client, auth, team, make_user):
    auth.login(make_user("admin"))
    for value in NOT_NUMBERS + ["-5", "100001", ""]:
        if value == "0":
            continue
        _bad(client.post("/recognition/settings", data={"monthly_allowance": value}))
    assert db.session.scalar(select(RecognitionSettings.monthly_allowance)) in (None, 0)
