"""The live retro board at room scale: a signed poll answered 204 before sessions and users load, votes answered
with the voter's own item and budget, other people's changes sent as the parts that changed, bounded queries."""

from __future__ import annotations

import html
import re

import pytest
from sqlalchemy import select

from app import live
from app.extensions import db
from app.retros import services as retros
from app.retros.models import Retro
from tests.retros.conftest import advance_to
from tests.retros.test_views import HTMX, _body, _card, _voting

POLL = re.compile(r'id="retro-poll"[^>]* hx-get="([^"]+)"')


def _poll_url(page: str) -> str:
    return html.unescape(POLL.search(page).group(1))


def _pages_open(retro, readers) -> list[str]:
    """Each reader's retro page opened now: the poll address it checks from then on."""
    return [_poll_url(_body(reader.get(f"/retros/{retro.id}"))) for reader in readers]


def _vote_phase_reached(team, make_retro, as_user, topics: int):
    """A retro with ``topics`` cards, two members' pages opened while reflecting, then moved on to the vote: the
    retro, the two readers and the poll addresses their pages still hold."""
    retro = make_retro("reflect")
    for i in range(topics):
        _card(retro, team.members[i % 3], f"Topic {i}")
    readers = [as_user(member) for member in team.members[:2]]
    urls = _pages_open(retro, readers)
    advance_to(retro, "vote", team.coach)
    return retro, readers, urls


def _version(retro) -> int:
    return db.session.scalar(select(Retro.version).where(Retro.id == retro.id))


def test_an_unchanged_poll_is_a_204_without_session_or_user(app, team, make_retro, as_user, count_queries):
    retro = make_retro("reflect")
    url = _poll_url(_body(as_user(team.members[0]).get(f"/retros/{retro.id}")))
    anonymous = app.test_client()  # no session cookie at all: the token alone answers "unchanged"
    with count_queries() as counter:
        response = anonymous.get(url)
    assert response.status_code == 204 and response.get_data() == b""
    assert counter.count == 1, counter.statements
    assert "users" not in counter.statements[0] and "version" in counter.statements[0]
    assert "Set-Cookie" not in response.headers


def test_reflect_counts_are_answered_from_a_young_token_before_flask(app, team, make_retro, as_user, count_queries):
    retro = make_retro("reflect")
    from flask_babel import refresh

    team.members[0].locale = "es"
    db.session.commit()
    refresh()  # the tests' application context is shared with the test client's requests
    url = _poll_url(_body(as_user(team.members[0]).get(f"/retros/{retro.id}")))
    _card(retro, team.members[1])
    _card(retro, team.members[0], "Mine")  # the reader's own card is not one of the others'
    with count_queries() as counter:
        response = app.test_client().get(url, headers=HTMX)  # no session cookie: the token alone
    body = _body(response)
    assert response.status_code == 200 and "Set-Cookie" not in response.headers
    assert counter.count == 2, counter.statements  # the version; the retro's phase with the counts
    assert not any("users" in s for s in counter.statements)
    assert 'id="retro-hidden-start" class="muted retro-hidden-count" hx-swap-oob="true">1 tarjeta de otras' in body
    assert f'data-version="{_version(retro)}"' in body and "Mine" not in body
    assert app.test_client().get(_poll_url(body)).status_code == 204  # the new poller holds the new version
    advance_to(retro, "group", team.coach)
    assert "HX-Redirect" in app.test_client().get(_poll_url(body), headers=HTMX).headers  # a phase change: the view


