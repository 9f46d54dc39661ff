"""Retro rules held by the services: phases, anonymity, votes, grouping, actions and reminders."""

from datetime import date, datetime, timedelta

import pytest
from sqlalchemy import select, text

from app.extensions import db
from app.notifications.models import Notification
from app.retros import services as retros
from app.retros.models import Retro, RetroAction, RetroCard, RetroGroup, RetroVote, RetroVoteTally
from app.timeutil import to_local, utcnow
from tests.retros.conftest import advance_to


@pytest.fixture(autouse=True)
def _request(app):
    """Messages are lazy translations: reading them needs a request for the locale."""
    with app.test_request_context():
        yield


def test_phases_run_in_order_and_only_the_facilitator_advances(team, make_retro):
    retro = make_retro()
    with pytest.raises(retros.RetroError) as info:
        retros.advance_phase(team.members[0], retro, "checkin")
    assert info.value.status == 403
    seen = [retro.phase]
    while retro.phase != "closed":
        retros.advance_phase(team.coach, retro, retro.phase)
        db.session.commit()
        seen.append(retro.phase)
    assert seen == ["checkin", "review", "reflect", "group", "vote", "discuss", "closed"]
    assert retro.closed_at is not None
    with pytest.raises(retros.RetroError) as info:
        retros.advance_phase(team.coach, retro, "closed")
    assert info.value.status == 409


def test_a_stale_advance_is_refused_not_applied_twice(team, make_retro):
    retro = make_retro()
    retros.advance_phase(team.coach, retro, "checkin")
    db.session.commit()
    with pytest.raises(retros.RetroError) as info:
        retros.advance_phase(team.coach, retro, "checkin")
    db.session.rollback()
    assert info.value.status == 409 and "Review past actions" in str(info.value.message)
    assert retro.phase == "review"


def test_a_member_chosen_as_facilitator_advances(team, make_retro):
    retro = make_retro()
    retros.set_facilitator(team.coach, retro, team.members[1])
    db.session.commit()
    retros.advance_phase(team.members[1], retro, "checkin")
    with pytest.raises(retros.RetroError):
        retros.set_facilitator(team.coach, retro, team.outsider)


@pytest.mark.parametrize(("phase", "call"), [
    ("checkin", lambda t, r, c: retros.add_card(t.members[0], r, column_key="start", text="x")),
    ("review", lambda t, r, c: retros.submit_checkin(t.members[0], r, 3)),
    ("reflect", lambda t, r, c: retros.create_group(t.members[0], r, title="G")),
    ("group", lambda t, r, c: retros.cast_vote(t.members[0], r, card_id=c.id)),
    ("vote", lambda t, r, c: retros.add_note(t.members[0], r, topic=f"card-{c.id}", text="n")),
    ("discuss", lambda t, r, c: retros.cast_vote(t.members[0], r, card_id=c.id)),
    ("closed", lambda t, r, c: retros.create_action(t.members[0], r, title="x", owner=t.members[0],
                                                     due_date=date.today() + timedelta(days=1), principle="autonomy")),
])
def test_each_phase_allows_only_its_own_actions(team, make_retro, phase, call):
    retro = make_retro("checkin")
    card = None
    if phase not in ("checkin", "review"):
        advance_to(retro, "reflect", team.coach)
        card = retros.add_card(team.members[0], retro, column_key="start", text="seed")
        db.session.commit()
    advance_to(retro, phase, team.coach)
    with pytest.raises(retros.RetroError) as info:
        call(team, retro, card)
    db.session.rollback()
    assert info.value.status == 409


def test_wrong_phase_message_names_the_current_phase(team, make_retro):
    retro = make_retro("group")
    with pytest.raises(retros.RetroError) as info:
        retros.add_card(team.members[0], retro, column_key="start", text="late card")
    assert info.value.status == 409
    assert "Group" in str(info.value.message)


def test_anonymous_retro_erases_authors_when_reflect_ends(team, make_retro):
    retro = make_retro("reflect")
    for member in team.members:
        retros.add_card(member, retro, column_key="stop", text=f"card by {member.display_name}")
    db.session.commit()
    assert db.session.scalar(select(db.func.count()).where(RetroCard.author_id.is_not(None))) == 3
    retros.advance_phase(team.coach, retro, "reflect")
    db.session.commit()
    rows = db.session.execute(text("SELECT author_id FROM retro_cards WHERE retro_id = :r"), {"r": retro.id}).all()
    assert len(rows) == 3 and all(row.author_id is None for row in rows)
    assert retro.authors_erased


