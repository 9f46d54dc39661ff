"""Hostile values on every stand-up route: never a 5xx, a clear 4xx for the bad ones, nothing saved.

Numbers that only look like numbers ("²" and "١" pass str.isdigit), numbers beyond what PostgreSQL stores, 10,000
characters, and NUL (which PostgreSQL cannot store) in forms sent URL-encoded and as multipart.
"""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from app.extensions import db
from app.standups import services as svc
from app.standups.models import Blocker, StandupBoard, StandupEntry, StandupSettings

HX = {"HX-Request": "true"}
BAD_NUMBERS = ["²", "١", "1e30", "-1", "2147483648", "9223372036854775808", "10" * 15, "x" * 10_000, "1.5", "\x00"]
BAD_IDS = ["0", "-1", "2147483648", "9223372036854775808", "1" + "0" * 30, "²", "١"]
LONG = "x" * 10_000


@pytest.fixture
def setup(client, auth, team):
    for pod in (team.pod, team.other_pod):
        pod.working_days = "1234567"
    db.session.commit()
    board = svc.board_for_today(team.pod)
    blocker = svc.raise_blocker(team.agent, board, description="Printer on fire")
    db.session.commit()
    return team, board, blocker


def _counts():
    db.session.expire_all()
    return (db.session.scalar(select(func.count()).select_from(StandupEntry)),
            db.session.scalar(select(func.count()).select_from(Blocker)),
            db.session.scalar(select(func.count()).select_from(StandupSettings)),
            tuple(db.session.execute(select(StandupBoard.id, StandupBoard.version, StandupBoard.status,
                                            StandupBoard.speaker_index)).all()),
            tuple(db.session.execute(select(Blocker.id, Blocker.status)).all()))


def _refused(response, before):
    assert 400 <= response.status_code < 500, response.status_code
    assert response.get_data(as_text=True).strip(), "a 4xx comes with a message"
    assert _counts() == before, "nothing saved"


def _post(client, url, data, multipart=False, htmx=False):
    kwargs = {"content_type": "multipart/form-data"} if multipart else {}
    return client.post(url, data=data, headers=HX if htmx else {}, **kwargs)


@pytest.mark.parametrize("value", BAD_NUMBERS)
def test_bad_mood_owner_board_index_and_settings_numbers_are_refused(client, auth, setup, value):
    team, board, blocker = setup
    auth.login(team.coach)  # a coach is a poster and walks the board: every route is open to them
    before = _counts()
    cases = [
        (f"/standups/boards/{board.id}/entry", {"yesterday": "ok", "today": "ok", "mood": value}),
        (f"/standups/boards/{board.id}/blockers", {"description": "ok", "owner_id": value}),
        (f"/standups/blockers/{blocker.id}/resolve", {"board_id": value}),
        (f"/standups/blockers/{blocker.id}/escalate", {"board_id": value}),
        (f"/standups/boards/{board.id}/walk/next", {"index": value}),
        (f"/standups/boards/{board.id}/walk/skip", {"index": value}),
        (f"/standups/pods/{team.pod.id}/settings", {"escalate_after_days": value, "timebox_seconds": "60"}),
        (f"/standups/pods/{team.pod.id}/settings", {"escalate_after_days": "3", "timebox_seconds": value}),
    ]
    for url, data in cases:
        for multipart in (False, True):
            for htmx in (False, True):
                _refused(_post(client, url, data, multipart, htmx), before)


@pytest.mark.parametrize("value", [LONG, "bad\x00text", "bell\x07", "esc\x1b[31m"])
@pytest.mark.parametrize("multipart", [False, True])
def test_bad_text_in_entries_and_blockers_is_refused(client, auth, setup, value, multipart):
    team, board, _blocker = setup
    auth.login(team.agent)
    before = _counts()
    cases = [
        (f"/standups/boards/{board.id}/entry", {"yesterday": value, "today": "ok"}),
        (f"/standups/boards/{board.id}/entry", {"yesterday": "ok", "today": value}),
        (f"/standups/boards/{board.id}/blockers", {"description": value}),
        (f"/standups/boards/{board.id}/blockers", {"description": "ok", "case_ref": value}),
    ]
    for url, data in cases:
        _refused(_post(client, url, data, multipart), before)


def test_unicode_text_that_a_person_types_is_kept(client, auth, setup):
    team, board, _blocker = setup
    auth.login(team.agent)
    text = "Caso nº ² ١ — ça va? 😀\nsecond line"
    response = client.post(f"/standups/boards/{board.id}/entry", data={"yesterday": text, "mood": "4"})
    assert response.status_code == 302
    assert db.session.scalar(select(StandupEntry.yesterday)) == text


@pytest.mark.parametrize("ident", BAD_IDS)
def test_bad_ids_in_paths_are_404_and_change_nothing(client, auth, setup, ident):
    team, _board, _blocker = setup
    auth.login(team.coach)
    before = _counts()
    for url in (f"/standups/pods/{ident}", f"/standups/boards/{ident}", f"/standups/boards/{ident}/live?v=1",
                f"/standups/pods/{ident}/history"):
        assert client.get(url).status_code == 404, url
    for url in (f"/standups/boards/{ident}/entry", f"/standups/boards/{ident}/blockers",
                f"/standups/blockers/{ident}/resolve", f"/standups/blockers/{ident}/escalate",
                f"/standups/boards/{ident}/walk/start", f"/standups/pods/{ident}/settings"):
        assert client.post(url, data={"yesterday": "x", "description": "x", "board_id": "1"}).status_code == 404
    assert _counts() == before


@pytest.mark.parametrize("value", BAD_NUMBERS)
def test_bad_query_values_are_400(client, auth, setup, value):
    team, board, _blocker = setup
    auth.login(team.coach)
    assert client.get(f"/standups/boards/{board.id}/live", query_string={"v": value}).status_code == 400
    history = client.get(f"/standups/pods/{team.pod.id}/history", query_string={"month": value})
    assert history.status_code == 400
    for month in ("²⁰²⁶-03", "٢٠٢٦-٠٣", "9999-01", "2026-1", "2026-03-01", "1999-12"):
        response = client.get(f"/standups/pods/{team.pod.id}/history", query_string={"month": month})
        assert response.status_code == 400, month
    # Extra hostile parameters on pages that take none change nothing.
    for url in ("/standups/", f"/standups/pods/{team.pod.id}", f"/standups/boards/{board.id}"):
        assert client.get(url, query_string={"page": value}).status_code < 500


def test_a_board_of_another_pod_named_in_a_blocker_action_is_404(client, auth, setup):
    team, board, blocker = setup
    other = svc.board_for_today(team.other_pod)
    db.session.commit()
    auth.login(team.leader)
    before = _counts()
    assert client.post(f"/standups/blockers/{blocker.id}/resolve", data={"board_id": other.id}).status_code == 404
    assert _counts() == before