def test_while_the_room_writes_a_poll_is_one_statement_changed_or_not(app, team, make_retro, as_user, count_queries):
    """A board this process saw change lately is asked of app/retros/poll.py first: its one statement reads the
    version with the counts, so a changed poll needs no version check before it, and an unchanged one is a 204 from
    the same statement. A quiet board is checked first, as before."""
    retro = make_retro("reflect")
    url = _poll_url(_body(as_user(team.members[0]).get(f"/retros/{retro.id}")))
    reader = app.test_client()
    _card(retro, team.members[1])
    with count_queries() as counter:
        first = reader.get(url, headers=HTMX)  # quiet until now: the version, then the counts
    assert first.status_code == 200 and counter.count == 2, counter.statements
    _card(retro, team.members[2])
    with count_queries() as counter:
        second = reader.get(url, headers=HTMX)  # busy: the counts and the version in one statement
    assert second.status_code == 200 and "2 cards by others" in _body(second), _body(second)
    assert counter.count == 1, counter.statements
    fresh = _poll_url(_body(second))
    assert f"v={_version(retro)}" in fresh
    with count_queries() as counter:
        unchanged = reader.get(fresh, headers=HTMX)
    assert unchanged.status_code == 204 and unchanged.get_data() == b"" and counter.count == 1
    _card(retro, team.members[2], "Third")
    live._BUSY.clear()  # noqa: SLF001 - quiet again (as BUSY_SECONDS after the last change)
    with count_queries() as counter:
        assert reader.get(fresh, headers=HTMX).status_code == 200
    assert counter.count == 2 and "retro_cards" not in counter.statements[0], counter.statements  # the version first
    advance_to(retro, "group", team.coach)  # not the feature's to answer: the view (sign-in, the rules) answers
    assert "HX-Redirect" in reader.get(fresh, headers=HTMX).headers


def test_a_changed_poll_with_an_old_token_needs_the_session_and_the_rules_again(
    app, team, make_retro, as_user, monkeypatch
):
    monkeypatch.setattr(live, "ANSWER_MAX_AGE", -1)
    retro = make_retro("reflect")
    url = _poll_url(_body(as_user(team.members[0]).get(f"/retros/{retro.id}")))
    _card(retro, team.members[1])
    response = app.test_client().get(url, headers=HTMX)  # changed: the full view runs, and it wants a signed-in person
    assert "HX-Redirect" in response.headers
    assert "1 card by others" not in _body(response)
    assert as_user(team.members[2]).get(url, headers=HTMX).status_code == 200
    assert as_user(team.outsider).get(url, headers=HTMX).status_code == 403


@pytest.mark.parametrize("tamper", ["token", "other_retro", "no_token", "many_fields"])
def test_a_bad_token_never_answers_unchanged(app, team, make_retro, as_user, tamper):
    retro = make_retro("reflect")
    url = _poll_url(_body(as_user(team.members[0]).get(f"/retros/{retro.id}")))
    if tamper == "token":
        url = re.sub(r"t=([^&]+)", lambda m: "t=" + m.group(1)[:-3] + "abc", url)
    elif tamper == "other_retro":
        url = url.replace(f"/retros/{retro.id}/", f"/retros/{retro.id + 1000}/")
    elif tamper == "many_fields":  # more fields than a poll sends: Flask answers, never a 500
        url += "".join(f"&x{i}=1" for i in range(20))
    else:
        url = re.sub(r"t=[^&]+&?", "", url)
    response = app.test_client().get(url)
    assert response.status_code != 204 and response.status_code < 500


def test_a_token_is_given_again_only_for_the_same_claims_and_while_young(monkeypatch):
    first = live.sign("secret", "retro", 7, 3, "participant", "es")
    assert live.sign("secret", "retro", 7, 3, "participant", "es") == first  # a burst of writes: signed once
    others = {
        live.sign("secret", "retro", 7, 4, "participant", "es"),  # another person
        live.sign("secret", "retro", 8, 3, "participant", "es"),  # another board
        live.sign("secret", "retro", 7, 3, "watcher", "es"),  # other rights
        live.sign("secret", "retro", 7, 3, "participant", "it"),  # another language
        live.sign("other secret", "retro", 7, 3, "participant", "es"),
    }
    assert first not in others and len(others) == 5
    real = live.time.time
    monkeypatch.setattr(live.time, "time", lambda: real() + live.SIGN_REUSE + 1)
    later = live.sign("secret", "retro", 7, 3, "participant", "es")
    assert later != first and live.read_full("secret", later)[5] < 1  # signed anew, not older than a second
    monkeypatch.setattr(live.time, "time", lambda: real() + live.SIGN_REUSE + 11)  # `later` is 10 s old now
    assert live.sign("secret", "retro", 7, 3, "participant", "es") == later
    monkeypatch.setattr(live, "ANSWER_MAX_AGE", -1)  # tokens must be fresh for a changed poll: none is reused
    assert live.sign("secret", "retro", 7, 3, "participant", "es") != later


def test_tokens_expire_and_name_one_board():
    token = live.sign("secret", "retro", 7, 3, "participant")
    assert live.read("secret", token) == ("retro", 7, 3, "participant")
    assert live.read("other secret", token) is None
    assert live.read("secret", token, max_age=-1) is None
    assert live.read("secret", "x" * 400) is None


