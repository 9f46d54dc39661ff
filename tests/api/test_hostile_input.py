"""Hostile values for the API and the token page: never a 5xx, a 4xx with a JSON error for the API, nothing saved."""

import pytest
from sqlalchemy import func, select

from app.api.models import ApiToken
from app.extensions import db

PERIOD = {"from": "2026-07-01", "to": "2026-09-30"}
HOSTILE = ["²", "١", "0", "-1", str(2**31), str(2**63), "1e30", "x" * 10_000]


@pytest.fixture
def leader_api(api, make_user):
    return api(make_user("leader"))


@pytest.mark.parametrize("name", ["pod", "agent", "segment", "stage", "from", "to", "channel", "request_type"])
@pytest.mark.parametrize("value", HOSTILE)
def test_hostile_metric_parameters_are_400_json(leader_api, name, value):
    response = leader_api.get("/metrics", **{**PERIOD, name: value})
    assert response.status_code in (400, 404), (name, value[:10], response.status_code)
    assert response.is_json and response.json["error"] and response.json["message"]


def test_superscript_pod_is_a_400_json(leader_api):
    response = leader_api.get("/metrics", **PERIOD, pod="²")
    assert response.status_code == 400
    assert response.json["error"] == "invalid_parameter"


@pytest.mark.parametrize("content_type", ["text/plain", "application/x-www-form-urlencoded", "multipart/form-data",
                                          "application/xml", ""])
def test_cases_need_a_json_content_type(leader_api, content_type):
    body = '{"cases": [{"external_id": "A-1", "status": "open", "created_at": "2026-07-01T10:00"}]}'
    response = leader_api.post("/cases", data=body, content_type=content_type)
    assert response.status_code == 415
    assert response.json["error"] == "unsupported_media_type"
    from app.outcomes.models import Case

    assert db.session.scalar(select(func.count()).select_from(Case)) == 0


def test_cases_with_json_content_type_are_accepted(leader_api):
    body = '{"cases": [{"external_id": "A-1", "status": "open", "created_at": "2026-07-01T10:00"}]}'
    assert leader_api.post("/cases", data=body, content_type="application/json; charset=utf-8").status_code == 200


@pytest.mark.parametrize("value", HOSTILE + ["nul\x00"])
@pytest.mark.parametrize("field", ["user_id", "name"])
def test_hostile_token_form_values_create_nothing(client, auth, make_user, field, value):
    admin = make_user("admin")
    auth.login(admin)
    data = {"name": "Sync", "user_id": str(admin.id), field: value}
    response = client.post("/admin/api-tokens", data=data)
    if field == "user_id" or len(value) > 80 or "\x00" in value:
        assert 400 <= response.status_code < 500, (field, value[:10], response.status_code)
        assert db.session.scalar(select(func.count()).select_from(ApiToken)) == 0
    else:
        assert response.status_code < 500


def test_arabic_digit_one_does_not_pick_user_one(client, auth, make_user):
    first = make_user("admin")  # id 1 on a fresh database
    auth.login(first)
    response = client.post("/admin/api-tokens", data={"name": "Sync", "user_id": "١"})
    assert response.status_code == 400
    assert db.session.scalar(select(func.count()).select_from(ApiToken)) == 0


def test_token_page_has_no_inline_handlers(client, auth, make_user):
    admin = make_user("admin")
    auth.login(admin)
    page = client.post("/admin/api-tokens", data={"name": "Sync", "user_id": admin.id}).get_data(as_text=True)
    assert "data-select-on-focus" in page
    assert " onfocus=" not in page and " onclick=" not in page