def test_named_retro_keeps_authors(team, make_retro):
    retro = make_retro("reflect", anonymous=False)
    card = retros.add_card(team.members[0], retro, column_key="stop", text="signed")
    db.session.commit()
    advance_to(retro, "group", team.coach)
    assert db.session.get(RetroCard, card.id).author_id == team.members[0].id


def test_cards_change_only_by_their_author_in_reflect(team, make_retro):
    retro = make_retro("reflect")
    card = retros.add_card(team.members[0], retro, column_key="start", text="mine")
    db.session.commit()
    with pytest.raises(retros.RetroError) as info:
        retros.edit_card(team.members[1], retro, card, text="hijack")
    assert info.value.status == 403
    retros.edit_card(team.members[0], retro, card, text="mine, edited")
    retros.delete_card(team.members[0], retro, card)
    db.session.commit()
    assert db.session.get(RetroCard, card.id) is None


@pytest.mark.parametrize(("kwargs", "status"), [
    ({"column_key": "nope", "text": "x"}, 422),
    ({"column_key": "start", "text": "   "}, 422),
    ({"column_key": "start", "text": "x" * 501}, 422),
    ({"column_key": "start", "text": "bad\x00byte"}, 422),
    ({"column_key": "start", "text": "x", "metric_code": "made_up"}, 422),
])
def test_bad_cards_are_refused(team, make_retro, kwargs, status):
    retro = make_retro("reflect")
    with pytest.raises(retros.RetroError) as info:
        retros.add_card(team.members[0], retro, **kwargs)
    assert info.value.status == status


def test_outsiders_and_leaders_do_not_write(team, make_retro):
    retro = make_retro("reflect")
    for person in (team.outsider, team.leader):
        with pytest.raises(retros.RetroError) as info:
            retros.add_card(person, retro, column_key="start", text="x")
        assert info.value.status == 403


def test_one_open_retro_per_pod(team, make_retro):
    make_retro()
    with pytest.raises(retros.RetroError) as info:
        retros.create_retro(team.coach, team.pod, title="Again", template_key="four_ls", facilitator=None)
    assert info.value.status == 409


def test_customer_journey_columns_are_the_lifecycle_stages(team, stages):
    retro = retros.create_retro(team.coach, team.pod, title="Journey", template_key="customer_journey",
                                facilitator=None)
    assert [c["title"] for c in retro.columns] == [s.name for s in stages]


def test_custom_template_for_the_pod_only(team, make_pod):
    template = retros.save_template(team.coach, team.pod, name="Hot air balloon",
                                    columns_text="Hot air\nSandbags\nStorms\n")
    db.session.commit()
    retro = retros.create_retro(team.coach, team.pod, title="Custom", template_key=f"custom-{template.id}",
                                facilitator=None)
    assert [c["title"] for c in retro.columns] == ["Hot air", "Sandbags", "Storms"]
    other = make_pod(name="Elsewhere", coaches=[team.coach])
    with pytest.raises(retros.RetroError):
        retros.create_retro(team.coach, other, title="X", template_key=f"custom-{template.id}", facilitator=None)
    with pytest.raises(retros.RetroError):
        retros.save_template(team.members[0], team.pod, name="Nope", columns_text="a\nb")
    with pytest.raises(retros.RetroError):
        retros.save_template(team.coach, team.pod, name="One", columns_text="only one")


def test_rotation_suggests_who_facilitated_least(team, make_retro):
    retro = make_retro("closed")
    assert retro.facilitator_id == team.coach.id
    people = [team.coach, *team.members]
    assert retros.suggested_facilitator(team.pod, people).id != team.coach.id


def _voting_retro(team, make_retro, **options):
    retro = make_retro("reflect", **options)
    cards = [retros.add_card(team.members[i % 3], retro, column_key="start", text=f"idea {i}") for i in range(3)]
    db.session.commit()
    advance_to(retro, "group", team.coach)
    group = retros.create_group(team.members[0], retro, title="Tooling")
    retros.move_card(team.members[0], retro, cards[2], f"group-{group.id}")
    db.session.commit()
    advance_to(retro, "vote", team.coach)
    return retro, cards, group