def test_with_hidden_totals_a_vote_answers_only_the_voters_item_and_leaves_the_board_version(
    team, make_retro, as_user, count_queries
):
    retro, cards = _voting(team, make_retro)
    member = as_user(team.members[0])
    page = _body(member.get(f"/retros/{retro.id}"))
    before = _version(retro)
    url, item = f"/retros/{retro.id}/votes", f"card-{cards[1].id}"
    with count_queries() as counter:
        response = member.post(url, data={"item": item}, headers=HTMX)
    body = _body(response)
    assert response.status_code == 200
    assert 'id="retro-votes-left" class="retro-votes-left" hx-swap-oob="true"' in body and "Votes left: 4 of 5" in body
    assert f'id="retro-bar-card-{cards[1].id}"' in body and "●" in body
    assert 'id="retro-board"' not in body and f"card-{cards[0].id}" not in body
    assert _version(retro) == before  # nobody else's view changed, so nobody else's poll renders
    assert counter.count <= 12, counter.statements
    assert member.get(_poll_url(page)).status_code == 204
    back = member.post(f"/retros/{retro.id}/votes/remove", data={"item": f"card-{cards[1].id}"}, headers=HTMX)
    assert back.status_code == 200 and "Votes left: 5 of 5" in _body(back)


def test_with_totals_shown_a_vote_reaches_the_others_on_their_next_poll(team, make_retro, as_user):
    retro, cards = _voting(team, make_retro, hide_votes=False)
    watcher = as_user(team.members[2])
    url = _poll_url(_body(watcher.get(f"/retros/{retro.id}")))
    response = as_user(team.members[0]).post(
        f"/retros/{retro.id}/votes", data={"item": f"card-{cards[0].id}"}, headers=HTMX
    )
    assert "1 vote" in _body(response)
    update = watcher.get(url, headers=HTMX)
    assert update.status_code == 200 and "1 vote" in _body(update)


def test_the_vote_board_has_one_form_whatever_its_size(team, make_retro, as_user):
    retro, cards = _voting(team, make_retro)
    page = _body(as_user(team.members[0]).get(f"/retros/{retro.id}"))
    vote = page[page.index('id="retro-vote"') :]
    assert vote.count("<form") == 1 and vote.count('name="csrf_token"') <= 1
    assert vote.count('name="item"') == len(cards)


def test_a_new_card_sends_the_others_only_the_counts(team, make_retro, as_user, count_queries):
    retro = make_retro("reflect")
    reader = as_user(team.members[0])
    url = _poll_url(_body(reader.get(f"/retros/{retro.id}")))
    writer = as_user(team.members[1])
    response = writer.post(f"/retros/{retro.id}/cards", data={"column": "stop", "text": "Secret text"}, headers=HTMX)
    assert response.status_code == 200 and 'id="retro-poll" hidden hx-swap-oob="true"' in _body(response)
    with count_queries() as counter:
        update = reader.get(url, headers=HTMX)
    body = _body(update)
    assert update.status_code == 200 and "1 card by others" in body and "Secret text" not in body
    assert 'id="retro-hidden-stop"' in body and 'id="retro-board"' not in body
    assert counter.count <= 14, counter.statements
    assert reader.get(_poll_url(body)).status_code == 204  # the new poller holds the new version


def test_a_new_card_answers_its_author_with_the_card_alone(team, make_retro, as_user, count_queries):
    retro = make_retro("reflect")
    _card(retro, team.members[1], "Someone else's card")
    writer = as_user(team.members[0])
    with count_queries() as counter:
        response = writer.post(f"/retros/{retro.id}/cards", data={"column": "stop", "text": "Mine alone"}, headers=HTMX)
    body = _body(response)
    assert response.status_code == 200 and "Mine alone" in body and 'class="retro-card retro-card-mine"' in body
    assert 'id="retro-board"' not in body and "Someone else" not in body  # not the board, nobody else's text
    assert 'id="retro-hidden-start" class="muted retro-hidden-count" hx-swap-oob="true"' in body
    assert "1 card by others" in body
    assert counter.count <= 14, counter.statements
    assert writer.get(_poll_url(body)).status_code == 204  # the poller it brings holds the new version
    page = _body(writer.get(f"/retros/{retro.id}"))
    assert 'hx-target="#retro-cards-stop" hx-swap="beforeend"' in page and "Mine alone" in page


