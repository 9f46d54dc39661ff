"""The stand-up board's live check at room scale, and who may act settled before the form is read."""

from __future__ import annotations

import html
import re

from sqlalchemy import select

from app.extensions import db
from app.standups.models import Blocker, StandupBoard
from tests.standups.test_views import HX, _open

POLL = re.compile(r'id="standup-poll"[^>]* hx-get="([^"]+)"')


def _poll_url(page: str) -> str:
    return html.unescape(POLL.search(page).group(1))


def test_an_unchanged_board_answers_204_from_one_read_without_a_session(app, client, auth, every_day, count_queries):
    board = _open(client, auth, every_day.agent, every_day.pod)
    url = _poll_url(client.get(f"/standups/boards/{board.id}").get_data(as_text=True))
    stranger = app.test_client()
    with count_queries() as counter:
        response = stranger.get(url)
    assert response.status_code == 204 and counter.count == 1, counter.statements
    assert "standup_boards" in counter.statements[0] and "users" not in counter.statements[0]


def test_a_change_reaches_the_poll_and_the_new_part_holds_the_new_version(app, client, auth, every_day):
    board = _open(client, auth, every_day.agent, every_day.pod)
    url = _poll_url(client.get(f"/standups/boards/{board.id}").get_data(as_text=True))
    response = client.post(f"/standups/boards/{board.id}/entry",
                           data={"yesterday": "Closed the refunds", "today": "Billing queue", "mood": "4"},
                           headers=HX)
    assert response.status_code == 200
    assert app.test_client().get(url).status_code != 204  # someone else's page must now fetch the change
    update = client.get(url, headers=HX)
    assert update.status_code == 200 and "Closed the refunds" in update.get_data(as_text=True)
    assert client.get(_poll_url(update.get_data(as_text=True))).status_code == 204


def test_members_are_refused_coach_actions_before_their_form_is_read(client, auth, every_day):
    board = _open(client, auth, every_day.agent, every_day.pod)
    for path in (f"/standups/boards/{board.id}/walk/next", f"/standups/boards/{board.id}/walk/start",
                 f"/standups/pods/{every_day.pod.id}/settings"):
        response = client.post(path, data={})  # an empty form: the rule answers, not the validation
        assert response.status_code == 403, path
        assert "coach" in response.get_data(as_text=True)


def test_only_the_owner_or_coach_handles_a_blocker_whatever_the_form(client, auth, every_day):
    board = _open(client, auth, every_day.agent, every_day.pod)
    client.post(f"/standups/boards/{board.id}/blockers", data={"description": "Refund tool down",
                                                                "owner_id": str(every_day.mate.id)})
    blocker = db.session.scalar(select(Blocker))
    auth.logout()
    auth.login(every_day.third)
    for verb in ("resolve", "escalate"):
        response = client.post(f"/standups/blockers/{blocker.id}/{verb}", data={})
        assert response.status_code == 403, verb
    assert db.session.scalar(select(StandupBoard.version).where(StandupBoard.id == board.id)) >= 1


def _row(body: str, user_id: int) -> str:
    found = re.search(rf'<li class="person[^"]*" id="person-{user_id}".*?</li>', body, re.S)
    assert found, body
    return re.sub(r"\s+", " ", found.group(0).replace(' hx-swap-oob="true"', ""))


def test_after_entries_only_the_poll_sends_only_those_rows_from_the_token(app, client, auth, every_day,
                                                                         count_queries):
    """An entry changes one person's row: a poll from before it gets that row, the count and the next poll out of
    band (the same row the whole board draws, in the viewer's language and time zone), without a session."""
    every_day.agent.timezone, every_day.agent.locale = "America/New_York", "es"
    db.session.commit()
    board = _open(client, auth, every_day.agent, every_day.pod)
    url = _poll_url(client.get(f"/standups/boards/{board.id}").get_data(as_text=True))
    auth.logout()
    auth.login(every_day.mate)
    assert client.post(f"/standups/boards/{board.id}/entry", headers=HX,
                       data={"yesterday": "Closed <b>the</b> refunds", "today": "", "mood": "2"}).status_code == 200
    stranger = app.test_client()  # no session: the token alone answers
    with count_queries() as counter:
        delta = stranger.get(url, headers=HX)
    body = delta.get_data(as_text=True)
    assert delta.status_code == 200 and counter.count == 3, counter.statements
    assert 'id="board-live"' not in body and 'hx-swap-oob="true"' in body
    assert f'id="person-{every_day.mate.id}"' in body and f'id="person-{every_day.agent.id}"' not in body
    assert "Closed &lt;b&gt;the&lt;/b&gt; refunds" in body and "Ayer" in body  # escaped, in Spanish
    assert 'id="standup-posted"' in body and "Start the stand-up" not in body  # no coach buttons, no mood
    # The very row the whole board draws for the same viewer.
    auth.logout()
    auth.login(every_day.agent)
    full = client.get(f"/standups/boards/{board.id}").get_data(as_text=True)
    assert _row(body, every_day.mate.id) == _row(full, every_day.mate.id)
    assert client.get(_poll_url(body), headers=HX).status_code == 204


def test_a_change_other_than_an_entry_brings_the_whole_board(app, client, auth, every_day):
    board = _open(client, auth, every_day.agent, every_day.pod)
    url = _poll_url(client.get(f"/standups/boards/{board.id}").get_data(as_text=True))
    client.post(f"/standups/boards/{board.id}/entry", headers=HX, data={"yesterday": "Refunds", "today": ""})
    client.post(f"/standups/boards/{board.id}/blockers", headers=HX, data={"description": "Refund tool down"})
    body = app.test_client().get(url, headers=HX).get_data(as_text=True)
    assert body == ""  # no session, and the token cannot answer this one: the view signs the caller in first
    body = client.get(url, headers=HX).get_data(as_text=True)
    assert 'id="board-live"' in body and "Refund tool down" in body and "Refunds" in body


def test_an_entry_by_someone_without_a_row_on_the_page_brings_the_whole_board(app, client, auth, every_day):
    """The pod's coach is not a member: their first entry adds a row, which only the whole board can place."""
    board = _open(client, auth, every_day.agent, every_day.pod)
    url = _poll_url(client.get(f"/standups/boards/{board.id}").get_data(as_text=True))
    auth.logout()
    auth.login(every_day.coach)
    assert client.post(f"/standups/boards/{board.id}/entry", headers=HX,
                       data={"yesterday": "Coached the pod", "today": ""}).status_code == 200
    assert app.test_client().get(url, headers=HX).get_data(as_text=True) == ""  # the token alone cannot answer
    body = client.get(url, headers=HX).get_data(as_text=True)
    assert 'id="board-live"' in body and "Coached the pod" in body
