"""Hostile values at sign-in and on the profile: never a 5xx, a 4xx for the bad ones, nothing saved."""

import pytest

from app.extensions import db

HOSTILE = ["²", "١", str(2**63), "1e30", "x" * 10_000, "nul\x00byte"]


@pytest.mark.parametrize("value", HOSTILE)
@pytest.mark.parametrize("field", ["email", "password", "remember", "next"])
def test_hostile_sign_in_values(client, make_user, field, value):
    user = make_user("agent")
    data = {"email": user.email, "password": "wrong-password", field: value}
    response = client.post("/login", data=data)
    assert 400 <= response.status_code < 500, (field, value[:10], response.status_code)
    assert client.get("/", query_string={"next": value}).status_code < 500


@pytest.mark.parametrize("value", HOSTILE)
@pytest.mark.parametrize("field", ["display_name", "locale", "timezone"])
def test_hostile_profile_values_save_nothing(client, auth, make_user, field, value):
    user = make_user("agent", name="Original Name")
    auth.login(user)
    data = {"display_name": "Ok", "locale": "es", "timezone": "Europe/Madrid", field: value}
    response = client.post("/profile", data=data)
    if field == "display_name" and len(value) <= 120 and "\x00" not in value:
        assert response.status_code == 302  # "²" is a fine name
        return
    assert 400 <= response.status_code < 500, (field, value[:10], response.status_code)
    db.session.refresh(user)
    assert user.display_name == "Original Name" and user.locale is None  # a new user follows the browser until they choose


@pytest.mark.parametrize("value", HOSTILE)
def test_hostile_password_change_values(client, auth, make_user, value):
    user = make_user("agent")
    auth.login(user)
    response = client.post("/profile/password", data={
        "pw-current_password": value, "pw-new_password": value, "pw-confirm": value})
    assert 400 <= response.status_code < 500
    assert client.get("/login", query_string={"next": value}).status_code < 500
