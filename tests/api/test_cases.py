"""POST /api/v1/cases: upsert in Podium's case schema, idempotent, with per-item errors and 4xx for bad bodies."""

from __future__ import annotations

import json
from datetime import datetime

import pytest
from sqlalchemy import func, select

from app.extensions import db
from app.org.services import get_organisation
from app.outcomes.models import Case


def case(external_id="Z-1", **values) -> dict:
    item = {"external_id": external_id, "status": "solved", "created_at": "2026-07-01T10:00:00+02:00",
            "first_reply_at": "2026-07-01T10:30:00+02:00", "solved_at": "2026-07-02T09:00:00+02:00",
            "channel": "email", "priority": "normal", "replies": 1, "reopens": 0, "group_stations": 1,
            "assignee_stations": 1, "csat_score": 5, "escalated": False, "customer_id": "C-77"}
    item.update(values)
    return item


@pytest.fixture
def leader_api(api, make_user):
    return api(make_user("leader"))


def _cases() -> dict[str, Case]:
    db.session.expire_all()
    return {c.external_id: c for c in db.session.scalars(select(Case))}


def test_upsert_creates_then_changes_nothing_then_updates(leader_api):
    batch = [case("A"), case("B", status="open", solved_at=None), case("C", csat_score=None)]
    first = leader_api.post("/cases", json={"cases": batch})
    assert first.status_code == 200, first.json
    assert first.json == {"received": 3, "created": 3, "updated": 0, "unchanged": 0, "failed": 0, "errors": []}
    stored = _cases()
    assert set(stored) == {"A", "B", "C"}
    assert stored["A"].source == "api"
    assert stored["A"].created_at == datetime(2026, 7, 1, 8, 0)  # +02:00 read as UTC
    assert stored["A"].first_reply_minutes == 30
    assert stored["A"].resolution_minutes == 23 * 60
    assert stored["A"].customer_ref and "C-77" not in stored["A"].customer_ref

    again = leader_api.post("/cases", json={"cases": batch})
    assert again.json == {"received": 3, "created": 0, "updated": 0, "unchanged": 3, "failed": 0, "errors": []}
    assert db.session.scalar(select(func.count()).select_from(Case)) == 3

    batch[1] = case("B", status="solved", reopens=1)
    newer = leader_api.post("/cases", json=batch)  # a bare list is accepted too
    assert newer.json["updated"] == 1 and newer.json["unchanged"] == 2 and newer.json["created"] == 0
    assert _cases()["B"].status == "solved" and _cases()["B"].reopens == 1
    assert db.session.scalar(select(func.count()).select_from(Case)) == 3


def test_times_without_offset_are_read_in_the_organisation_time_zone(leader_api):
    org = get_organisation()
    org.timezone = "America/New_York"
    db.session.commit()
    leader_api.post("/cases", json={"cases": [case("N", created_at="2026-07-01T10:00", first_reply_at=None,
                                                   solved_at=None, status="open")]})
    assert _cases()["N"].created_at == datetime(2026, 7, 1, 14, 0)


def test_numeric_ids_are_accepted(leader_api):
    response = leader_api.post("/cases", json={"cases": [case(12345, customer_id=987)]})
    assert response.json["created"] == 1
    assert "12345" in _cases()


def test_per_item_errors_keep_the_good_items(leader_api):
    items = [
        case("ok-1"),
        case("bad-status", status="resolved"),
        {"status": "open", "created_at": "2026-07-01T10:00"},
        case("bad-date", created_at="yesterday"),
        case("unknown-field", colour="blue"),
        "not an object",
        case("nested", segment={"name": "SMB"}),
        case("huge", replies=10**12),
        case("negative", reopens=-1),
        case("nul", assignee="Ana\x00"),
        case("csat", csat_score=9),
        case("channel", channel="pigeon"),
        case("ancient", created_at="0001-01-01T00:00:00+14:00"),
        case("bool", replies=True),
        case("ok-2"),
    ]
    response = leader_api.post("/cases", json={"cases": items})
    assert response.status_code == 200, response.json
    body = response.json
    assert body["received"] == len(items)
    assert body["created"] == 2 and body["failed"] == len(items) - 2
    errors = {e["index"]: e for e in body["errors"]}
    assert sorted(errors) == list(range(1, len(items) - 1))
    assert errors[1]["external_id"] == "bad-status" and "resolved" in errors[1]["message"]
    assert errors[2]["external_id"] is None and "external_id" in errors[2]["message"]
    assert "created_at" in errors[3]["message"]
    assert "colour" in errors[4]["message"]
    assert errors[5]["external_id"] is None
    assert all(e["message"] for e in body["errors"])
    assert set(_cases()) == {"ok-1", "ok-2"}


