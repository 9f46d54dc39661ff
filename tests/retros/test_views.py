"""Retro pages over HTTP: phase rules, hidden cards, anonymity, votes under concurrency, permissions, exports,
bad input, live polling and the bounded query count."""

from __future__ import annotations

import csv
import io
import threading
from datetime import date, datetime, timedelta

import pytest
from sqlalchemy import select, text

from app.extensions import db
from app.retros import services as retros
from app.retros.models import Retro, RetroAction, RetroCard, RetroTemplate, RetroVote, RetroVoteTally
from app.timeutil import to_local, utcnow
from tests.retros.conftest import advance_to

HTMX = {"HX-Request": "true"}


def _card(retro, user, text="A card", column="start"):
    with db.session.no_autoflush:
        card = retros.add_card(user, retro, column_key=column, text=text)
    db.session.commit()
    return card


def _body(response) -> str:
    return response.data.decode("utf-8-sig")


# --- phases ------------------------------------------------------------------------------------------


def test_facilitator_runs_every_phase_over_http(team, make_retro, as_user):
    retro = make_retro()
    coach, member = as_user(team.coach), as_user(team.members[0])
    assert member.post(f"/retros/{retro.id}/advance", data={"phase": "checkin"}).status_code == 403
    for phase in ("checkin", "review", "reflect", "group", "vote", "discuss"):
        response = coach.post(f"/retros/{retro.id}/advance", data={"phase": phase}, headers=HTMX)
        assert response.status_code == 204 and response.headers["HX-Refresh"] == "true"
    db.session.expire_all()
    assert db.session.get(Retro, retro.id).phase == "closed"
    assert "Printable summary" in _body(member.get(f"/retros/{retro.id}"))


@pytest.mark.parametrize(("phase", "path", "data"), [
    ("checkin", "cards", {"column": "start", "text": "Too early"}),
    ("reflect", "checkin", {"pulse": "4"}),
    ("reflect", "votes", {"item": "card-1"}),
    ("vote", "cards", {"column": "start", "text": "Too late"}),
    ("vote", "groups", {"title": "Late group"}),
    ("group", "notes", {"topic": "card-1", "text": "Not yet"}),
    ("discuss", "votes/remove", {"item": "card-1"}),
])
def test_a_stale_page_gets_a_clear_message(team, make_retro, as_user, phase, path, data):
    retro = make_retro("reflect")
    card = _card(retro, team.members[0])
    data = {k: v.replace("card-1", f"card-{card.id}") for k, v in data.items()}
    advance_to(retro, phase, team.coach) if phase != "checkin" else None
    if phase == "checkin":
        retro = _fresh_retro_in_checkin(team)
    member = as_user(team.members[1])
    response = member.post(f"/retros/{retro.id}/{path}", data=data)
    assert response.status_code == 409
    assert "your page was out of date" in _body(response)
    assert str(retros.phase_label(phase)) in _body(response)


def _fresh_retro_in_checkin(team):
    other = db.session.scalars(select(Retro).where(Retro.pod_id == team.pod.id)).first()
    advance_to(other, "closed", team.coach)
    retro = retros.create_retro(team.coach, team.pod, title="Next", template_key="start_stop_continue",
                                facilitator=team.coach)
    db.session.commit()
    return retro


def test_a_stale_htmx_page_is_told_and_catches_up_without_a_reload(team, make_retro, as_user):
    retro = make_retro("group")
    member = as_user(team.members[0])
    response = member.post(f"/retros/{retro.id}/cards", data={"column": "start", "text": "Late"}, headers=HTMX)
    assert response.status_code == 409 and "HX-Refresh" not in response.headers
    assert response.headers["HX-Trigger"] == "podium-stale"  # the page's live check runs at once
    assert "your page was out of date" in _body(response) and "Group" in _body(response)
    assert db.session.scalar(select(db.func.count()).select_from(RetroCard)) == 0
    caught_up = member.get(f"/retros/{retro.id}/board?v=0&phase=reflect", headers=HTMX)
    assert caught_up.status_code == 200 and 'id="retro-group"' in _body(caught_up)
    assert 'id="retro-live" hx-swap-oob="true"' in _body(caught_up)


