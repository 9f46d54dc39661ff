"""Hostile values in every org form and query string: never a 5xx, a 4xx for the bad ones, nothing saved."""

from datetime import timedelta

import pytest
from sqlalchemy import func, select

from app.extensions import db
from app.org.models import Coverage, LifecycleStage, Membership, MembershipChange, Pod, Segment, User
from app.timeutil import utcnow

HOSTILE = ["²", "١", str(2**31), str(2**63), "1e30", "-1", "x" * 10_000, "nul\x00byte"]


@pytest.fixture
def world(make_user, make_pod, make_segment, stages):
    admin, leader, coach = make_user("admin"), make_user("leader"), make_user("coach")
    agent, free = make_user("agent"), make_user("agent")
    pod = make_pod("Residential Care", coaches=[coach], members=[agent])
    return {"admin": admin, "leader": leader, "coach": coach, "agent": agent, "free": free, "pod": pod,
            "segment": make_segment("Residential"), "stage": stages[0]}


def _counts() -> tuple:
    return tuple(db.session.scalar(select(func.count()).select_from(model))
                 for model in (User, Pod, Segment, LifecycleStage, Membership, MembershipChange, Coverage))


def _posts(world):
    pod, free = world["pod"], world["free"]
    membership = db.session.scalar(select(Membership).where(Membership.user_id == world["agent"].id))
    today = utcnow().date().isoformat()
    good_member = {"user_id": free.id, "start_date": today, "profile": "generalist", "skills": ""}
    good_user = {"email": "new.person@example.com", "display_name": "New Person", "role": "agent", "locale": "en",
                 "timezone": "Europe/Madrid", "active": "y"}
    good_pod = {"name": "New Pod", "mission": "", "timezone": "Europe/Madrid", "standup_time": "09:30",
                "working_days": ["1"], "coaches": [str(world["coach"].id)]}
    return [
        (f"/pods/{pod.id}/members", good_member, ["user_id", "start_date", "profile", "skills"]),
        (f"/pods/{pod.id}/members/{membership.id}", {"profile": "generalist", "skills": ""}, ["profile", "skills"]),
        (f"/pods/{pod.id}/members/{membership.id}/end", {"end_date": today}, ["end_date"]),
        (f"/coverage/{world['segment'].id}/{world['stage'].id}", {"pod_id": pod.id, "op": "assign"},
         ["pod_id", "op"]),
        ("/pods/new", good_pod, ["name", "timezone", "standup_time", "working_days", "coaches"]),
        ("/admin/users/new", good_user, ["email", "display_name", "role", "locale", "timezone"]),
        ("/admin/segments/new", {"name": "Enterprise", "description": "", "position": "1", "active": "y"},
         ["name", "description", "position"]),
        ("/admin/settings", {"name": "Podium", "timezone": "Europe/Madrid", "fiscal_year_start_month": "1"},
         ["name", "timezone", "fiscal_year_start_month"]),
        (f"/admin/segments/{world['segment'].id}/move", {"direction": "up"}, ["direction"]),
    ]


@pytest.mark.parametrize("value", HOSTILE)
def test_hostile_form_values_are_refused_and_save_nothing(client, auth, world, value):
    auth.login(world["admin"])
    for path, good, fields in _posts(world):
        for name in fields:
            before = _counts()
            data = {**good, name: value}
            response = client.post(path, data=data)
            assert response.status_code < 500, (path, name, response.status_code)
            if name in ("user_id", "pod_id", "start_date", "end_date", "position", "fiscal_year_start_month",
                        "working_days", "coaches", "profile", "op", "role", "locale", "direction", "standup_time",
                        "timezone") or len(value) > 1000:
                assert 400 <= response.status_code < 500, (path, name, value[:10], response.status_code)
                assert _counts() == before, (path, name)
            db.session.rollback()


@pytest.mark.parametrize("value", HOSTILE)
def test_hostile_query_values_never_fail(client, auth, world, value):
    auth.login(world["admin"])
    for path in ("/admin/users", "/pods", f"/pods/{world['pod'].id}", "/coverage", "/"):
        response = client.get(path, query_string={"q": value, "role": value, "page": value, "pod": value})
        assert response.status_code < 500, (path, response.status_code)


@pytest.mark.parametrize("path", ["/pods/{big}", "/pods/{big}/edit", "/admin/users/{big}/edit",
                                  "/admin/segments/{big}/edit"])
@pytest.mark.parametrize("big", ["0", "-1", str(2**31), str(2**63), "1" * 40, "²", "١"])
def test_hostile_path_ids_are_404(client, auth, world, path, big):
    auth.login(world["admin"])
    assert client.get(path.format(big=big)).status_code == 404


def test_coach_backdated_start_far_in_the_past_or_future_years_are_refused(client, auth, world):
    auth.login(world["coach"])
    for start in ("0001-01-01", "9999-12-31", "2020-02-30"):
        response = client.post(f"/pods/{world['pod'].id}/members", data={
            "user_id": world["free"].id, "start_date": start, "profile": "generalist"})
        assert 400 <= response.status_code < 500, start
    assert _counts()[4] == 1
    ok = (utcnow().date() - timedelta(days=1)).isoformat()
    assert client.post(f"/pods/{world['pod'].id}/members", data={
        "user_id": world["free"].id, "start_date": ok, "profile": "generalist"}).status_code == 302
