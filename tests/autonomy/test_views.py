"""Autonomy pages: routes by role, logging and approving through the web, bad input, bounded query counts."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import func, select

from app.autonomy import services as svc
from app.autonomy.models import ActionType, Decision, LimitVersion, Proposal
from app.extensions import db
from app.timeutil import utcnow


@pytest.fixture
def world(team, set_limit, catalog, log):
    set_limit(per_case=5000, period="month", cap=30000)
    set_limit(per_case=20000, role="coach")
    pending = log(amount="80.00", now=utcnow() - timedelta(hours=1))
    other_pending = log(user=team.other_agent, amount="90.00", now=utcnow() - timedelta(hours=1))
    proposal = svc.propose_change(team.coach, catalog["refund"], level="agent", agent_id=team.agent.id,
                                  values=svc.LimitInput(9000), reason="specialist")
    db.session.commit()
    return {"pending": pending, "other_pending": other_pending, "proposal": proposal}


def _routes(team, world, catalog):
    d, other = world["pending"], world["other_pending"]
    limit_id = db.session.scalar(select(LimitVersion.limit_id).limit(1))
    return [
        # (method, path, data, who may: a role name, or a set of fixture names)
        ("GET", "/autonomy/", None, "agent"),
        ("GET", "/autonomy/queue", None, "coach"),
        ("GET", "/autonomy/limits", None, "coach"),
        ("GET", f"/autonomy/limits/{limit_id}", None, "coach"),
        ("GET", "/autonomy/proposals", None, "coach"),
        ("GET", f"/autonomy/decisions/{d.id}", None, {"agent", "coach", "leader", "admin"}),
        ("GET", f"/autonomy/decisions/{other.id}", None, {"leader", "admin"}),
        ("GET", "/autonomy/action-types", None, "admin"),
        ("POST", f"/autonomy/decisions/{other.id}/approve", {"comment": ""}, {"leader", "admin"}),
        ("POST", "/autonomy/settings", {"escalation_hours": "4", "workday_start_hour": "9",
                                        "workday_end_hour": "17"}, "admin"),
    ]


RANK = {"agent": 0, "coach": 1, "leader": 2, "admin": 3}


@pytest.mark.parametrize("role", ["anonymous", "agent", "coach", "leader", "admin"])
def test_every_route_by_role(client, auth, team, world, catalog, role):
    user = {"agent": team.agent, "coach": team.coach, "leader": team.leader, "admin": team.admin}.get(role)
    routes = _routes(team, world, catalog)
    if user is not None:
        auth.login(user)
    for method, path, data, rule in routes:
        response = client.open(path, method=method, data=data)
        if role == "anonymous":
            assert response.status_code == 302 and "/login" in response.headers["Location"], path
            continue
        allowed = role in rule if isinstance(rule, set) else RANK[role] >= RANK[rule]
        if allowed:
            assert response.status_code in (200, 302), (role, method, path, response.status_code)
        else:
            assert response.status_code == 403, (role, method, path, response.status_code)


def test_agent_logs_above_limit_coach_approves_from_queue_agent_sees_it(client, auth, team, world, catalog):
    auth.login(team.agent)
    response = client.post("/autonomy/decisions", data={
        "action_type_id": catalog["refund"].id, "amount": "120,50", "currency": "EUR", "case_ref": "Z-100",
        "customer": "C-1", "rationale": "Broken router, second time"})
    assert response.status_code == 302
    decision = db.session.scalar(select(Decision).where(Decision.case_ref == "Z-100"))
    assert decision.amount == 12050 and decision.status == "pending"
    auth.logout()
    auth.login(team.coach)
    queue = client.get("/autonomy/queue").get_data(as_text=True)
    assert f'id="decision-{decision.id}"' in queue and "Z-100" in queue
    assert f'id="decision-{world["other_pending"].id}"' not in queue, "another pod's request"
    response = client.post(f"/autonomy/decisions/{decision.id}/approve", data={"comment": "go ahead"},
                           headers={"HX-Request": "true"})
    assert response.status_code == 200 and "<html" not in response.get_data(as_text=True)
    auth.logout()
    auth.login(team.agent)
    page = client.get("/autonomy/").get_data(as_text=True)
    assert "Approved" in page and "Z-100" in page
    detail = client.get(f"/autonomy/decisions/{decision.id}").get_data(as_text=True)
    assert "go ahead" in detail


def test_agent_cannot_approve_and_coach_cannot_above_own_limit(client, auth, team, world, log):
    big = log(amount="250.00", case_ref="BIG")
    auth.login(team.agent)
    assert client.post(f"/autonomy/decisions/{world['pending'].id}/approve").status_code == 403
    auth.logout()
    auth.login(team.coach)
    assert client.post(f"/autonomy/decisions/{big.id}/approve").status_code == 403
    assert client.post(f"/autonomy/decisions/{world['other_pending'].id}/approve").status_code == 403
    assert client.post(f"/autonomy/decisions/{world['pending'].id}/reject", data={"comment": ""}).status_code == 400
    assert db.session.get(Decision, world["pending"].id).status == "pending"
    assert client.post(f"/autonomy/decisions/{world['pending'].id}/reject",
                       data={"comment": "not this time"}).status_code == 302
    assert client.post(f"/autonomy/decisions/{world['pending'].id}/approve").status_code == 409


@pytest.mark.parametrize("data, message", [
    ({"amount": "-3"}, "more than zero"),
    ({"amount": "0"}, "more than zero"),
    ({"amount": "lots"}, "number"),
    ({"amount": "1000000000"}, "too large"),
    ({"currency": "ZZZ"}, "Unknown currency"),
    ({"case_ref": ""}, "case reference"),
    ({"rationale": ""}, "why"),
    ({"action_type_id": "abc"}, "not valid"),
    ({"action_type_id": "99999"}, "Choose an action"),
    ({"request_type": "bribe"}, "not valid"),
])
def test_bad_decision_input_is_400_and_keeps_what_was_typed(client, auth, team, world, catalog, data, message):
    auth.login(team.agent)
    form = {"action_type_id": catalog["refund"].id, "amount": "10", "currency": "EUR", "case_ref": "Z-9",
            "rationale": "typed with care", **data}
    before = db.session.scalar(select(func.count()).select_from(Decision))
    response = client.post("/autonomy/decisions", data=form)
    body = response.get_data(as_text=True)
    assert response.status_code == 400 and message in body
    if form["rationale"]:
        assert "typed with care" in body
    assert db.session.scalar(select(func.count()).select_from(Decision)) == before


def test_leader_sets_limit_coach_proposal_goes_to_leader(client, auth, team, world, catalog):
    auth.login(team.coach)
    response = client.post("/autonomy/limits", data={
        "action_type_id": catalog["fee_waiver"].id, "level": "pod", "pod_id": team.pod.id,
        "per_case_max": "40.00", "period": "", "approver_role": "coach", "reason": "more fees in spring"})
    assert response.status_code == 302
    assert db.session.scalar(select(func.count()).select_from(Proposal).where(Proposal.kind == "change")) == 2
    assert client.post("/autonomy/limits", data={
        "action_type_id": catalog["fee_waiver"].id, "level": "pod", "pod_id": team.other_pod.id,
        "per_case_max": "40.00", "reason": "x"}).status_code == 403
    assert client.post(f"/autonomy/proposals/{world['proposal'].id}/accept").status_code == 403
    auth.logout()
    auth.login(team.leader)
    response = client.post("/autonomy/limits", data={
        "action_type_id": catalog["payment_extension"].id, "level": "role", "role": "agent",
        "per_case_max": "21", "period": "month", "period_cap": "60", "approver_role": "coach", "reason": "policy"})
    assert response.status_code == 302
    assert svc.limit_in_force(team.agent, catalog["payment_extension"].id, None).per_case_max == 21
    assert client.post(f"/autonomy/proposals/{world['proposal'].id}/accept",
                       data={"per_case_max": "85.00"}).status_code == 302
    assert svc.limit_in_force(team.agent, catalog["refund"].id, team.pod.id).per_case_max == 8500


@pytest.mark.parametrize("data", [
    {"per_case_max": "-1"}, {"per_case_max": "abc"}, {"per_case_max": ""}, {"level": "galaxy"},
    {"period": "decade"}, {"period_cap": "5.00"}, {"reason": ""}, {"approver_role": "agent"},
    {"level": "pod", "pod_id": "99999"},
])
def test_bad_limit_input_is_400(client, auth, team, world, catalog, data):
    auth.login(team.leader)
    form = {"action_type_id": catalog["refund"].id, "level": "org", "per_case_max": "40.00", "period": "month",
            "period_cap": "", "approver_role": "coach", "reason": "why", **data}
    before = db.session.scalar(select(func.count()).select_from(LimitVersion))
    assert client.post("/autonomy/limits", data=form).status_code == 400
    assert db.session.scalar(select(func.count()).select_from(LimitVersion)) == before


def test_admin_edits_catalog_and_bad_input_is_400(client, auth, team, catalog):
    auth.login(team.admin)
    assert client.post("/autonomy/action-types", data={"code": "voucher", "name": "Voucher", "unit": "money",
                                                       "currency": "EUR", "active": "y"}).status_code == 302
    assert db.session.scalar(select(ActionType).where(ActionType.code == "voucher")).currency == "EUR"
    assert client.post("/autonomy/action-types", data={"code": "v2", "name": "V2", "unit": "money",
                                                       "currency": "ZZZ"}).status_code == 400
    assert client.post("/autonomy/settings", data={"escalation_hours": "0", "workday_start_hour": "9",
                                                   "workday_end_hour": "17"}).status_code == 400


def test_pages_have_bounded_query_counts(client, auth, team, world, log, count_queries):
    def measure(user, path):
        auth.login(user)
        with count_queries() as counter:
            assert client.get(path).status_code == 200
        auth.logout()
        return counter.count

    paths = [(team.agent, "/autonomy/"), (team.coach, "/autonomy/queue"), (team.leader, "/autonomy/queue"),
             (team.leader, "/autonomy/limits"), (team.leader, "/autonomy/proposals"), (team.agent, "/")]
    before = {path + str(user.id): measure(user, path) for user, path in paths}
    for n in range(15):
        log(amount="70.00", case_ref=f"M-{n}", customer=f"C-{n}", now=utcnow() - timedelta(minutes=n + 5))
        log(user=team.mate, amount="20.00", case_ref=f"N-{n}", now=utcnow() - timedelta(minutes=n + 5))
    after = {path + str(user.id): measure(user, path) for user, path in paths}
    assert after == before
    assert max(after.values()) <= 30


def test_coach_decides_from_the_notification_link(client, auth, team, world):
    from app.notifications.models import Notification

    auth.login(team.coach)
    link = db.session.scalar(select(Notification.url).where(Notification.user_id == team.coach.id,
                                                            Notification.kind == "autonomy_request"))
    assert link.endswith(f"/autonomy/decisions/{world['pending'].id}")
    page = client.get(link).get_data(as_text=True)
    assert "Approve" in page and "Reject" in page
    response = client.post(f"/autonomy/decisions/{world['pending'].id}/reject",
                           data={"comment": "offer a credit", "next": "detail"})
    assert response.status_code == 302 and response.headers["Location"].endswith(link)
    page = client.get(link).get_data(as_text=True)
    assert "offer a credit" in page and "Approve" not in page
    auth.logout()
    auth.login(team.agent)
    assert "Approve" not in client.get(link).get_data(as_text=True), "no verdict form for the agent"


def test_limit_history_keeps_every_version(client, auth, team, world, catalog, set_limit):
    version = set_limit(per_case=6000, reason="raised after the spring review", now=utcnow())
    auth.login(team.coach)
    page = client.get(f"/autonomy/limits/{version.limit_id}").get_data(as_text=True)
    assert 'id="version-1"' in page and 'id="version-2"' in page and "raised after the spring review" in page
    assert "Remove limit" not in page
    auth.logout()
    auth.login(team.leader)
    assert client.post(f"/autonomy/limits/{version.limit_id}/retire", data={"reason": ""}).status_code == 400
    assert client.post(f"/autonomy/limits/{version.limit_id}/retire", data={"reason": "merged"}).status_code == 302
    assert 'id="version-3"' in client.get(f"/autonomy/limits/{version.limit_id}").get_data(as_text=True)