def test_duplicate_ids_in_one_request_keep_the_last(leader_api):
    response = leader_api.post("/cases", json={"cases": [case("D", replies=1), case("D", replies=4)]})
    assert response.status_code == 200
    assert response.json["created"] == 1
    assert _cases()["D"].replies == 4


@pytest.mark.parametrize("data, error", [
    ("not json at all", "invalid_json"),
    ("{\"cases\": [", "invalid_json"),
    ("[" * 100_000 + "]" * 100_000, "invalid_json"),
    ("NaN", "invalid_json"),
    ("{\"cases\": {}}", "invalid_body"),
    ("{\"cases\": []}", "invalid_body"),
    ("{\"items\": []}", "invalid_body"),
    ("{\"cases\": [], \"extra\": 1}", "invalid_body"),
    ("42", "invalid_body"),
    ("null", "invalid_body"),
])
def test_bad_bodies_are_400(leader_api, data, error):
    response = leader_api.post("/cases", data=data)
    assert response.status_code == 400
    assert response.json["error"] == error
    assert response.json["message"]


def test_invalid_utf8_is_400(leader_api):
    response = leader_api.post("/cases", data=b"\xff\xfe{]")
    assert response.status_code == 400
    assert response.json["error"] == "invalid_json"


def test_more_than_a_thousand_cases_is_413_and_nothing_is_stored(leader_api):
    items = [{"external_id": str(i), "status": "open", "created_at": "2026-07-01T10:00"} for i in range(1001)]
    response = leader_api.post("/cases", json={"cases": items})
    assert response.status_code == 413
    assert response.json["error"] == "too_many_cases"
    assert db.session.scalar(select(func.count()).select_from(Case)) == 0


def test_a_thousand_cases_cost_as_many_queries_as_ten(leader_api, count_queries):
    leader_api.post("/cases", json={"cases": [case("warm-up")]})  # records the token's use (once a minute)
    counts = []
    for size in (10, 1000):
        items = [case(f"K{size}-{i}", replies=i % 3) for i in range(size)]
        with count_queries() as counter:
            response = leader_api.post("/cases", json={"cases": items})
        assert response.status_code == 200
        assert response.json["created"] == size
        counts.append(counter.count)
    assert counts[0] == counts[1] <= 23  # includes recomputing the touched days' rollups and stamping them (a fixed few)


def test_a_body_over_the_size_limit_is_413_json(app, leader_api):
    response = leader_api.post("/cases", data=json.dumps([case("x", assignee="y" * 900)] * 4000))
    assert response.status_code == 413
    assert response.is_json and response.json["error"]


def test_wrong_method_and_unknown_path_answer_json(leader_api):
    wrong = leader_api.get("/cases")
    assert wrong.status_code == 405 and wrong.json["error"] == "method_not_allowed"
    assert wrong.headers["Allow"] == "POST"
    missing = leader_api.get("/nothing-here")
    assert missing.status_code == 404 and missing.json["error"] == "not_found"


def test_out_of_range_values_are_item_errors_and_the_rest_of_the_batch_is_stored(leader_api):
    bad = [
        case("float-huge", replies=1e30),
        case("int-huge", replies=2**63),
        case("just-over", reopens=2**31),
        case("due-far", due_at="9999-12-31"),
        case("created-far", created_at="9999-01-01T10:00:00Z"),
        case("year-one", created_at="0001-01-01T00:00:00"),
        case("surrogate", assignee="Ana \ud800"),
        case("surrogate-id", customer_id="C-\udfff"),
        case("nul-group", group="Soporte\x00"),
    ]
    items = [case("ok-1", replies=2**31 - 1)] + bad + [case("ok-2")]
    body = json.dumps({"cases": items})
    assert "1e+30" in body  # a JSON number, read as a float
    response = leader_api.post("/cases", data=body, content_type="application/json")
    assert response.status_code == 200, response.get_data(as_text=True)
    result = response.json
    assert (result["created"], result["failed"]) == (2, len(bad))
    failed = {error["external_id"]: error["message"] for error in result["errors"]}
    assert set(failed) == {item["external_id"] for item in bad}
    assert all(failed.values())
    assert "1970" in failed["due-far"] and "1970" in failed["year-one"]
    stored = _cases()
    assert set(stored) == {"ok-1", "ok-2"} and stored["ok-1"].replies == 2**31 - 1