def test_a_vote_sent_as_the_coach_moves_on_is_refused_with_the_current_phase(team, make_retro, as_user):
    retro, cards = _voting(team, make_retro)
    member = as_user(team.members[0])
    advance_to(retro, "discuss", team.coach)
    response = member.post(f"/retros/{retro.id}/votes", data={"item": f"card-{cards[0].id}"}, headers=HTMX)
    assert response.status_code == 409 and response.headers["HX-Trigger"] == "podium-stale"
    assert "moved on to “Discuss”" in _body(response)
    assert db.session.scalar(select(db.func.count()).select_from(RetroVote)) == 0


def test_a_double_click_on_next_does_not_skip_a_phase(team, make_retro, as_user):
    retro = make_retro()
    coach = as_user(team.coach)
    assert coach.post(f"/retros/{retro.id}/advance", data={"phase": "checkin"}).status_code == 302
    assert coach.post(f"/retros/{retro.id}/advance", data={"phase": "checkin"}).status_code == 409
    db.session.expire_all()
    assert db.session.get(Retro, retro.id).phase == "review"


def test_timer_is_stored_and_shown_to_everyone(team, make_retro, as_user):
    retro = make_retro("reflect")
    response = as_user(team.coach).post(f"/retros/{retro.id}/timer", data={"phase": "reflect", "minutes": "7"},
                                        headers=HTMX)
    assert response.status_code == 200
    db.session.expire_all()
    stored = db.session.get(Retro, retro.id)
    assert stored.phase_ends_at is not None
    assert 'class="retro-timer"' in _body(as_user(team.members[2]).get(f"/retros/{retro.id}"))
    assert as_user(team.members[0]).post(f"/retros/{retro.id}/timer",
                                         data={"phase": "reflect", "minutes": "7"}).status_code == 403


# --- hidden cards and anonymity -----------------------------------------------------------------------


def test_while_reflecting_nobody_receives_the_text_of_others(team, make_retro, as_user):
    retro = make_retro("reflect")
    secret = "The escalation queue is ignored on Fridays"
    _card(retro, team.members[0], secret)
    _card(retro, team.members[0], "Second thought", column="stop")
    author, other, coach, leader = (as_user(u) for u in (team.members[0], team.members[1], team.coach, team.leader))
    assert secret in _body(author.get(f"/retros/{retro.id}"))
    for client in (other, coach, leader):
        page = _body(client.get(f"/retros/{retro.id}"))
        board = _body(client.get(f"/retros/{retro.id}/board?v=0&phase=reflect"))
        assert secret not in page and secret not in board and "Second thought" not in page
        assert "1 card by others" in page
    advance_to(retro, "group", team.coach)
    assert secret in _body(other.get(f"/retros/{retro.id}"))


def test_leaving_reflect_erases_authors_in_the_database(team, make_retro, as_user):
    retro = make_retro("reflect")
    for member in team.members:
        _card(retro, member, f"Card by {member.display_name}")
    as_user(team.coach).post(f"/retros/{retro.id}/advance", data={"phase": "reflect"})
    rows = db.session.execute(text("SELECT author_id FROM retro_cards WHERE retro_id = :id"),
                              {"id": retro.id}).all()
    assert len(rows) == 3 and all(row.author_id is None for row in rows)
    db.session.expire_all()
    assert db.session.get(Retro, retro.id).authors_erased
    advance_to(retro, "closed", team.coach)
    for client in (as_user(team.leader), as_user(team.coach)):
        for url in (f"/retros/{retro.id}", f"/retros/{retro.id}/summary", f"/retros/{retro.id}/export.md",
                    f"/retros/{retro.id}/export.csv"):
            body = _body(client.get(url))
            assert "Card by Ana Agent" in body
            assert not any(f"{m.display_name}</small>" in body or f"— {m.display_name}" in body
                           for m in team.members)
            # The only place a member's name could come from is a card's author: there is none left.
            body = body.replace("Card by Ana Agent", "").replace("Card by Ben Agent", "").replace(
                "Card by Cai Agent", "")
            assert not any(m.display_name in body for m in team.members), url


