"""Who may enrol whom, with which dates: a coach adds free agents from at most a week ago; moving people out of
another pod, enrolling leaders or admins and older dates need a leader. Every change is audited."""

from datetime import timedelta

import pytest
from sqlalchemy import func, select

from app.extensions import db
from app.org import services as org
from app.org.models import Membership, MembershipChange
from app.timeutil import utcnow


@pytest.fixture
def team(make_user, make_pod):
    coach, leader = make_user("coach", name="Carla Coach"), make_user("leader", name="Lea Leader")
    other_coach = make_user("coach")
    pod = make_pod("Residential Care", coaches=[coach])
    other = make_pod("SMB Growth", coaches=[other_coach])
    free = make_user("agent", name="Fran Free")
    busy = make_user("agent", name="Bea Busy")
    org.add_member(None, other, busy, start=utcnow().date() - timedelta(days=30))
    db.session.commit()
    return {"coach": coach, "leader": leader, "pod": pod, "other": other, "free": free, "busy": busy,
            "admin": make_user("admin")}


def _day(offset: int) -> str:
    return (utcnow().date() + timedelta(days=offset)).isoformat()


def _add(client, pod, user_id, start):
    return client.post(f"/pods/{pod.id}/members", data={"user_id": user_id, "start_date": start,
                                                        "profile": "generalist"})


def _memberships(user, pod) -> int:
    return db.session.scalar(select(func.count()).select_from(Membership)
                             .where(Membership.user_id == user.id, Membership.pod_id == pod.id))


def test_coach_adds_a_free_agent_from_a_week_ago_and_it_is_audited(client, auth, team):
    auth.login(team["coach"])
    assert _add(client, team["pod"], team["free"].id, _day(-7)).status_code == 302
    change = db.session.scalar(select(MembershipChange).where(MembershipChange.member_id == team["free"].id))
    assert (change.action, change.actor_id, change.pod_id) == ("added", team["coach"].id, team["pod"].id)
    assert change.start_date.isoformat() == _day(-7) and change.end_date is None


@pytest.mark.parametrize("start", ["2020-01-01", _day(-8)])
def test_coach_cannot_backdate_beyond_the_grace(client, auth, team, start):
    auth.login(team["coach"])
    response = _add(client, team["pod"], team["free"].id, start)
    assert response.status_code == 403
    assert "need a leader" in response.get_data(as_text=True)
    assert _memberships(team["free"], team["pod"]) == 0
    assert db.session.scalar(select(func.count()).select_from(MembershipChange)
                             .where(MembershipChange.member_id == team["free"].id)) == 0


def test_coach_cannot_take_a_member_of_another_pod(client, auth, team):
    auth.login(team["coach"])
    response = _add(client, team["pod"], team["busy"].id, _day(0))
    assert response.status_code == 403
    assert "ask a leader" in response.get_data(as_text=True)
    assert _memberships(team["busy"], team["pod"]) == 0


def test_a_future_membership_elsewhere_counts_as_another_pod(client, auth, team, make_user):
    later = make_user("agent")
    org.add_member(None, team["other"], later, start=utcnow().date() + timedelta(days=10))
    db.session.commit()
    auth.login(team["coach"])
    assert _add(client, team["pod"], later.id, _day(0)).status_code == 403


def test_a_former_member_of_another_pod_is_free(client, auth, team, make_user):
    former = make_user("agent")
    membership = org.add_member(None, team["other"], former, start=utcnow().date() - timedelta(days=90))
    org.end_membership(None, membership, end=utcnow().date() - timedelta(days=1))
    db.session.commit()
    auth.login(team["coach"])
    assert _add(client, team["pod"], former.id, _day(0)).status_code == 302


@pytest.mark.parametrize("role", ["leader", "admin"])
def test_coach_cannot_enrol_a_leader_or_admin(client, auth, team, role):
    auth.login(team["coach"])
    target = team[role]
    response = _add(client, team["pod"], target.id, _day(0))
    assert response.status_code == 403
    assert _memberships(target, team["pod"]) == 0


def test_leader_may_move_backdate_and_enrol_anyone(client, auth, team):
    auth.login(team["leader"])
    assert _add(client, team["pod"], team["busy"].id, "2020-01-01").status_code == 302
    assert _add(client, team["pod"], team["admin"].id, _day(-30)).status_code == 302
    change = db.session.scalar(select(MembershipChange).where(MembershipChange.member_id == team["busy"].id,
                                                              MembershipChange.pod_id == team["pod"].id))
    assert change.actor_id == team["leader"].id and change.start_date.isoformat() == "2020-01-01"


def test_coach_ends_a_membership_at_most_a_week_back_a_leader_further(client, auth, team, app):
    membership = org.add_member(None, team["pod"], team["free"], start=utcnow().date() - timedelta(days=60))
    db.session.commit()
    auth.login(team["coach"])
    url = f"/pods/{team['pod'].id}/members/{membership.id}/end"
    assert client.post(url, data={"end_date": _day(-8)}).status_code == 403
    db.session.refresh(membership)
    assert membership.end_date is None
    assert client.post(url, data={"end_date": _day(-7)}).status_code == 302
    db.session.refresh(membership)
    assert membership.end_date.isoformat() == _day(-7)
    change = db.session.scalar(select(MembershipChange).where(MembershipChange.action == "ended"))
    assert change.actor_id == team["coach"].id and change.end_date.isoformat() == _day(-7)

    again = org.add_member(None, team["pod"], team["free"], start=utcnow().date() - timedelta(days=5))
    db.session.commit()
    leader = app.test_client()
    leader.post("/login", data={"email": team["leader"].email, "password": "correct-horse-battery"})
    response = leader.post(f"/pods/{team['pod'].id}/members/{again.id}/end", data={"end_date": _day(-5)})
    assert response.status_code == 302


def test_profile_changes_are_audited_and_history_is_shown_to_coach_and_leader_only(client, auth, team, app):
    auth.login(team["coach"])
    _add(client, team["pod"], team["free"].id, _day(0))
    membership = db.session.scalar(select(Membership).where(Membership.user_id == team["free"].id))
    client.post(f"/pods/{team['pod'].id}/members/{membership.id}", data={"profile": "specialist",
                                                                         "skills": "porting"})
    actions = list(db.session.scalars(select(MembershipChange.action).where(
        MembershipChange.member_id == team["free"].id).order_by(MembershipChange.id)))
    assert actions == ["added", "edited"]
    page = client.get(f"/pods/{team['pod'].id}").get_data(as_text=True)
    assert 'id="pod-membership-changes"' in page and "Carla Coach" in page and "Profile or skills changed" in page

    agent = app.test_client()
    agent.post("/login", data={"email": team["free"].email, "password": "correct-horse-battery"})
    assert 'id="pod-membership-changes"' not in agent.get(f"/pods/{team['pod'].id}").get_data(as_text=True)


def test_coach_add_list_offers_only_people_they_may_add(client, auth, team):
    auth.login(team["coach"])
    page = client.get(f"/pods/{team['pod'].id}").get_data(as_text=True)
    assert "Fran Free" in page
    assert team["busy"].email not in page and team["leader"].email not in page and team["admin"].email not in page


def test_coach_of_another_pod_cannot_add_to_this_one(client, auth, team, make_user):
    outsider = make_user("coach")
    make_pod_coach = org.set_pod_coaches
    make_pod_coach(None, team["other"], [outsider])
    db.session.commit()
    auth.login(outsider)
    assert _add(client, team["pod"], team["free"].id, _day(0)).status_code == 403
