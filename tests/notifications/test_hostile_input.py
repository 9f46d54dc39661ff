"""Hostile values on every notifications route: never a 5xx, a clear 4xx for bad ones, nothing changed."""

from __future__ import annotations

import pytest

from app.extensions import db
from app.notifications import services as notes
from app.notifications.models import Notification

HOSTILE = ["²", "١", "1e30", "-1", "0", "x" * 10_000, "2147483648", "9223372036854775808", "\x00"]


@pytest.fixture
def signed_in(client, auth, make_user):
    user = make_user("agent")
    note, = notes.notify([user], "generic", url="/", params={"message": "hello"})
    db.session.commit()
    auth.login(user)
    return note


@pytest.mark.parametrize("value", HOSTILE)
def test_the_list_answers_a_bad_page_with_a_400(client, signed_in, value):
    response = client.get("/notifications/", query_string={"page": value})
    assert response.status_code == 400
    assert "Nothing was changed" in response.get_data(as_text=True) or "whole number" in response.get_data(
        as_text=True)


def test_good_pages_still_work(client, signed_in):
    assert client.get("/notifications/?page=1").status_code == 200
    assert client.get("/notifications/?page=2").status_code == 200


@pytest.mark.parametrize("ident", ["0", "-1", "2147483648", "9223372036854775808", "10" * 15, "²", "١"])
def test_bad_notification_ids_are_404(client, signed_in, ident):
    assert client.get(f"/notifications/{ident}/open").status_code == 404
    assert client.post(f"/notifications/{ident}/open").status_code == 404
    assert db.session.get(Notification, signed_in.id).read_at is None


@pytest.mark.parametrize("value", HOSTILE)
def test_posts_with_hostile_fields_change_nothing_they_should_not(client, signed_in, value):
    response = client.post("/notifications/read-all", data={"extra": value})
    assert response.status_code < 500
    if "\x00" in value:
        assert response.status_code == 400
        assert db.session.get(Notification, signed_in.id).read_at is None