def test_exports_never_show_authors_of_anonymous_cards(team, make_retro, as_user):
    retro = make_retro("reflect")
    _card(retro, team.members[0], "=HYPERLINK(\"http://evil\")")
    _card(retro, team.members[1], "Shared inbox rules help")
    advance_to(retro, "closed", team.coach)
    client = as_user(team.coach)
    rows = list(csv.DictReader(io.StringIO(_body(client.get(f"/retros/{retro.id}/export.csv")))))
    cards = [r for r in rows if r["kind"] == "card"]
    assert len(cards) == 2 and all(r["author"] == "" for r in cards)
    assert any(r["text"].startswith("'=HYPERLINK") for r in cards)  # no formula in a spreadsheet
    markdown = _body(client.get(f"/retros/{retro.id}/export.md"))
    summary = _body(client.get(f"/retros/{retro.id}/summary"))
    for body in (markdown, summary):
        assert "Shared inbox rules help" in body
        assert team.members[0].display_name not in body and team.members[1].display_name not in body


def test_named_retro_exports_show_authors(team, make_retro, as_user):
    retro = make_retro("reflect", anonymous=False)
    _card(retro, team.members[0], "Named card")
    advance_to(retro, "closed", team.coach)
    client = as_user(team.members[2])
    assert f"Named card — {team.members[0].display_name}" in _body(client.get(f"/retros/{retro.id}/export.md"))
    rows = list(csv.DictReader(io.StringIO(_body(client.get(f"/retros/{retro.id}/export.csv")))))
    assert [r["author"] for r in rows if r["kind"] == "card"] == [team.members[0].display_name]


def test_exports_wait_for_the_retro_to_close(team, make_retro, as_user):
    retro = make_retro("discuss")
    client = as_user(team.coach)
    for suffix in ("export.md", "export.csv", "summary"):
        response = client.get(f"/retros/{retro.id}/{suffix}")
        assert response.status_code == 409 and "once the retro is closed" in _body(response)


# --- votes --------------------------------------------------------------------------------------------


def _voting(team, make_retro, **options):
    retro = make_retro("reflect", **options)
    cards = [_card(retro, team.members[i % 3], f"Topic {i}") for i in range(4)]
    advance_to(retro, "vote", team.coach)
    return retro, cards


def _race(app, cookie: str, url: str, payloads: list[dict]) -> list[int]:
    """Send every payload at once from its own thread and client, all as the same signed-in person."""
    barrier = threading.Barrier(len(payloads))
    statuses: list[int] = []

    def send(payload):
        client = app.test_client()
        client.set_cookie("session", cookie, domain="localhost")
        barrier.wait(30)
        try:
            statuses.append(client.post(url, data=payload).status_code)
        except Exception as exc:  # noqa: BLE001 - reported by the assertion
            statuses.append(repr(exc))

    threads = [threading.Thread(target=send, args=(p,)) for p in payloads]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(120)
    return statuses


def _session_cookie(client) -> str:
    return client.get_cookie("session", domain="localhost").value


def test_fifty_simultaneous_votes_with_a_budget_of_five_leave_exactly_five(app, team, make_retro, as_user):
    retro, cards = _voting(team, make_retro, votes_per_person=5, max_votes_per_item=3)
    voter = team.members[0]
    cookie = _session_cookie(as_user(voter))
    db.session.commit()
    payloads = [{"item": f"card-{cards[i % 4].id}"} for i in range(50)]
    statuses = _race(app, cookie, f"/retros/{retro.id}/votes", payloads)
    assert sorted(set(statuses)) == [302, 409], statuses
    db.session.expire_all()
    counts = db.session.scalars(select(RetroVote.count).where(RetroVote.user_id == voter.id)).all()
    assert sum(counts) == 5 and max(counts) <= 3
    assert statuses.count(302) == 5
    assert db.session.scalar(select(RetroVoteTally.used).where(RetroVoteTally.user_id == voter.id)) == 5


