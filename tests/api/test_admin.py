"""The admins' API tokens page: create (secret shown once), list, revoke; CSRF-protected unlike the API."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import select

from app.api.auth import hash_secret
from app.api.models import ApiToken
from app.extensions import db

SECRET = re.compile(r"pdm_[A-Za-z0-9_-]{43}")


@pytest.fixture
def admin(make_user):
    return make_user("admin")


def test_admin_creates_a_token_and_sees_it_once(client, auth, admin, make_user):
    leader = make_user("leader")
    auth.login(admin)
    page = client.get("/admin/api-tokens")
    assert page.status_code == 200
    assert b"api-token-form" in page.data and b"api-tokens-empty" in page.data
    created = client.post("/admin/api-tokens", data={"name": "Warehouse sync", "user_id": leader.id})
    assert created.status_code == 201
    assert created.headers["Cache-Control"] == "no-store"
    secrets = SECRET.findall(created.get_data(as_text=True))
    assert len(set(secrets)) == 1
    token = db.session.scalar(select(ApiToken))
    assert token.user_id == leader.id and token.created_by_id == admin.id
    assert token.token_hash == hash_secret(secrets[0])
    again = client.get("/admin/api-tokens").get_data(as_text=True)
    assert "Warehouse sync" in again and token.prefix in again
    assert not SECRET.search(again)
    response = client.get("/api/v1/metrics?from=2026-07-01&to=2026-07-02",
                          headers={"Authorization": f"Bearer {secrets[0]}"})
    assert response.status_code == 200


def test_admin_revokes_a_token(client, auth, admin):
    auth.login(admin)
    client.post("/admin/api-tokens", data={"name": "Old bridge", "user_id": admin.id})
    token = db.session.scalar(select(ApiToken))
    response = client.post(f"/admin/api-tokens/{token.id}/revoke")
    assert response.status_code == 303
    db.session.expire_all()
    assert db.session.get(ApiToken, token.id).revoked_at is not None
    assert b"revoked already" in client.post(f"/admin/api-tokens/{token.id}/revoke", follow_redirects=True).data
    assert client.post("/admin/api-tokens/999/revoke").status_code == 404


@pytest.mark.parametrize("data", [{"name": "", "user_id": "1"}, {"name": "x" * 81, "user_id": "1"},
                                  {"name": "ok", "user_id": "999"}, {"name": "ok", "user_id": "abc"},
                                  {"name": "bad\x00name", "user_id": "1"}])
def test_bad_input_is_400_and_creates_nothing(client, auth, admin, data):
    auth.login(admin)
    data = {**data, "user_id": str(admin.id) if data["user_id"] == "1" else data["user_id"]}
    response = client.post("/admin/api-tokens", data=data)
    assert response.status_code == 400
    # NUL is refused before any view runs (app.validators.refuse_hostile_input); the rest by the form's fields.
    assert b"field-error" in response.data or b"not allowed" in response.data
    assert db.session.scalar(select(ApiToken)) is None


@pytest.mark.parametrize("role", ["agent", "coach", "leader"])
def test_only_admins_manage_tokens(client, auth, make_user, role, admin):
    auth.login(make_user(role))
    assert client.get("/admin/api-tokens").status_code == 403
    assert client.post("/admin/api-tokens", data={"name": "x", "user_id": admin.id}).status_code == 403
    assert client.post("/admin/api-tokens/1/revoke").status_code == 403
    assert b"/admin/api-tokens" not in client.get("/").data


def test_signed_out_is_sent_to_sign_in(client):
    assert client.get("/admin/api-tokens").status_code in (302, 303)


def test_admin_menu_links_the_page(client, auth, admin):
    auth.login(admin)
    assert b'href="/admin/api-tokens"' in client.get("/", follow_redirects=True).data


def test_page_is_csrf_protected_but_the_api_is_not(app, client, auth, admin, make_token):
    auth.login(admin)
    secret = make_token(admin)
    app.config["WTF_CSRF_ENABLED"] = True
    try:
        refused = client.post("/admin/api-tokens", data={"name": "x", "user_id": admin.id})
        api = client.post("/api/v1/cases", json={"cases": [{"external_id": "1", "status": "open",
                                                            "created_at": "2026-07-01T10:00"}]},
                          headers={"Authorization": f"Bearer {secret}"})
    finally:
        app.config["WTF_CSRF_ENABLED"] = False
    assert refused.status_code == 400
    assert api.status_code == 200


def test_page_query_count_does_not_grow_with_tokens(client, auth, admin, make_token, count_queries):
    auth.login(admin)
    counts = []
    for n in (1, 20):
        for i in range(n):
            make_token(admin, name=f"token {n}-{i}")
        with count_queries() as counter:
            assert client.get("/admin/api-tokens").status_code == 200
        counts.append(counter.count)
    assert counts[0] == counts[1]
