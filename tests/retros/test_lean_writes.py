"""Votes and plain cards answered on the lean path (app/live.py ``register_write``, app/retros/writes.py): the same
answers as the full Flask path in fewer statements, every rule still judged by the server (session, CSRF, who may
take part, phase, budget and cap under concurrency), and everything else left to the full path."""

from __future__ import annotations

import re
import threading

import pytest
from sqlalchemy import func, select, text

from app import extensions, live
from app.extensions import db
from app.retros.models import Retro, RetroCard, RetroVote, RetroVoteTally
from tests.retros.conftest import advance_to
from tests.retros.test_live import _poll_url, _vote_phase_reached
from tests.retros.test_views import HTMX, _body, _card, _session_cookie, _voting


def _full_path(monkeypatch) -> None:
    monkeypatch.setattr(live, "WRITES", [])


def _votes(user) -> int:
    db.session.expire_all()
    return db.session.scalar(select(func.coalesce(func.sum(RetroVote.count), 0)).where(RetroVote.user_id == user.id))


def test_a_vote_is_answered_as_the_full_path_answers_it_in_four_statements(
    team, make_retro, as_user, count_queries, monkeypatch
):
    retro, cards = _voting(team, make_retro)
    member = as_user(team.members[0])
    url, item = f"/retros/{retro.id}/votes", {"item": f"card-{cards[2].id}"}
    with count_queries() as lean:
        first = member.post(url, data=item, headers=HTMX)
    assert first.status_code == 200 and "Votes left: 4 of 5" in _body(first)
    # The person, the retro and their relation to its pod in one read; the item under the phase lock; two upserts.
    assert lean.count <= 4, lean.statements
    assert not any("UNION ALL" in s for s in lean.statements)  # the person's pods are not listed
    back = member.post(f"/retros/{retro.id}/votes/remove", data=item, headers=HTMX)
    assert back.status_code == 200 and "Votes left: 5 of 5" in _body(back)
    _full_path(monkeypatch)
    with count_queries() as full:
        again = member.post(url, data=item, headers=HTMX)
    assert _body(again) == _body(first) and full.count > lean.count
    assert _votes(team.members[0]) == 1


def test_on_postgresql_a_hidden_vote_and_a_card_are_each_one_write_statement(
    team, make_retro, as_user, count_queries
):
    """The guards are the same on both databases (the phase, the item, the budget, the cap, a card only while
    reflecting); PostgreSQL runs a hidden vote's three and a card's two as one statement each."""
    postgresql = db.engine.dialect.name == "postgresql"
    earlier = make_retro("reflect", title="An earlier retro")  # one open retro per pod: this one closes first
    foreign = _card(earlier, team.members[0], "Elsewhere")
    advance_to(earlier, "closed", team.coach)
    retro = make_retro("reflect", votes_per_person=3, max_votes_per_item=2)
    writer = as_user(team.members[0])
    cards_url = f"/retros/{retro.id}/cards"  # ids read before counting: count_queries expires everything
    with count_queries() as card:
        response = writer.post(cards_url, data={"column": "start", "text": "One"}, headers=HTMX)
    assert response.status_code == 200 and "One" in _body(response)
    # Who and what; on PostgreSQL the bump, the insert and the others' counts in one statement; on SQLite the bump,
    # the insert and the counts.
    assert card.count == (2 if postgresql else 4), card.statements
    others = [_card(retro, team.members[1], f"Other {i}") for i in range(2)]
    advance_to(retro, "vote", team.coach)
    url, item = f"/retros/{retro.id}/votes", f"card-{others[0].id}"
    with count_queries() as vote:
        response = writer.post(url, data={"item": item}, headers=HTMX)
    assert response.status_code == 200 and "Votes left: 2 of 3" in _body(response)
    assert vote.count == (2 if postgresql else 4), vote.statements
    assert writer.post(url, data={"item": f"card-{foreign.id}"}, headers=HTMX).status_code == 404  # not this retro's
    assert writer.post(url, data={"item": f"card-{others[0].id}"}, headers=HTMX).status_code == 200
    capped = writer.post(url, data={"item": f"card-{others[0].id}"}, headers=HTMX)
    assert capped.status_code == 409 and "at most 2" in _body(capped)
    assert writer.post(url, data={"item": f"card-{others[1].id}"}, headers=HTMX).status_code == 200
    spent = writer.post(url, data={"item": f"card-{others[1].id}"}, headers=HTMX)
    assert spent.status_code == 409 and "all 3" in _body(spent)
    db.session.expire_all()
    assert _votes(team.members[0]) == 3  # the refused ones left nothing behind: not the dot, not the budget
    assert db.session.get(RetroVoteTally, (retro.id, team.members[0].id)).used == 3
    advance_to(retro, "discuss", team.coach)
    late = writer.post(url, data={"item": f"card-{others[1].id}"}, headers=HTMX)
    assert late.status_code == 409 and "moved on to “Discuss”" in _body(late)
    assert _votes(team.members[0]) == 3