def test_simultaneous_votes_on_one_card_stop_at_the_cap(app, team, make_retro, as_user):
    retro, cards = _voting(team, make_retro, votes_per_person=10, max_votes_per_item=3)
    voter = team.members[1]
    cookie = _session_cookie(as_user(voter))
    db.session.commit()
    statuses = _race(app, cookie, f"/retros/{retro.id}/votes", [{"item": f"card-{cards[0].id}"}] * 12)
    assert statuses.count(302) == 3 and statuses.count(409) == 9, statuses
    db.session.expire_all()
    assert db.session.scalar(select(RetroVote.count).where(RetroVote.user_id == voter.id)) == 3
    # Refused dots were given back: the budget spent equals the dots placed.
    assert db.session.scalar(select(RetroVoteTally.used).where(RetroVoteTally.user_id == voter.id)) == 3


def test_vote_totals_stay_hidden_until_voting_ends(team, make_retro, as_user):
    retro, cards = _voting(team, make_retro)
    member = as_user(team.members[0])
    member.post(f"/retros/{retro.id}/votes", data={"item": f"card-{cards[0].id}"})
    as_user(team.members[1]).post(f"/retros/{retro.id}/votes", data={"item": f"card-{cards[0].id}"})
    page = _body(member.get(f"/retros/{retro.id}"))
    assert "Votes left: 4 of 5" in page and "2 votes" not in page and "Totals show when voting ends." in page
    assert member.post(f"/retros/{retro.id}/votes/remove", data={"item": f"card-{cards[0].id}"}).status_code == 302
    assert "Votes left: 5 of 5" in _body(member.get(f"/retros/{retro.id}"))
    advance_to(retro, "discuss", team.coach)
    assert "1 vote" in _body(member.get(f"/retros/{retro.id}"))


# --- permissions -------------------------------------------------------------------------------------


def test_people_of_another_pod_cannot_see_or_act(team, make_retro, make_user, make_pod, as_user):
    retro = make_retro("reflect")
    card = _card(retro, team.members[0], "Inside the pod")
    other_coach = make_user("coach", name="Oscar Coach")
    make_pod(name="Third pod", coaches=[other_coach])
    for person in (team.outsider, other_coach):
        client = as_user(person)
        assert client.get(f"/retros/{retro.id}").status_code == 403
        assert client.get(f"/retros/{retro.id}/board").status_code == 403
        assert client.get(f"/pods/{team.pod.id}/retros").status_code == 403
        assert client.get(f"/pods/{team.pod.id}/actions").status_code == 403
        assert client.post(f"/retros/{retro.id}/cards", data={"column": "start", "text": "x"}).status_code == 403
        assert client.post(f"/retros/{retro.id}/cards/{card.id}/delete").status_code == 403
        assert client.post(f"/pods/{team.pod.id}/retros", data={"title": "Mine", "template": "four_ls",
                           "votes_per_person": "5", "max_votes_per_item": "3"}).status_code == 403
        assert "Inside the pod" not in _body(client.get("/retros"))
    leader = as_user(team.leader)
    assert leader.get(f"/retros/{retro.id}").status_code == 200
    assert leader.post(f"/retros/{retro.id}/cards", data={"column": "start", "text": "x"}).status_code == 403
    other = as_user(team.members[1])
    assert other.post(f"/retros/{retro.id}/cards/{card.id}/edit", data={"text": "hijack"}).status_code == 403
    db.session.expire_all()
    assert db.session.get(RetroCard, card.id).text == "Inside the pod"


def test_ids_from_another_retro_are_not_found(team, make_retro, make_user, make_pod, as_user):
    retro = make_retro("reflect")
    card = _card(retro, team.members[0])
    coach2 = make_user("coach")
    member2 = make_user("agent")
    pod2 = make_pod(name="Pod two", coaches=[coach2], members=[member2])
    other = retros.create_retro(coach2, pod2, title="Theirs", template_key="start_stop_continue", facilitator=coach2)
    db.session.commit()
    advance_to(other, "reflect", coach2)
    client = as_user(member2)
    assert client.post(f"/retros/{other.id}/cards/{card.id}/edit", data={"text": "x"}).status_code == 404
    advance_to(other, "group", coach2)
    assert client.post(f"/retros/{other.id}/cards/{card.id}/move", data={"target": "new"}).status_code == 404


