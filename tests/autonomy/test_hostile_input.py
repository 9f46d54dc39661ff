"""Hostile values at every autonomy route: never a 5xx, a 4xx for what is bad, nothing saved."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import func, select

from app.autonomy import services as svc
from app.autonomy.models import ActionType, AutonomySettings, Decision, LimitVersion, Proposal
from app.extensions import db
from app.timeutil import utcnow

HOSTILE = ["²", "١", "1e30", "9" * 40, "-1", "x" * 10_000, "\x00", "0x10"]
BAD_IDS = ["0", "-1", str(2**31), str(2**63), "99999999999999999999999999999"]


@pytest.fixture
def world(team, set_limit, catalog, log):
    set_limit(per_case=5000, period="month", cap=30000)
    set_limit(per_case=20000, role="coach")
    pending = log(amount="80.00", now=utcnow() - timedelta(hours=1))
    proposal = svc.propose_change(team.coach, catalog["refund"], level="agent", agent_id=team.agent.id,
                                  values=svc.LimitInput(9000), reason="specialist")
    svc.get_settings()
    db.session.commit()
    limit_id = db.session.scalar(select(LimitVersion.limit_id).limit(1))
    return {"pending": pending, "proposal": proposal, "limit_id": limit_id}


def _state():
    counts = tuple(db.session.scalar(select(func.count()).select_from(model))
                   for model in (Decision, LimitVersion, Proposal, ActionType))
    statuses = tuple(db.session.execute(select(Decision.status).order_by(Decision.id)).scalars())
    proposals = tuple(db.session.execute(select(Proposal.status).order_by(Proposal.id)).scalars())
    settings = db.session.get(AutonomySettings, 1)
    hours = (settings.escalation_hours, settings.workday_start_hour, settings.workday_end_hour) if settings else None
    names = tuple(db.session.execute(select(ActionType.name, ActionType.position).order_by(ActionType.id)).all())
    db.session.expire_all()
    return counts, statuses, proposals, hours, names


def _posts(team, world, catalog):
    d, p, limit_id = world["pending"].id, world["proposal"].id, world["limit_id"]
    refund = catalog["refund"].id
    decision = {"action_type_id": refund, "amount": "10.00", "currency": "EUR", "case_ref": "H-1",
                "rationale": "why", "customer": "", "pod_id": "", "segment_id": "", "stage_id": "",
                "request_type": ""}
    limit = {"action_type_id": refund, "level": "org", "per_case_max": "40.00", "period": "month",
             "period_cap": "", "customer_cap": "", "approver_role": "coach", "reason": "why", "role": "",
             "pod_id": "", "agent_id": "", "segment_id": "", "stage_id": "", "request_type": ""}
    catalog_form = {"code": "hostile", "name": "Hostile", "unit": "count", "currency": "", "description": "",
                    "position": "3"}
    settings = {"escalation_hours": "4", "workday_start_hour": "9", "workday_end_hour": "17"}
    return [
        (team.agent, "/autonomy/decisions", decision, ["amount", "action_type_id", "pod_id", "segment_id",
                                                        "stage_id", "request_type", "currency", "case_ref"]),
        (team.leader, f"/autonomy/decisions/{d}/reject", {"comment": "no"}, ["comment"]),
        (team.leader, "/autonomy/limits", limit, ["action_type_id", "level", "per_case_max", "period",
                                                  "period_cap", "customer_cap", "approver_role", "reason"]),
        (team.leader, "/autonomy/limits", {**limit, "level": "pod", "pod_id": "1"}, ["pod_id"]),
        (team.leader, "/autonomy/limits", {**limit, "level": "agent", "agent_id": "1"}, ["agent_id"]),
        (team.leader, f"/autonomy/limits/{limit_id}/retire", {"reason": "merged"}, ["reason"]),
        (team.leader, f"/autonomy/proposals/{p}/accept", {"per_case_max": "85.00", "comment": ""},
         ["per_case_max"]),
        (team.admin, "/autonomy/action-types", catalog_form, ["position", "unit", "code", "name"]),
        (team.admin, "/autonomy/settings", settings, list(settings)),
    ]


def _hostile_for(field: str) -> list[str]:
    # Free texts accept "²" or "1.5" as text; what they must refuse is NUL and overlong values.
    if field in ("comment", "reason", "case_ref", "rationale", "code", "name"):
        return ["\x00", "x" * 10_000]
    return HOSTILE


def test_hostile_form_values_are_refused_and_nothing_is_saved(client, auth, team, world, catalog):
    tried = 0
    for user, path, form, fields in _posts(team, world, catalog):
        auth.login(user)
        for field in fields:
            for value in _hostile_for(field):
                before = _state()
                response = client.post(path, data={**form, field: value})
                tried += 1
                assert response.status_code < 500, (path, field, value[:20])
                assert 400 <= response.status_code < 500, (path, field, value[:20], response.status_code)
                assert _state() == before, (path, field, value[:20])
        auth.logout()
    assert tried > 150


def test_hostile_path_ids_are_404(client, auth, team, world):
    auth.login(team.admin)
    templates = ["/autonomy/decisions/{}", "/autonomy/decisions/{}/cancel", "/autonomy/decisions/{}/approve",
                 "/autonomy/limits/{}", "/autonomy/limits/{}/retire", "/autonomy/proposals/{}/accept",
                 "/autonomy/action-types/{}"]
    before = _state()
    for template in templates:
        for ident in BAD_IDS:
            for method in ("GET", "POST"):
                response = client.open(template.format(ident), method=method, data={"reason": "x"})
                assert response.status_code in (404, 405), (template, ident, method, response.status_code)
    assert _state() == before


@pytest.mark.parametrize("query", [f"{name}={value}" for name in ("pod_id", "agent_id")
                                   for value in ("²", "١", "1e30", str(2**63), "x" * 10_000)])
def test_hostile_accountability_filters_are_400(client, auth, team, world, query):
    auth.login(team.leader)
    assert client.get(f"/autonomy/accountability?{query}").status_code == 400


@pytest.mark.parametrize("path", ["/autonomy/", "/autonomy/queue", "/autonomy/limits", "/autonomy/proposals",
                                  "/autonomy/action-types", "/autonomy/accountability"])
@pytest.mark.parametrize("value", ["²", "١", "1e30", "x" * 10_000])
def test_hostile_query_values_never_break_a_page(client, auth, team, world, path, value):
    auth.login(team.admin)
    response = client.get(f"{path}?days={value}&page={value}")
    assert response.status_code == 200


def test_nul_in_a_query_string_is_400(client, auth, team, world):
    auth.login(team.leader)
    assert client.get("/autonomy/accountability?days=%00").status_code == 400