def test_a_vote_that_loses_the_last_dot_to_the_same_persons_other_vote_leaves_nothing(app, team, make_retro, as_user):
    """PostgreSQL's one-statement vote (in autocommit): the person's other vote on the same item commits while this
    one waits for the tally's row lock, after this one read the dots on the item. The tally would move and the dots
    not: the statement fails as a whole, and the answer is the cap's refusal."""
    if db.engine.dialect.name != "postgresql":
        pytest.skip("the one-statement vote is PostgreSQL's")
    retro, cards = _voting(team, make_retro, votes_per_person=5, max_votes_per_item=2)
    voter = team.members[0]
    member = as_user(voter)
    url, item = f"/retros/{retro.id}/votes", {"item": f"card-{cards[0].id}"}
    assert member.post(url, data=item, headers=HTMX).status_code == 200  # one dot of two on the item
    ids = {"retro": retro.id, "user": voter.id, "card": cards[0].id}
    db.session.commit()
    other = db.engine.connect()  # the same person's other vote, as the separate statements would write it
    other.execute(text("UPDATE retro_vote_tallies SET used = used + 1 WHERE retro_id = :retro AND user_id = :user"), ids)
    other.execute(text("UPDATE retro_votes SET count = count + 1 WHERE user_id = :user AND card_id = :card"), ids)
    answers = []
    sender = threading.Thread(target=lambda: answers.append(member.post(url, data=item, headers=HTMX)))
    sender.start()
    waiting = text("SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock' AND datname = current_database()")
    with db.engine.connect() as watcher:
        for _ in range(500):  # until this vote waits for the other's row lock (not a timing: a state)
            if watcher.execute(waiting).scalar():
                break
            threading.Event().wait(0.01)
    other.commit()
    other.close()
    sender.join(30)
    assert answers[0].status_code == 409 and "at most 2" in _body(answers[0])
    db.session.expire_all()
    assert db.session.get(RetroVoteTally, (retro.id, voter.id)).used == 2  # the other vote's, and nothing more
    assert _votes(voter) == 2


def test_a_card_stored_before_its_answer_fails_is_never_written_again_by_the_full_path(
    team, make_retro, as_user, monkeypatch
):
    from app.retros import views

    retro = make_retro("reflect")
    writer = as_user(team.members[0])

    def broken(*_args):
        raise RuntimeError("the answer could not be drawn")

    monkeypatch.setattr(views, "_card_added", broken)
    url = f"/retros/{retro.id}/cards"
    db.session.commit()  # as in production, the request starts with no transaction open
    try:
        status = writer.post(url, data={"column": "stop", "text": "Once"}, headers=HTMX)
        status = status.status_code
    except RuntimeError:  # the test app propagates unhandled errors
        status = 500
    assert status == 500
    stored = db.session.scalar(select(func.count()).select_from(RetroCard).where(RetroCard.text == "Once"))
    # PostgreSQL stores the card in its one autocommitted statement; SQLite's transaction is rolled back.
    assert stored == (1 if db.engine.dialect.name == "postgresql" else 0)