def test_coach_opens_a_retro_from_the_pod_page_once(team, as_user):
    coach = as_user(team.coach)
    form = {"title": "March retro", "template": "sailboat", "facilitator_id": str(team.members[1].id),
            "anonymous": "1", "votes_per_person": "6", "max_votes_per_item": "2", "grouping": "facilitator"}
    response = coach.post(f"/pods/{team.pod.id}/retros", data=form)
    assert response.status_code == 302
    retro = db.session.scalar(select(Retro))
    assert (retro.facilitator_id, retro.votes_per_person, retro.grouping, retro.anonymous) == (
        team.members[1].id, 6, "facilitator", True)
    assert len(retro.columns) == 4
    again = coach.post(f"/pods/{team.pod.id}/retros", data=form)
    assert again.status_code == 409 and "already has a retro in progress" in _body(again)
    assert as_user(team.members[0]).post(f"/pods/{team.pod.id}/retros", data=form).status_code == 403


# --- bad input ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(("phase", "path", "data", "status"), [
    ("checkin", "checkin", {"pulse": "nine"}, 422),
    ("checkin", "checkin", {"pulse": "9"}, 422),
    ("checkin", "checkin", {}, 422),
    ("reflect", "cards", {"column": "start", "text": ""}, 422),
    ("reflect", "cards", {"column": "start", "text": "x" * 501}, 422),
    ("reflect", "cards", {"column": "start", "text": "bad\x00byte"}, 400),  # refused before any view
    ("reflect", "cards", {"column": "nowhere", "text": "ok"}, 422),
    ("reflect", "cards", {"column": "start", "text": "ok", "metric": "happiness"}, 422),
    ("reflect", "timer", {"phase": "reflect", "minutes": "500"}, 422),
    ("reflect", "timer", {"phase": "re\x00flect", "minutes": "5"}, 400),
    ("reflect", "timer", {"phase": "reflect", "minutes": "soon"}, 422),
    ("group", "groups", {"title": "   "}, 422),
    ("vote", "votes", {"item": "card-abc"}, 422),
    ("vote", "votes", {"item": "card-99999"}, 404),
    ("vote", "votes", {"item": ""}, 422),
    ("discuss", "notes", {"topic": "card-x", "text": "note"}, 422),
    ("discuss", "actions", {"title": "Do it", "owner_id": "1x", "due_date": "2099-01-01",
                            "principle": "autonomy"}, 422),
    ("discuss", "actions", {"title": "Do it", "owner_id": "OWNER", "due_date": "01/02/2099",
                            "principle": "autonomy"}, 422),
    ("discuss", "actions", {"title": "Do it", "owner_id": "OWNER", "due_date": "2099-01-01",
                            "principle": "autonomy", "metric": "fcr", "scope": "segment-x"}, 422),
    ("discuss", "actions", {"title": "Do it", "owner_id": "OWNER", "due_date": "2099-01-01",
                            "principle": "speed"}, 422),
])
def test_bad_input_gets_a_clear_4xx(team, make_retro, as_user, phase, path, data, status):
    retro = make_retro(phase if phase != "checkin" else "checkin")
    if "timer" == path:
        client = as_user(team.coach)
    else:
        client = as_user(team.members[0])
    data = {k: v.replace("OWNER", str(team.members[0].id)) for k, v in data.items()}
    response = client.post(f"/retros/{retro.id}/{path}", data=data)
    assert response.status_code == status, _body(response)[:500]