def test_votes_respect_the_budget_and_the_per_item_cap(team, make_retro):
    retro, cards, group = _voting_retro(team, make_retro, votes_per_person=4, max_votes_per_item=2)
    voter = team.members[1]
    retros.cast_vote(voter, retro, card_id=cards[0].id)
    retros.cast_vote(voter, retro, card_id=cards[0].id)
    db.session.commit()
    with pytest.raises(retros.RetroError) as info:
        retros.cast_vote(voter, retro, card_id=cards[0].id)
    db.session.rollback()
    assert "at most 2" in str(info.value.message)
    retros.cast_vote(voter, retro, group_id=group.id)
    retros.cast_vote(voter, retro, card_id=cards[1].id)
    db.session.commit()
    with pytest.raises(retros.RetroError) as info:
        retros.cast_vote(voter, retro, card_id=cards[1].id)
    db.session.rollback()
    assert "all 4" in str(info.value.message)
    assert db.session.get(RetroVoteTally, (retro.id, voter.id)).used == 4


def test_unvote_gives_the_dot_back_and_only_while_voting(team, make_retro):
    retro, cards, _group = _voting_retro(team, make_retro, votes_per_person=1, max_votes_per_item=1)
    voter = team.members[0]
    retros.cast_vote(voter, retro, card_id=cards[0].id)
    db.session.commit()
    with pytest.raises(retros.RetroError):
        retros.remove_vote(voter, retro, card_id=cards[1].id)
    db.session.rollback()
    retros.remove_vote(voter, retro, card_id=cards[0].id)
    retros.cast_vote(voter, retro, card_id=cards[1].id)
    db.session.commit()
    advance_to(retro, "discuss", team.coach)
    with pytest.raises(retros.RetroError) as info:
        retros.remove_vote(voter, retro, card_id=cards[1].id)
    assert info.value.status == 409


def test_grouped_cards_take_votes_through_their_group(team, make_retro):
    retro, cards, _group = _voting_retro(team, make_retro)
    with pytest.raises(retros.RetroError) as info:
        retros.cast_vote(team.members[0], retro, card_id=cards[2].id)
    assert "vote on the group" in str(info.value.message)


def test_drop_a_card_onto_another_makes_a_group(team, make_retro):
    retro = make_retro("reflect")
    a = retros.add_card(team.members[0], retro, column_key="start", text="Shared macros for refunds")
    b = retros.add_card(team.members[1], retro, column_key="stop", text="Copy-pasting refund replies")
    db.session.commit()
    advance_to(retro, "group", team.coach)
    group = retros.move_card(team.members[2], retro, b, f"card-{a.id}")
    db.session.commit()
    assert a.group_id == b.group_id == group.id and group.title.startswith("Shared macros")
    retros.move_card(team.members[2], retro, b, "none")
    db.session.commit()
    assert b.group_id is None
    with pytest.raises(retros.RetroError):
        retros.move_card(team.members[2], retro, b, "group-abc")


def test_empty_groups_are_removed_when_grouping_ends(team, make_retro):
    retro = make_retro("group")
    retros.create_group(team.members[0], retro, title="Empty")
    db.session.commit()
    advance_to(retro, "vote", team.coach)
    assert db.session.scalars(select(RetroGroup).where(RetroGroup.retro_id == retro.id)).all() == []


def test_facilitator_only_grouping(team, make_retro):
    retro = make_retro("group", grouping="facilitator")
    with pytest.raises(retros.RetroError) as info:
        retros.create_group(team.members[0], retro, title="G")
    assert info.value.status == 403
    retros.create_group(team.coach, retro, title="G")


def test_checkin_pulse_is_one_per_person(team, make_retro):
    from app.retros.models import RetroCheckin

    retro = make_retro()
    retros.submit_checkin(team.members[0], retro, 2)
    retros.submit_checkin(team.members[0], retro, 4)
    db.session.commit()
    rows = db.session.scalars(select(RetroCheckin)).all()
    assert [(r.user_id, r.pulse) for r in rows] == [(team.members[0].id, 4)]
    with pytest.raises(retros.RetroError):
        retros.submit_checkin(team.members[0], retro, 6)


def _action(team, retro, **kwargs):
    kwargs.setdefault("title", "Pair on refund macros")
    kwargs.setdefault("owner", team.members[0])
    kwargs.setdefault("due_date", date.today() + timedelta(days=14))
    kwargs.setdefault("principle", "continuous_improvement")
    return retros.create_action(team.members[1], retro, **kwargs)