def test_a_card_written_while_another_is_being_stored_is_answered_with_the_others_counts_of_its_version(
    app, team, make_retro, as_user
):
    """PostgreSQL reads the others' counts in the card's own statement, from its snapshot: when another card was
    committed after that snapshot (the bump waited for it), those counts would miss it while the version given to
    the poller includes it; the answer then reads the counts again. Either way the answer counts the other card."""
    if db.engine.dialect.name != "postgresql":
        pytest.skip("the counts in the card's statement are PostgreSQL's")
    retro = make_retro("reflect")
    writer = as_user(team.members[0])
    url, retro_id, other_id = f"/retros/{retro.id}/cards", retro.id, team.members[1].id
    db.session.commit()
    other = db.engine.connect()  # another person's card, its bump holding the retro's row until it commits
    other.execute(text("UPDATE retros SET version = version + 1 WHERE id = :id"), {"id": retro_id})
    other.execute(
        text(
            "INSERT INTO retro_cards (retro_id, column_key, text, author_id, created_at)"
            " VALUES (:retro, 'stop', 'Theirs', :author, now())"
        ),
        {"retro": retro_id, "author": other_id},
    )
    answers = []
    thread = threading.Thread(
        target=lambda: answers.append(writer.post(url, data={"column": "start", "text": "Mine"}, headers=HTMX))
    )
    thread.start()
    with db.engine.connect() as watch:  # the card's statement waits for the other's lock (or has not begun yet)
        for _ in range(200):
            if watch.execute(text("SELECT count(*) FROM pg_locks WHERE NOT granted")).scalar():
                break
            threading.Event().wait(0.01)
    other.commit()
    other.close()
    thread.join(30)
    body = _body(answers[0])
    assert answers[0].status_code == 200 and "Mine" in body
    assert "1 card by others" in body, body
    version = db.session.scalar(select(Retro.version).where(Retro.id == retro_id))
    assert f'data-version="{version}"' in body or f"v={version}" in body, body


def test_a_plain_card_is_answered_as_the_full_path_answers_it(team, make_retro, as_user, count_queries, monkeypatch):
    retro = make_retro("reflect")
    _card(retro, team.members[1], "Someone else's card")
    writer = as_user(team.members[0])
    url = f"/retros/{retro.id}/cards"
    with count_queries() as lean:
        first = writer.post(url, data={"column": "stop", "text": "Same text"}, headers=HTMX)
    assert first.status_code == 200 and "Same text" in _body(first) and "1 card by others" in _body(first)
    assert lean.count <= 4, lean.statements  # who and what, the guarded version bump, the insert, the counts
    _full_path(monkeypatch)
    again = writer.post(url, data={"column": "stop", "text": "Same text"}, headers=HTMX)

    def same(body: str) -> str:  # the card's id, the poll's token and version differ between the two answers
        body = re.sub(r"retro-card-[0-9]+|cards/[0-9]+|edit-[0-9]+", "#", body)
        return re.sub(r'hx-get="[^"]*"|data-version="[0-9]+"', "#", body)

    assert same(_body(again)) == same(_body(first))
    assert db.session.scalar(select(func.count()).select_from(RetroCard).where(RetroCard.text == "Same text")) == 2


def test_a_card_citing_a_case_or_a_metric_takes_the_full_path(team, make_retro, as_user, count_queries):
    retro = make_retro("reflect")
    writer = as_user(team.members[0])
    with count_queries() as counter:
        response = writer.post(
            f"/retros/{retro.id}/cards", data={"column": "start", "text": "Slow replies", "case_ref": "C-1"},
            headers=HTMX,
        )
    assert response.status_code == 200 and "C-1" in _body(response)
    assert any("UNION ALL" in s for s in counter.statements)  # the full path's permission look-up


def test_a_stale_vote_is_answered_with_the_current_phase_and_a_message_without_a_reload(team, make_retro, as_user):
    retro, cards = _voting(team, make_retro)
    member = as_user(team.members[0])
    advance_to(retro, "discuss", team.coach)
    response = member.post(f"/retros/{retro.id}/votes", data={"item": f"card-{cards[0].id}"}, headers=HTMX)
    assert response.status_code == 409 and "HX-Refresh" not in response.headers
    assert response.headers["HX-Trigger"] == "podium-stale"  # the page's live check brings the current phase
    assert "moved on to “Discuss”" in _body(response)
    assert _votes(team.members[0]) == 0


@pytest.mark.parametrize(
    ("who", "item", "status", "words"),
    [
        ("outsider", "card-0", 403, "You do not have permission"),  # may not even see the retro
        ("leader", "card-0", 403, "Only members and coaches"),  # may watch, may not vote
        ("member", "card-999999", 404, "not part of this retro"),
        ("member", "poll-1", 422, None),
    ],
)
def test_refusals_are_the_full_paths(team, make_retro, as_user, who, item, status, words):
    retro, cards = _voting(team, make_retro)
    person = {"outsider": team.outsider, "leader": team.leader, "member": team.members[0]}[who]
    response = as_user(person).post(
        f"/retros/{retro.id}/votes", data={"item": item.replace("card-0", f"card-{cards[0].id}")}, headers=HTMX
    )
    assert response.status_code == status
    if words:
        assert words in _body(response)
    assert _votes(person) == 0