def test_bad_retro_settings_are_refused(team, as_user):
    coach = as_user(team.coach)
    base = {"title": "R", "template": "four_ls", "votes_per_person": "5", "max_votes_per_item": "3"}
    for change in ({"template": "nope"}, {"votes_per_person": "0"}, {"max_votes_per_item": "9"},
                   {"votes_per_person": "many"}, {"title": ""}, {"grouping": "robots"},
                   {"facilitator_id": str(team.outsider.id)}):
        response = coach.post(f"/pods/{team.pod.id}/retros", data={**base, **change})
        assert response.status_code == 422, (change, response.status_code)
    assert coach.get("/retros/999999").status_code == 404
    assert coach.post(f"/pods/{team.pod.id}/retro-templates", data={"name": "One", "columns": "Only"}).status_code \
        == 422


def test_custom_template_saved_and_used(team, as_user):
    coach = as_user(team.coach)
    assert coach.post(f"/pods/{team.pod.id}/retro-templates",
                      data={"name": "Queues", "columns": "Phone\nChat\nEmail"}).status_code == 302
    page = _body(coach.get(f"/pods/{team.pod.id}/retros"))
    assert "Queues" in page and "Phone · Chat · Email" in page


# --- live polling and query counts ---------------------------------------------------------------------


def test_board_poll_is_204_while_nothing_changed(team, make_retro, as_user):
    retro = make_retro("reflect")
    client = as_user(team.members[0])
    version = db.session.get(Retro, retro.id).version
    url = f"/retros/{retro.id}/board?phase=reflect&v={version}"
    assert client.get(url).status_code == 204
    _card(retro, team.members[1])
    response = client.get(url)
    assert response.status_code == 200 and "1 card by others" in _body(response)
    assert 'id="retro-board"' not in _body(response)  # a card by someone else: only the counts
    advance_to(retro, "group", team.coach)
    moved = client.get(url)
    assert moved.status_code == 200 and "HX-Refresh" not in moved.headers
    assert 'id="retro-live" hx-swap-oob="true"' in _body(moved) and 'id="retro-group"' in _body(moved)


def _grow(team, retro_phase_cards: int, make_retro):
    retro = make_retro("reflect")
    cards = [_card(retro, team.members[i % 3], f"Card {i}", column=("start", "stop", "continue")[i % 3])
             for i in range(retro_phase_cards)]
    advance_to(retro, "group", team.coach)
    for i in range(0, len(cards) - 1, 3):
        retros.move_card(team.members[0], retro, cards[i + 1], f"card-{cards[i].id}")
    db.session.commit()
    advance_to(retro, "vote", team.coach)
    topics = db.session.execute(select(RetroCard.id, RetroCard.group_id).where(RetroCard.retro_id == retro.id)).all()
    items = sorted({f"group-{g}" if g else f"card-{c}" for c, g in topics})
    for member in team.members:
        for item in items[:5]:
            kind, _sep, raw = item.partition("-")
            retros.cast_vote(member, retro, **{f"{kind}_id": int(raw)})
    db.session.commit()
    return retro, items


@pytest.mark.parametrize("phase", ["vote", "discuss", "closed"])
def test_retro_page_query_count_does_not_grow_with_cards_and_votes(team, make_retro, as_user, count_queries, phase):
    client = as_user(team.members[0])
    counts = []
    for size in (6, 24):
        retro, items = _grow(team, size, make_retro)
        if phase != "vote":
            advance_to(retro, "discuss", team.coach)
            for item in items:
                retros.add_note(team.members[1], retro, topic=item, text=f"Note on {item}")
                retros.create_action(team.members[1], retro, title=f"Act on {item}", owner=team.members[2],
                                     due_date=date.today() + timedelta(days=7), principle="autonomy", topic=item,
                                     metric_code="fcr")
            db.session.commit()
            advance_to(retro, phase, team.coach)
        with count_queries() as counter:
            response = client.get(f"/retros/{retro.id}")
        assert response.status_code == 200
        counts.append(counter.count)
        advance_to(retro, "closed", team.coach)
    assert counts[0] == counts[1], counts
    assert counts[1] <= 30, counts


