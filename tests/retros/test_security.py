"""Issue 13 findings in retros: case chips reveal only what the viewer may see (#9), the check-in pulse never lets
one answer be isolated (#6), and the public query API other features use instead of retro models."""

from __future__ import annotations

from datetime import date, datetime, timedelta

import pytest
from sqlalchemy import select

from app.extensions import db
from app.org.models import Pod
from app.outcomes.models import Case
from app.retros import contributions
from app.retros import services as retros
from app.retros.models import RetroAction
from tests.conftest import PASSWORD
from tests.retros.conftest import advance_to

HTMX = {"HX-Request": "true"}


@pytest.fixture
def as_user(app):
    def _client(user):
        client = app.test_client()
        assert client.post("/login", data={"email": user.email, "password": PASSWORD}).status_code in (302, 303)
        return client

    return _client


def _case(pod_id: int, ref: str, status: str, csat: int) -> None:
    created = datetime.combine(date.today() - timedelta(days=2), datetime.min.time())
    db.session.add(Case(source="zendesk", external_id=ref, status=status, created_at=created, pod_id=pod_id,
                        csat_score=csat, priority="normal", request_type="information"))
    db.session.commit()


# --- #9: case chips ----------------------------------------------------------------------------------------


def test_a_card_shows_case_facts_only_for_cases_the_viewer_may_see(team, make_retro, as_user):
    other_pod = db.session.scalar(select(Pod).where(Pod.name == "Other pod"))
    _case(other_pod.id, "FOREIGN-1", "escalatedx", 1)
    _case(team.pod.id, "OWN-1", "pendingx", 4)
    retro = make_retro("reflect")
    retros.add_card(team.members[0], retro, column_key="start", text="Not ours", case_ref="FOREIGN-1")
    retros.add_card(team.members[0], retro, column_key="stop", text="Ours", case_ref="OWN-1")
    db.session.commit()
    advance_to(retro, "group", team.coach)

    page = as_user(team.members[1]).get(f"/retros/{retro.id}").get_data(as_text=True)
    assert "Case FOREIGN-1" in page and "Case OWN-1" in page
    assert "escalatedx" not in page and "CSAT 1" not in page  # another pod's case: the reference only
    assert "pendingx" in page and "CSAT 4" in page  # the pod's own case: its facts

    fragment = as_user(team.members[1]).get(f"/retros/{retro.id}/board").get_data(as_text=True)
    assert "escalatedx" not in fragment and "CSAT 1" not in fragment

    leader_page = as_user(team.leader).get(f"/retros/{retro.id}").get_data(as_text=True)
    assert "escalatedx" in leader_page  # a leader may see every pod's outcomes


def test_the_pods_own_case_wins_over_another_pods_case_with_the_same_reference(team, make_retro, as_user):
    other_pod = db.session.scalar(select(Pod).where(Pod.name == "Other pod"))
    db.session.add(Case(source="freshdesk", external_id="SAME-1", status="foreignx", pod_id=other_pod.id,
                        created_at=datetime(2026, 1, 5)))
    db.session.add(Case(source="zendesk", external_id="SAME-1", status="homex", pod_id=team.pod.id,
                        created_at=datetime(2026, 1, 5)))
    db.session.commit()
    retro = make_retro("reflect")
    retros.add_card(team.members[0], retro, column_key="start", text="Which one?", case_ref="SAME-1")
    db.session.commit()
    page = as_user(team.members[0]).get(f"/retros/{retro.id}").get_data(as_text=True)
    assert "homex" in page and "foreignx" not in page


# --- #6: the check-in pulse --------------------------------------------------------------------------------