def test_the_sixth_vote_is_refused_with_the_budget_named_by_the_apps_own_handler(
    team, make_retro, as_user, count_queries
):
    retro, cards = _voting(team, make_retro, votes_per_person=5, max_votes_per_item=3)
    member = as_user(team.members[0])
    url = f"/retros/{retro.id}/votes"
    items = [f"card-{cards[i % 4].id}" for i in range(6)]  # ids read before counting: count_queries expires them
    statuses = [member.post(url, data={"item": item}, headers=HTMX).status_code for item in items[:4]]
    with count_queries() as fifth:
        statuses.append(member.post(url, data={"item": items[4]}, headers=HTMX).status_code)
    with count_queries() as counter:
        sixth = member.post(url, data={"item": items[5]}, headers=HTMX)
    assert statuses == [200] * 5 and sixth.status_code == 409 and "all 5 of your votes" in _body(sixth)
    assert sixth.headers["Content-Security-Policy"]  # the app's after_request hooks ran on the refusal too
    assert not any("UNION ALL" in s for s in counter.statements)  # answered on the lean path, not sent again
    # No dearer than the vote it follows: the person read at the start is not read again after the rollback.
    assert counter.count <= fifth.count, counter.statements
    assert _votes(team.members[0]) == 5


def test_a_session_that_was_signed_out_elsewhere_is_not_taken(team, make_retro, as_user):
    retro, cards = _voting(team, make_retro)
    member = as_user(team.members[0])
    team.members[0].session_version += 1  # e.g. a password change ends every session
    db.session.commit()
    response = member.post(f"/retros/{retro.id}/votes", data={"item": f"card-{cards[0].id}"}, headers=HTMX)
    assert response.status_code != 200 and "HX-Redirect" in response.headers  # to the sign-in page
    assert _votes(team.members[0]) == 0


def test_the_csrf_token_is_checked_on_the_lean_path(app, team, make_retro, as_user):
    retro, cards = _voting(team, make_retro)
    member = as_user(team.members[0])
    page = _body(member.get(f"/retros/{retro.id}"))
    token = page.split('"X-CSRFToken": "')[1].split('"')[0]
    url, item = f"/retros/{retro.id}/votes", {"item": f"card-{cards[0].id}"}
    app.config["WTF_CSRF_ENABLED"] = True
    try:
        refused = member.post(url, data=item, headers=HTMX)
        forged = member.post(url, data=item, headers={**HTMX, "X-CSRFToken": token[:-2] + "xx"})
        accepted = member.post(url, data=item, headers={**HTMX, "X-CSRFToken": token})
    finally:
        app.config["WTF_CSRF_ENABLED"] = False
    assert refused.status_code == 400 and forged.status_code == 400 and "Reload the page" in _body(refused)
    assert accepted.status_code == 200
    assert _votes(team.members[0]) == 1