def test_reflect_and_register_query_counts_are_bounded(team, make_retro, as_user, count_queries):
    client = as_user(team.members[0])
    counts = []
    pod_today = to_local(utcnow(), team.pod.timezone).date()  # due dates are judged on the pod's day
    for size in (3, 15):
        retro = make_retro("reflect")
        for i in range(size):
            _card(retro, team.members[i % 3], f"Reflect {i}")
        with count_queries() as reflect:
            assert client.get(f"/retros/{retro.id}").status_code == 200
        advance_to(retro, "discuss", team.coach)
        for i in range(size):
            retros.create_action(team.members[0], retro, title=f"Action {i}", owner=team.members[i % 3],
                                 due_date=pod_today + timedelta(days=i), principle="end_to_end")
        db.session.commit()
        advance_to(retro, "closed", team.coach)
        with count_queries() as register:
            assert client.get(f"/pods/{team.pod.id}/actions").status_code == 200
        counts.append((reflect.count, register.count))
    assert counts[0] == counts[1], counts


# --- actions, review, register, home --------------------------------------------------------------------


def test_actions_flow_into_review_register_and_my_day(team, make_retro, as_user, engine):
    retro = make_retro("discuss")
    member = as_user(team.members[0])
    response = member.post(f"/retros/{retro.id}/actions", data={
        "title": "Own refunds end to end", "owner_id": str(team.members[0].id),
        "due_date": (date.today() + timedelta(days=10)).isoformat(), "principle": "end_to_end",
        "metric": "handoff_rate", "scope": "pod"}, headers=HTMX)
    assert response.status_code == 200 and "Own refunds end to end" in _body(response)
    action = db.session.scalar(select(RetroAction))
    assert action.baseline_value == pytest.approx(0.2) and action.direction == "down"
    home = _body(member.get("/"))
    assert 'id="home-retros"' in home and "Own refunds end to end" in home
    assert 'href="/retros"' in home  # the nav entry
    advance_to(retro, "closed", team.coach)
    nxt = retros.create_retro(team.coach, team.pod, title="Next", template_key="mad_sad_glad", facilitator=team.coach)
    db.session.commit()
    advance_to(nxt, "review", team.coach)
    engine.values["handoff_rate"] = 0.1
    page = _body(member.get(f"/retros/{nxt.id}"))
    assert "Own refunds end to end" in page
    assert member.post(f"/retros/{nxt.id}/review/{action.id}", data={"status": "done"}).status_code == 302
    page = _body(member.get(f"/retros/{nxt.id}"))
    assert "20.0%" in page and "10.0%" in page and "worked" in page
    register = _body(member.get(f"/pods/{team.pod.id}/actions"))
    assert 'id="register-done"' in register and "Own refunds end to end" in register
    assert member.post(f"/retros/{nxt.id}/review/{action.id}", data={"status": "later"}).status_code == 422


def test_the_scheduled_job_reminds_owners(app, team, make_retro):
    from app.notifications.models import Notification
    from app.scheduler.jobs import JOBS

    retro = make_retro("discuss")
    with app.test_request_context():
        retros.create_action(team.members[1], retro, title="Call back reopened cases", owner=team.members[2],
                             due_date=date.today() + timedelta(days=1), principle="customer_centric")
    db.session.commit()
    job = JOBS["retro_action_reminders"]
    result = job.func(app, datetime.combine(date.today(), datetime.min.time()) + timedelta(hours=8))
    assert result == "1 retro action reminders"
    note = db.session.scalar(select(Notification).where(Notification.user_id == team.members[2].id))
    assert note.kind == "retro_action_due" and note.url == f"/pods/{team.pod.id}/actions"


def test_deleting_a_template_needs_a_coach_or_leader_of_the_pod(team, as_user):
    template = retros.save_template(team.coach, team.pod, name="Queues", columns_text="Phone\nChat")
    db.session.commit()
    url = f"/pods/{team.pod.id}/retro-templates/{template.id}/delete"
    assert as_user(team.members[0]).post(url).status_code == 403
    assert db.session.get(RetroTemplate, template.id) is not None
    leader = as_user(team.leader)
    assert leader.post(url).status_code == 302
    db.session.expire_all()
    assert db.session.get(RetroTemplate, template.id) is None
    assert leader.post(url).status_code == 404  # gone