def test_a_phase_change_swaps_the_page_in_place(team, make_retro, as_user):
    retro = make_retro("reflect")
    _card(retro, team.members[1], "Visible after reflect")
    reader = as_user(team.members[0])
    url = _poll_url(_body(reader.get(f"/retros/{retro.id}")))
    advance_to(retro, "group", team.coach)
    update = reader.get(url, headers=HTMX)
    body = _body(update)
    assert update.status_code == 200 and "HX-Refresh" not in update.headers
    assert 'id="retro-live" hx-swap-oob="true"' in body and "Visible after reflect" in body
    assert body.count("hx-swap-oob") == 1


def test_poll_query_count_does_not_grow_with_the_board(team, make_retro, as_user, count_queries):
    counts = []
    for size in (4, 20):
        retro = make_retro("reflect", hide_votes=False)
        for i in range(size):
            _card(retro, team.members[i % 3], f"Card {i}")
        advance_to(retro, "vote", team.coach)
        reader = as_user(team.members[0])
        url = _poll_url(_body(reader.get(f"/retros/{retro.id}")))
        retros.cast_vote(team.members[1], retro, card_id=_first_card(retro))
        db.session.commit()
        with count_queries() as counter:
            assert reader.get(url, headers=HTMX).status_code == 200
        counts.append(counter.count)
        advance_to(retro, "closed", team.coach)
    assert counts[0] == counts[1], counts


def _first_card(retro):
    from app.retros.models import RetroCard

    return db.session.scalar(select(db.func.min(RetroCard.id)).where(RetroCard.retro_id == retro.id))


@pytest.fixture
def with_redis(app):
    """The app with REDIS_URL set to a scratch Redis database (skipped where no Redis answers)."""
    redis = pytest.importorskip("redis")
    try:
        redis.Redis.from_url("redis://127.0.0.1:6379/15", socket_connect_timeout=0.3).ping()
    except redis.RedisError:
        pytest.skip("no Redis on 127.0.0.1:6379")
    app.config["REDIS_URL"] = "redis://127.0.0.1:6379/15"
    yield
    app.config["REDIS_URL"] = ""


def test_with_redis_an_unchanged_poll_reads_no_database(app, with_redis, team, make_retro, as_user, count_queries):
    retro = make_retro("reflect")
    client = as_user(team.members[0])
    url = _poll_url(_body(client.get(f"/retros/{retro.id}")))
    assert client.get(url).status_code == 204  # the first check reads the database and fills Redis
    with count_queries() as counter:
        assert app.test_client().get(url).status_code == 204
    assert counter.count == 0, counter.statements
    client.post(f"/retros/{retro.id}/cards", data={"column": "start", "text": "New"}, headers=HTMX)
    with count_queries() as counter:
        assert app.test_client().get(url).status_code != 204  # the write reached Redis on commit


def test_the_vote_board_a_phase_change_brings_is_rendered_once_for_people_in_the_same_situation(
    team, make_retro, as_user, count_queries
):
    retro, readers, urls = _vote_phase_reached(team, make_retro, as_user, topics=6)
    first = readers[0].get(urls[0], headers=HTMX)
    with count_queries() as counter:
        second = readers[1].get(urls[1], headers=HTMX)
    assert "Topic 5" in _body(first) and "Topic 5" in _body(second)
    assert counter.count < 10, counter.statements  # no cards, groups or votes loaded again
    tokens = re.compile(r'name="csrf_token" (?:type="hidden" )?value="([^"]+)"')
    live_parts = [_body(r).split('<div id="retro-live"')[1] for r in (first, second)]
    assert tokens.sub("", live_parts[0]) == tokens.sub("", live_parts[1])
    assert set(tokens.findall(live_parts[0])).isdisjoint(tokens.findall(live_parts[1]))  # each their own session's
    # Someone who has voted sees their own dots: their answer is their own.
    retros.cast_vote(team.members[2], retro, card_id=_first_card(retro))
    db.session.commit()
    voter = as_user(team.members[2])
    stale = re.sub(
        r"v=[0-9]+", "v=0", re.sub(r"phase=vote", "phase=group", _poll_url(_body(voter.get(f"/retros/{retro.id}"))))
    )
    third = voter.get(stale, headers=HTMX)
    assert "Votes left: 4 of 5" in _body(third)