def test_simultaneous_votes_on_the_lean_path_hold_the_budget_and_the_cap(app, team, make_retro, as_user):
    retro, cards = _voting(team, make_retro, votes_per_person=5, max_votes_per_item=3)
    voter = team.members[0]
    cookie = _session_cookie(as_user(voter))
    url, items = f"/retros/{retro.id}/votes", [f"card-{card.id}" for card in cards[:2]]
    db.session.commit()
    barrier = threading.Barrier(30)
    statuses: list = []

    def send(i: int) -> None:
        client = app.test_client()
        client.set_cookie("session", cookie, domain="localhost")
        barrier.wait(30)
        try:
            statuses.append(client.post(url, data={"item": items[i % 2]}, headers=HTMX).status_code)
        except Exception as exc:  # noqa: BLE001 - reported by the assertion
            statuses.append(repr(exc))

    threads = [threading.Thread(target=send, args=(i,)) for i in range(30)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(120)
    assert statuses.count(200) == 5 and statuses.count(409) == 25, statuses
    db.session.expire_all()
    counts = db.session.scalars(select(RetroVote.count).where(RetroVote.user_id == voter.id)).all()
    assert sum(counts) == 5 and max(counts) <= 3
    assert db.session.scalar(select(RetroVoteTally.used).where(RetroVoteTally.user_id == voter.id)) == 5


def test_on_sqlite_a_write_holds_the_process_writer_lock_until_its_transaction_ends(team, make_retro):
    if db.engine.dialect.name != "sqlite":
        pytest.skip("the in-process writer queue is SQLite's")
    retro, cards = _voting(team, make_retro)
    for end in (db.session.commit, db.session.rollback, db.session.close):
        retro = db.session.get(type(retro), retro.id)
        extensions.begin_write()
        assert not extensions._SQLITE_WRITER.acquire(blocking=False)  # another writer of this process waits
        end()
        assert extensions._SQLITE_WRITER.acquire(blocking=False)  # the next one goes at once
        extensions._SQLITE_WRITER.release()


def test_the_check_that_brings_a_new_phase_loads_the_person_and_retro_in_one_statement(
    app, team, make_retro, as_user, count_queries, monkeypatch
):
    """A phase change sends the whole room's checks past the token to Flask at once: on the lean path (register_read)
    the person, the retro and their relation are one read instead of the user loader's, the retro's and the
    relations' own; the answer is the full path's."""
    _retro, readers, urls = _vote_phase_reached(team, make_retro, as_user, topics=4)
    readers[0].get(urls[0], headers=HTMX)  # the first renders the shared board
    with count_queries() as lean:
        answer = readers[1].get(urls[1], headers=HTMX)
    monkeypatch.setattr(live, "READS", [])
    with count_queries() as full:
        again = readers[1].get(urls[1], headers=HTMX)
    tokens = re.compile(r'(name="csrf_token" (?:type="hidden" )?value=|X-CSRFToken": )"[^"]+"')
    assert answer.status_code == 200 and "Topic 3" in _body(answer) and "Votes left: 5 of 5" in _body(answer)
    assert tokens.sub("", _body(answer)) == tokens.sub("", _body(again))
    assert not any("UNION ALL" in s for s in lean.statements)  # the person's pods are not listed
    assert lean.count < full.count, (lean.statements, full.statements)
    assert sum("FROM users" in s for s in lean.statements) == 1, lean.statements  # no loader read besides it
    assert not any(s.startswith("SELECT retros.id") for s in lean.statements)  # nor the retro's own
    # Before Flask the busy board's reflect answer declined once (the phase moved on) and is not asked again.
    assert sum("anon_1.cards" in s for s in lean.statements) == 1, lean.statements


@pytest.mark.parametrize("who", ["outsider", "leader", "signed_out"])
def test_the_lean_check_leaves_refusals_and_watchers_to_the_full_path(app, team, make_retro, as_user, who):
    retro = make_retro("reflect")
    _card(retro, team.members[0], "Topic")
    url = _poll_url(_body(as_user(team.members[0]).get(f"/retros/{retro.id}")))
    advance_to(retro, "group", team.coach)
    client = app.test_client() if who == "signed_out" else as_user(getattr(team, who))
    response = client.get(url, headers=HTMX)
    if who == "leader":  # leaders watch every pod's retros
        assert response.status_code == 200 and "Topic" in _body(response)
    elif who == "outsider":
        assert response.status_code == 403
    else:
        assert response.status_code != 200 and "HX-Redirect" in response.headers  # to the sign-in page


@pytest.mark.parametrize("retro_id", ["2147483648", "9999999999"])
def test_an_id_no_id_column_holds_is_a_404_on_the_lean_paths(team, make_retro, as_user, retro_id):
    """The lean paths' addresses take up to ten digits, as the routes do; past 2^31 - 1 the router's 404 answers,
    never the database's "integer out of range"."""
    _retro, readers, urls = _vote_phase_reached(team, make_retro, as_user, topics=1)
    check = urls[0].replace(f"/retros/{_retro.id}/", f"/retros/{retro_id}/")
    assert readers[0].get(check, headers=HTMX).status_code == 404
    vote = readers[0].post(f"/retros/{retro_id}/votes", data={"item": "card-1"}, headers=HTMX)
    card = readers[0].post(f"/retros/{retro_id}/cards", data={"column": "start", "text": "x"}, headers=HTMX)
    assert vote.status_code == 404 and card.status_code == 404
