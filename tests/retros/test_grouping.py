"""The group phase: the groups are listed once per board (in its one move dialog), not once per card; each card has
a link to its own move page, which works without JavaScript; the server judges every move."""

from __future__ import annotations

import html
import re

import pytest

from app.extensions import db
from app.retros import services as retros
from app.retros.models import RetroCard
from tests.retros.conftest import advance_to

HTMX = {"HX-Request": "true"}
POLL = re.compile(r'hx-get="([^"]+)" hx-trigger="every 2s')


def _body(response) -> str:
    return response.data.decode("utf-8-sig")


def _group_board(team, make_retro, groups: int, cards: int = 9, **options):
    """A retro in the group phase with ``cards`` cards and ``groups`` groups, the first half of the cards grouped."""
    retro = make_retro("reflect", **options)
    written = [
        retros.add_card(team.members[i % 3], retro, column_key=("start", "stop", "continue")[i % 3], text=f"Card {i}")
        for i in range(cards)
    ]
    db.session.commit()
    advance_to(retro, "group", team.coach)
    made = [retros.create_group(team.coach, retro, title=f"Theme {g}") for g in range(groups)]
    for i, card in enumerate(written[: cards // 2]):
        retros.move_card(team.coach, retro, card, f"group-{made[i % groups].id}")
    db.session.commit()
    return retro, written, made


def _other_retro(make_user, make_pod):
    """A retro of another pod in the group phase, with one card in one group."""
    coach, member = make_user("coach"), make_user("agent")
    pod = make_pod(name="Pod two", coaches=[coach], members=[member])
    other = retros.create_retro(coach, pod, title="Theirs", template_key="start_stop_continue", facilitator=coach)
    db.session.commit()
    advance_to(other, "reflect", coach)
    card = retros.add_card(member, other, column_key="start", text="Theirs")
    db.session.commit()
    advance_to(other, "group", coach)
    group = retros.create_group(coach, other, title="Their group")
    retros.move_card(coach, other, card, f"group-{group.id}")
    db.session.commit()
    return card, group


def test_the_groups_are_listed_once_per_board_not_once_per_card(team, make_retro, as_user):
    retro, cards, groups = _group_board(team, make_retro, groups=20)
    page = _body(as_user(team.members[0]).get(f"/retros/{retro.id}"))
    assert page.count('name="target"') == 1 and page.count('id="retro-move-dialog"') == 1
    for group in groups:
        assert page.count(f'value="group-{group.id}"') == 1, group.title
    links = re.findall(r'<a href="([^"]+)" class="retro-move-open"', page)
    assert sorted(links) == sorted(f"/retros/{retro.id}/cards/{card.id}/move" for card in cards)
    # Someone who may not group sees neither the dialog nor the links.
    advance_to(retro, "closed", team.coach)
    facilitated, _cards, _groups = _group_board(team, make_retro, groups=2, grouping="facilitator")
    member_page = _body(as_user(team.members[0]).get(f"/retros/{facilitated.id}"))
    assert "retro-move" not in member_page
    coach_page = _body(as_user(team.coach).get(f"/retros/{facilitated.id}"))
    assert coach_page.count('id="retro-move-dialog"') == 1 and "retro-move-open" in coach_page


def test_the_group_board_costs_as_many_queries_for_twenty_groups_as_for_two(team, make_retro, as_user, count_queries):
    viewer, mover = as_user(team.members[0]), as_user(team.members[1])
    counts = []
    for size in (2, 20):
        retro, cards, groups = _group_board(team, make_retro, groups=size, cards=12)
        with count_queries() as page:
            body = _body(viewer.get(f"/retros/{retro.id}"))
        poll = html.unescape(POLL.search(body).group(1))
        moved = mover.post(f"/retros/{retro.id}/cards/{cards[-1].id}/move", data={"target": f"group-{groups[-1].id}"},
                           headers=HTMX)
        assert moved.status_code == 200
        with count_queries() as fragment:
            answer = viewer.get(poll, headers=HTMX)
        assert answer.status_code == 200 and _body(answer).count('name="target"') == 1
        counts.append((page.count, fragment.count))
        advance_to(retro, "closed", team.coach)
    assert counts[0] == counts[1], counts


def test_the_move_page_moves_a_card_without_javascript(team, make_retro, as_user):
    retro, cards, groups = _group_board(team, make_retro, groups=3)
    member = as_user(team.members[2])
    card = cards[0]  # in groups[0]
    page = member.get(f"/retros/{retro.id}/cards/{card.id}/move")
    assert page.status_code == 200
    body = _body(page)
    assert "Card 0" in body and body.count('name="target"') == 1
    assert f'<option value="group-{groups[0].id}" selected>' in body
    assert f'action="/retros/{retro.id}/cards/{card.id}/move"' in body
    moved = member.post(f"/retros/{retro.id}/cards/{card.id}/move", data={"target": f"group-{groups[2].id}"})
    assert moved.status_code == 302 and moved.headers["Location"].endswith(f"/retros/{retro.id}")
    db.session.expire_all()
    assert db.session.get(RetroCard, card.id).group_id == groups[2].id
    made_new = member.post(f"/retros/{retro.id}/cards/{card.id}/move", data={"target": "new"})
    assert made_new.status_code == 302
    db.session.expire_all()
    assert db.session.get(RetroCard, card.id).group_id not in (None, *[g.id for g in groups])
    assert member.post(f"/retros/{retro.id}/cards/{card.id}/move", data={"target": "none"}).status_code == 302
    db.session.expire_all()
    assert db.session.get(RetroCard, card.id).group_id is None


def test_the_move_page_is_for_those_who_may_group_and_only_while_grouping(
    team, make_retro, make_user, make_pod, as_user
):
    retro, cards, _groups = _group_board(team, make_retro, groups=2, grouping="facilitator")
    url = f"/retros/{retro.id}/cards/{cards[0].id}/move"
    assert as_user(team.members[0]).get(url).status_code == 403  # the facilitator groups
    assert as_user(team.leader).get(url).status_code == 200  # may run the pod: may take over facilitation
    assert as_user(team.outsider).get(url).status_code in (403, 404)
    coach = as_user(team.coach)
    assert coach.get(url).status_code == 200
    other_card, _group = _other_retro(make_user, make_pod)
    assert coach.get(f"/retros/{retro.id}/cards/{other_card.id}/move").status_code == 404  # another retro's card
    advance_to(retro, "vote", team.coach)
    later = coach.get(url)
    assert later.status_code == 302 and later.headers["Location"].endswith(f"/retros/{retro.id}")


@pytest.mark.parametrize("grouping", ["everyone", "facilitator"])
def test_the_server_judges_every_move(team, make_retro, make_user, make_pod, as_user, grouping):
    retro, cards, groups = _group_board(team, make_retro, groups=2, grouping=grouping)
    other_card, other_group = _other_retro(make_user, make_pod)
    member, coach = as_user(team.members[0]), as_user(team.coach)
    url = f"/retros/{retro.id}/cards/{cards[-1].id}/move"
    refused = member.post(url, data={"target": f"group-{groups[0].id}"}, headers=HTMX)
    assert refused.status_code == (403 if grouping == "facilitator" else 200)
    mover = coach
    assert mover.post(url, data={"target": f"group-{other_group.id}"}, headers=HTMX).status_code == 409
    assert mover.post(url, data={"target": f"card-{other_card.id}"}, headers=HTMX).status_code == 409
    other_url = f"/retros/{retro.id}/cards/{other_card.id}/move"
    assert mover.post(other_url, data={"target": "none"}, headers=HTMX).status_code == 404
    assert mover.post(url, data={"target": "group-abc"}, headers=HTMX).status_code == 422
    assert mover.post(url, data={"target": "elsewhere"}, headers=HTMX).status_code == 422
    db.session.expire_all()
    expected = groups[0].id if grouping == "everyone" else None
    assert db.session.get(RetroCard, cards[-1].id).group_id == expected
    advance_to(retro, "vote", team.coach)
    assert mover.post(url, data={"target": "none"}, headers=HTMX).status_code == 409