def test_the_group_board_a_phase_change_brings_is_shared_unless_a_card_cites_a_case(
    team, make_retro, as_user, count_queries
):
    for cited in (False, True):
        retro = make_retro("reflect")
        for i in range(4):
            _card(retro, team.members[i % 3], f"Grouped {i}")
        if cited:
            retros.add_card(team.members[0], retro, column_key="start", text="With a case", case_ref="CASE-1")
            db.session.commit()
        readers = [as_user(member) for member in team.members[:2]]
        urls = _pages_open(retro, readers)
        advance_to(retro, "group", team.coach)
        first = readers[0].get(urls[0], headers=HTMX)
        with count_queries() as counter:
            second = readers[1].get(urls[1], headers=HTMX)
        assert "Grouped 3" in _body(first) and "Grouped 3" in _body(second)
        assert 'class="retro-move-open"' in _body(second)  # members may group: each card links to its move page
        loads_cards = any("retro_cards.text" in s for s in counter.statements)  # not the reflect poll's counts
        assert loads_cards == cited, counter.statements  # a cited case is shown as the viewer may see it
        advance_to(retro, "closed", team.coach)


def test_with_redis_the_board_a_phase_change_brings_is_rendered_once_for_every_worker(
    app, with_redis, team, make_retro, as_user, count_queries, monkeypatch
):
    retro = make_retro("reflect")
    for i in range(4):
        _card(retro, team.members[i % 3], f"Shared {i}")
    readers = [as_user(member) for member in team.members[:2]]
    urls = _pages_open(retro, readers)
    advance_to(retro, "group", team.coach)
    first = readers[0].get(urls[0], headers=HTMX)
    monkeypatch.setattr(live, "_RENDERS", type(live._RENDERS)())  # another worker: nothing in its memory
    with count_queries() as counter:
        second = readers[1].get(urls[1], headers=HTMX)
    assert "Shared 3" in _body(first) and "Shared 3" in _body(second)
    assert not any("retro_cards.text" in s for s in counter.statements), counter.statements  # taken from Redis
    tokens = re.compile(r'name="csrf_token" (?:type="hidden" )?value="([^"]+)"')
    assert set(tokens.findall(_body(first))).isdisjoint(tokens.findall(_body(second)))


def _owner_default(body: str) -> str:
    owners = re.search(r'<select name="owner_id" required>(.*?)</select>', body, re.S).group(1)
    return re.search(r'<option value="([0-9]+)" selected>', owners).group(1)


def test_the_discussion_board_is_rendered_once_and_each_person_is_their_own_default_owner(
    team, make_retro, as_user, count_queries
):
    retro = make_retro("reflect")
    for i in range(4):
        _card(retro, team.members[i % 3], f"Discussed {i}")
    advance_to(retro, "vote", team.coach)
    readers = [as_user(member) for member in team.members[:2]]
    urls = _pages_open(retro, readers)
    retros.cast_vote(team.members[0], retro, card_id=_first_card(retro))  # a vote of their own changes nothing here
    db.session.commit()
    advance_to(retro, "discuss", team.coach)
    first = readers[0].get(urls[0], headers=HTMX)
    with count_queries() as counter:
        second = readers[1].get(urls[1], headers=HTMX)
    assert "Discussed 3" in _body(first) and "Discussed 3" in _body(second)
    assert not any("retro_cards" in s for s in counter.statements), counter.statements
    assert _owner_default(_body(first)) == str(team.members[0].id)
    assert _owner_default(_body(second)) == str(team.members[1].id)
    assert "\x00" not in _body(first) + _body(second)
    # A note changes the board: the next poll of each page brings it, rendered once for both.
    urls = [_poll_url(_body(r)) for r in (first, second)]
    readers[0].post(f"/retros/{retro.id}/notes", data={"topic": f"card-{_first_card(retro)}", "text": "Call back"},
                    headers=HTMX)
    first = readers[0].get(urls[0], headers=HTMX)
    with count_queries() as counter:
        second = readers[1].get(urls[1], headers=HTMX)
    assert "Call back" in _body(first) and "Call back" in _body(second)
    assert 'id="retro-board"' in _body(second) and 'id="retro-live"' not in _body(second)
    assert not any("retro_cards" in s for s in counter.statements), counter.statements
    assert _owner_default(_body(second)) == str(team.members[1].id)