def test_action_captures_the_baseline_from_the_engine(team, make_retro, engine, stages):
    retro = make_retro("discuss")
    action = _action(team, retro, metric_code="fcr", scope_kind="stage", scope_id=stages[2].id)
    db.session.commit()
    assert action.baseline_value == pytest.approx(0.62) and action.direction == "up"
    call = engine.calls[-1]
    assert call["stage_id"] == stages[2].id and call["pod_id"] == team.pod.id
    pod_today = to_local(utcnow(), team.pod.timezone).date()  # the pod's day, not the server's (Madrid runs ahead)
    assert (call["end"] - call["start"]).days == 27 and call["end"] < pod_today


@pytest.mark.parametrize(("kwargs", "message"), [
    ({"owner": None}, "owner"),
    ({"due_date": date(2020, 1, 1)}, "due date"),
    ({"principle": "speed"}, "principle"),
    ({"metric_code": "volume"}, "metrics offered"),
    ({"metric_code": "fcr", "scope_kind": "segment", "scope_id": 999}, "segment or stage"),
    ({"metric_code": "fcr", "scope_kind": "planet"}, "scope"),
    ({"metric_code": "fcr", "direction": "sideways"}, "up or down"),
    ({"topic": "card-999"}, "topic"),
])
def test_bad_actions_are_refused(team, make_retro, kwargs, message):
    retro = make_retro("discuss")
    with pytest.raises(retros.RetroError) as info:
        _action(team, retro, **kwargs)
    assert message in str(info.value.message) and 400 <= info.value.status < 500


def test_next_retro_reviews_open_actions_and_measures_done_ones(team, make_retro, engine):
    first = make_retro("discuss")
    measured = _action(team, first, metric_code="handoff_rate")
    plain = _action(team, first, title="Write the onboarding FAQ")
    db.session.commit()
    advance_to(first, "closed", team.coach)
    second = make_retro("review")
    assert {a.id for a in retros.actions_to_review(second)} == {measured.id, plain.id}
    engine.values["handoff_rate"] = 0.12
    retros.review_action(team.members[2], second, measured, "done")
    retros.review_action(team.members[2], second, plain, "not_done")
    db.session.commit()
    assert measured.status == "done" and measured.result_value == pytest.approx(0.12) and measured.worked
    assert plain.status == "not_done" and plain.is_open
    assert {a.id for a in retros.actions_to_review(second)} == {measured.id, plain.id}
    with pytest.raises(retros.RetroError):
        retros.review_action(team.members[2], second, measured, "finished")
    advance_to(second, "closed", team.coach)
    third = make_retro("review")
    assert [a.id for a in retros.actions_to_review(third)] == [plain.id]


def test_reminders_go_once_to_owners_of_actions_due_soon_or_overdue(team, make_retro):
    retro = make_retro("discuss")
    soon = _action(team, retro, title="Soon", due_date=date.today() + timedelta(days=1))
    later = _action(team, retro, title="Later", due_date=date.today() + timedelta(days=20))
    db.session.commit()
    now = datetime.combine(date.today(), datetime.min.time()) + timedelta(hours=8)
    assert retros.remind_action_owners(now) == 1
    assert retros.remind_action_owners(now) == 0
    db.session.commit()
    notes = db.session.scalars(select(Notification).where(Notification.user_id == team.members[0].id)).all()
    assert len(notes) == 1 and notes[0].kind == "retro_action_due" and "Soon" in notes[0].params["title"]
    overdue_day = now + timedelta(days=3)
    assert retros.remind_action_owners(overdue_day) == 1
    assert retros.remind_action_owners(overdue_day + timedelta(days=1)) == 0
    assert retros.remind_action_owners(overdue_day + timedelta(days=8)) == 1
    soon.status = "done"
    db.session.commit()
    assert retros.remind_action_owners(overdue_day + timedelta(days=12)) == 0  # Soon is done; Later is far off
    assert later.reminded_on is None
    assert retros.remind_action_owners(now + timedelta(days=18)) == 1  # Later is now due in two days
    db.session.commit()
    assert later.reminded_on is not None


def test_votes_rows_are_counters_not_one_row_per_dot(team, make_retro):
    retro, cards, _group = _voting_retro(team, make_retro)
    for _ in range(3):
        retros.cast_vote(team.members[0], retro, card_id=cards[0].id)
    db.session.commit()
    rows = db.session.scalars(select(RetroVote).where(RetroVote.retro_id == retro.id)).all()
    assert [(r.card_id, r.count) for r in rows] == [(cards[0].id, 3)]
    assert db.session.get(Retro, retro.id).version > 1


def test_action_register_rows_exist(team, make_retro):
    retro = make_retro("discuss")
    _action(team, retro)
    db.session.commit()
    assert db.session.scalar(select(db.func.count()).select_from(RetroAction)) == 1
