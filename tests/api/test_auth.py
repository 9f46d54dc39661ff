"""Bearer-token authentication and who may do what with a token."""

from __future__ import annotations

from datetime import date

import pytest
from sqlalchemy import select

from app.api.auth import hash_secret, revoke_token
from app.api.models import ApiToken
from app.extensions import db

PERIOD = {"from": "2026-07-01", "to": "2026-09-30"}


def test_no_token_is_401_with_a_bearer_challenge(api):
    response = api().get("/metrics", **PERIOD)
    assert response.status_code == 401
    assert response.json["error"] == "unauthorized"
    assert response.headers["WWW-Authenticate"].startswith("Bearer")


@pytest.mark.parametrize("header", ["Basic dXNlcjpwYXNz", "Bearer", "Bearer a b", "Token pdm_x"])
def test_malformed_authorization_is_401(client, header):
    response = client.get("/api/v1/metrics", query_string=PERIOD, headers={"Authorization": header})
    assert response.status_code == 401
    assert 'error="invalid_token"' in response.headers["WWW-Authenticate"]


def test_unknown_token_is_401(api):
    response = api(secret="pdm_" + "x" * 43).get("/metrics", **PERIOD)
    assert response.status_code == 401
    assert response.json["error"] == "unauthorized"


def test_valid_token_works_and_records_its_use(api, make_user):
    leader = make_user("leader")
    client = api(leader)
    response = client.get("/metrics", **PERIOD)
    assert response.status_code == 200, response.json
    token = db.session.scalar(select(ApiToken))
    db.session.refresh(token)
    assert token.last_used_at is not None


def test_revoked_token_is_401(api, make_user, make_token):
    leader = make_user("leader")
    secret = make_token(leader)
    client = api(secret=secret)
    assert client.get("/metrics", **PERIOD).status_code == 200
    revoke_token(db.session.scalar(select(ApiToken)), None)
    db.session.commit()
    response = client.get("/metrics", **PERIOD)
    assert response.status_code == 401
    assert client.post("/cases", json={"cases": [{"external_id": "1", "status": "open",
                                                   "created_at": "2026-07-01T10:00"}]}).status_code == 401


def test_token_of_deactivated_user_is_401(api, make_user, make_token):
    leader = make_user("leader")
    client = api(secret=make_token(leader))
    leader.active = False
    db.session.commit()
    assert client.get("/metrics", **PERIOD).status_code == 401


@pytest.mark.parametrize("how", ["deactivate", "edit"])
def test_deactivation_revokes_tokens_for_good(app, api, make_user, make_token, how):
    from tests.conftest import PASSWORD

    admin, leader = make_user("admin"), make_user("leader")
    client = api(secret=make_token(leader))
    assert client.get("/metrics", **PERIOD).status_code == 200
    browser = app.test_client()
    browser.post("/login", data={"email": admin.email, "password": PASSWORD})
    if how == "deactivate":
        assert browser.post(f"/admin/users/{leader.id}/deactivate").status_code == 302
    else:
        assert browser.post(f"/admin/users/{leader.id}/edit", data={
            "email": "lea.leader@example.com", "display_name": leader.display_name, "role": "leader",
            "locale": "en", "timezone": "Europe/Madrid"}).status_code == 302
    token = db.session.scalar(select(ApiToken))
    db.session.refresh(token)
    assert token.revoked_at is not None and token.revoked_by_id == admin.id
    assert browser.post(f"/admin/users/{leader.id}/reactivate").status_code == 302
    db.session.refresh(leader)
    assert leader.active
    assert client.get("/metrics", **PERIOD).status_code == 401, "reactivation does not bring tokens back"


def test_only_the_hash_is_stored(make_user, make_token):
    secret = make_token(make_user("leader"))
    token = db.session.scalar(select(ApiToken))
    assert secret.startswith("pdm_") and len(secret) > 40
    assert token.token_hash == hash_secret(secret)
    assert secret not in (token.token_hash, token.prefix, token.name)
    assert secret.startswith(token.prefix)


@pytest.mark.parametrize("role", ["agent", "coach"])
def test_writing_cases_needs_a_leader_or_admin(api, make_user, role):
    response = api(make_user(role)).post("/cases", json={"cases": [
        {"external_id": "1", "status": "open", "created_at": "2026-07-01T10:00"}]})
    assert response.status_code == 403
    assert response.json["error"] == "forbidden"


@pytest.mark.parametrize("role", ["leader", "admin"])
def test_leaders_and_admins_write_cases(api, make_user, role):
    response = api(make_user(role)).post("/cases", json={"cases": [
        {"external_id": "1", "status": "open", "created_at": "2026-07-01T10:00"}]})
    assert response.status_code == 200, response.json


@pytest.fixture
def team(make_user, make_pod):
    agent, colleague, coach, outsider = (make_user("agent"), make_user("agent"), make_user("coach"),
                                         make_user("agent"))
    pod = make_pod(coaches=[coach], members=[agent, colleague], start=date(2020, 1, 1))
    other = make_pod(members=[outsider], start=date(2020, 1, 1))
    return {"agent": agent, "colleague": colleague, "coach": coach, "outsider": outsider, "pod": pod, "other": other}


def _status(api, user, **scope) -> int:
    return api(user).get("/metrics", **PERIOD, **scope).status_code


def test_metrics_permissions_follow_the_dashboards(api, make_user, team):
    agent, coach, pod, other = team["agent"], team["coach"], team["pod"], team["other"]
    # An agent: own figures and own pod's, nobody else's, not the organisation's.
    assert _status(api, agent) == 403
    assert _status(api, agent, pod=pod.id) == 200
    assert _status(api, agent, agent=agent.id) == 200
    assert _status(api, agent, pod=pod.id, agent=agent.id) == 200
    assert _status(api, agent, agent=team["colleague"].id) == 403
    assert _status(api, agent, pod=pod.id, agent=team["colleague"].id) == 403
    assert _status(api, agent, pod=other.id) == 403
    assert _status(api, agent, segment=1) in (403, 404)
    # A coach: the pods they coach and their agents, not other pods' people.
    assert _status(api, coach, pod=pod.id) == 200
    assert _status(api, coach, agent=team["colleague"].id) == 200
    assert _status(api, coach, agent=team["outsider"].id) == 403
    assert _status(api, coach, pod=other.id) == 403
    assert _status(api, coach) == 403
    # Leaders and admins: everything.
    for role in ("leader", "admin"):
        user = make_user(role)
        assert _status(api, user) == 200
        assert _status(api, user, pod=other.id, agent=team["outsider"].id) == 200