def test_no_pulse_figure_moves_while_people_check_in(team, make_retro, as_user):
    """Each answer used to move one bar of the live histogram; now only the count of answers shows until the
    check-in ends, in pages, fragments and polls alike."""
    retro = make_retro()
    people = [team.coach, *team.members]
    watcher = as_user(team.leader)
    for person, pulse in zip(people, (4, 2, 5, 1), strict=True):
        client = as_user(person)
        fragment = client.post(f"/retros/{retro.id}/checkin", data={"pulse": str(pulse)}, headers=HTMX)
        assert fragment.status_code == 200
        for body in (fragment.get_data(as_text=True),
                     watcher.get(f"/retros/{retro.id}/board").get_data(as_text=True),
                     watcher.get(f"/retros/{retro.id}").get_data(as_text=True)):
            assert "Team pulse" not in body and "<meter" not in body and "retro-pulse-bars" not in body
    assert "4 answers so far" in watcher.get(f"/retros/{retro.id}").get_data(as_text=True)

    advance_to(retro, "review", team.coach)
    page = as_user(team.members[0]).get(f"/retros/{retro.id}").get_data(as_text=True)
    assert "Team pulse: 3.0 from 4 answers" in page and page.count("<meter") == 5
    # Answers are final once the check-in has ended.
    late = as_user(team.members[0]).post(f"/retros/{retro.id}/checkin", data={"pulse": "5"})
    assert late.status_code == 409


def test_too_few_answers_never_show_a_team_pulse(team, make_retro, as_user):
    retro = make_retro()
    retros.submit_checkin(team.members[0], retro, 5)
    retros.submit_checkin(team.members[1], retro, 1)
    db.session.commit()
    advance_to(retro, "review", team.coach)
    page = as_user(team.members[2]).get(f"/retros/{retro.id}").get_data(as_text=True)
    assert "Team pulse" not in page and "<meter" not in page and "2 answers at check-in" in page


# --- what retros offer other features ------------------------------------------------------------------------


@pytest.fixture
def measured(team, make_retro, engine, app):
    """Three done actions of the pod: one that worked, one that did not, one against the metric's usual way."""
    retro = make_retro("discuss")
    with app.test_request_context():
        made = [retros.create_action(team.members[1], retro, title=title, owner=team.members[i],
                                     due_date=date.today() + timedelta(days=3), principle="autonomy",
                                     metric_code=code, direction=direction)
                for i, (title, code, direction) in enumerate((
                    ("Fewer handoffs", "handoff_rate", None),
                    ("More FCR", "fcr", None),
                    ("Accept more handoffs", "handoff_rate", "up")))]
    db.session.commit()
    advance_to(retro, "closed", team.coach)
    nxt = retros.create_retro(team.coach, team.pod, title="Next", template_key="four_ls", facilitator=team.coach)
    db.session.commit()
    advance_to(nxt, "review", team.coach)
    engine.values.update({"handoff_rate": 0.1, "fcr": 0.5})  # handoffs 0.2 → 0.1 (better); FCR 0.62 → 0.5 (worse)
    with app.test_request_context():
        for action in made:
            retros.review_action(team.members[0], nxt, action, "done")
    db.session.commit()
    return made


def test_worked_uses_the_metric_registry_in_python_and_sql(measured):
    fewer, more_fcr, accept = measured
    assert fewer.direction == "down" and more_fcr.direction == "up"
    assert (fewer.worked, more_fcr.worked, accept.worked) == (True, False, False)
    in_sql = set(db.session.scalars(select(RetroAction.id).where(RetroAction.worked)))
    assert in_sql == {fewer.id}


def test_public_queries_over_finished_actions(team, measured):
    ids = [a.id for a in measured]
    assert [a.id for a in contributions.finished_actions(team.pod.id)] == sorted(ids, reverse=True)
    assert [a.id for a in contributions.finished_actions(team.pod.id, owner_ids=[team.members[1].id])] == [ids[1]]
    assert [a.id for a in contributions.finished_actions(team.pod.id, limit=1, newest_first=False)] == [ids[0]]
    assert set(contributions.actions_by_id(ids)) == set(ids)
    assert [a.id for a in contributions.actions_that_worked(team.pod.id)] == [ids[0]]
    assert contributions.actions_that_worked(team.pod.id, excluding=[ids[0]]) == []
    quarter = contributions.retro_quarter(team.pod, date.today(), date.today() + timedelta(days=30))
    assert quarter == {"total": 3, "done": 3, "confirmed_effect": 1, "open": 0, "dropped": 0}
