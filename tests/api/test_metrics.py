"""GET /api/v1/metrics: every metric from the one engine, the sample's figures, and 4xx for bad input."""

from __future__ import annotations

import json
from datetime import date, datetime

import pytest

from app.extensions import db
from app.org.services import get_organisation
from app.outcomes import metrics
from app.outcomes.models import Case, ImportStatus
from tests.fixtures.sample import EXPECTED, map_and_import

Q3 = {"from": "2026-07-01", "to": "2026-09-30"}


@pytest.fixture
def leader(make_user):
    return make_user("leader")


@pytest.fixture
def leader_api(api, leader):
    return api(leader)


def test_zendesk_sample_through_the_api_gives_the_expected_figures(leader, leader_api, make_segment, stages,
                                                                     make_pod):
    """The sample imported as tests/outcomes/test_sample.py does, then asked for through the API."""
    expected = json.loads(EXPECTED.read_text())
    imported = map_and_import(leader, make_segment, stages, make_pod, timezone=expected["timezone"])
    assert imported.status == ImportStatus.DONE.value, imported.message
    org = get_organisation()
    org.timezone = expected["timezone"]
    db.session.commit()

    start, end = expected["period"]
    response = leader_api.get("/metrics", **{"from": start, "to": end})
    assert response.status_code == 200, response.json
    body = response.json
    assert (body["from"], body["to"], body["timezone"]) == (start, end, "Europe/Madrid")
    figures = body["metrics"]
    assert set(figures) == set(metrics.METRICS)
    assert all(set(f) == {"value", "numerator", "denominator"} for f in figures.values())
    for code in ("volume", "resolved"):
        assert figures[code]["value"] == expected[code] == figures[code]["numerator"]
    for code in ("fcr", "handoff_rate", "reopen_rate", "csat", "resolution_p50", "first_reply_p50"):
        assert figures[code]["value"] == pytest.approx(expected[code]), code
    for code in ("fcr", "handoff_rate", "reopen_rate"):
        assert figures[code]["denominator"] == expected["resolved"]
        assert figures[code]["numerator"] == round(expected[code] * expected["resolved"])
    assert figures["csat"]["denominator"] == expected["csat_n"]
    assert figures["csat"]["numerator"] == round(expected["csat"] * expected["csat_n"])
    for code in ("fcr", "handoff_rate", "reopen_rate", "csat", "sla_attainment", "escalation_rate"):
        assert figures[code]["value"] is None or 0 <= figures[code]["value"] <= 1
    # The same engine, the same answer: every figure equals metrics.compute's.
    engine = metrics.compute(date.fromisoformat(start), date.fromisoformat(end), tz="Europe/Madrid")
    for code, figure in engine.items():
        assert figures[code] == {"value": figure.value, "numerator": figure.numerator,
                                 "denominator": figure.denominator}, code


def _add(external_id: str, created: datetime, resolved: datetime | None = None, **values) -> Case:
    fields = dict(source="api", external_id=external_id, status="solved" if resolved else "open",
                  created_at=created, first_resolved_at=resolved, replies=1, reopens=0, group_stations=1,
                  assignee_stations=1, escalated=False)
    fields.update(values)
    case = Case(**fields)
    db.session.add(case)
    return case


def test_empty_period_gives_every_code_with_zero_or_null(leader_api):
    body = leader_api.get("/metrics", **Q3).json
    assert body["metrics"]["volume"] == {"value": 0, "numerator": 0, "denominator": None}
    assert body["metrics"]["fcr"] == {"value": None, "numerator": 0, "denominator": 0}
    assert body["metrics"]["first_reply_p50"] == {"value": None, "numerator": None, "denominator": 0}
    assert set(body["metrics"]) == set(metrics.METRICS)
    assert body["scope"] == {"pod": None, "agent": None, "segment": None, "stage": None, "channel": None,
                             "request_type": None}


def test_days_are_inclusive_in_the_organisation_time_zone(leader_api):
    # 2026-09-30 23:30 in Madrid is 21:30 UTC: inside; 2026-06-30 23:30 Madrid (21:30 UTC) is outside.
    _add("in", datetime(2026, 9, 30, 21, 30))
    _add("out", datetime(2026, 6, 30, 21, 30))
    _add("edge", datetime(2026, 6, 30, 22, 0))  # 2026-07-01 00:00 in Madrid
    db.session.commit()
    assert leader_api.get("/metrics", **Q3).json["metrics"]["volume"]["value"] == 2
    org = get_organisation()
    org.timezone = "UTC"
    db.session.commit()
    body = leader_api.get("/metrics", **Q3).json
    assert body["timezone"] == "UTC"
    assert body["metrics"]["volume"]["value"] == 1  # in UTC, "edge" falls on 2026-06-30


def test_scope_filters_and_times_in_minutes(leader_api, make_user, make_pod):
    agent = make_user("agent")
    pod = make_pod()
    _add("1", datetime(2026, 8, 3, 10), datetime(2026, 8, 3, 12), pod_id=pod.id, assignee_id=agent.id,
         first_reply_minutes=30, resolution_minutes=120, channel="chat", csat_score=5)
    _add("2", datetime(2026, 8, 3, 10), datetime(2026, 8, 4, 10), pod_id=pod.id, first_reply_minutes=90,
         resolution_minutes=1440, channel="email", csat_score=2)
    _add("3", datetime(2026, 8, 3, 10), channel="email")
    db.session.commit()
    whole = leader_api.get("/metrics", **Q3).json["metrics"]
    assert whole["volume"]["value"] == 3 and whole["resolved"]["value"] == 2
    assert whole["csat"] == {"value": 0.5, "numerator": 1, "denominator": 2}
    assert whole["first_reply_p50"] == {"value": 60.0, "numerator": None, "denominator": 2}
    assert whole["backlog"]["value"] == 1
    by_pod = leader_api.get("/metrics", **Q3, pod=pod.id).json
    assert by_pod["metrics"]["volume"]["value"] == 2 and by_pod["scope"]["pod"] == pod.id
    mine = leader_api.get("/metrics", **Q3, agent=agent.id).json["metrics"]
    assert mine["resolved"]["value"] == 1 and mine["resolution_p50"]["value"] == 120.0
    assert leader_api.get("/metrics", **Q3, channel="email").json["metrics"]["volume"]["value"] == 2


@pytest.mark.parametrize("params, status, error", [
    ({}, 400, "missing_parameter"),
    ({"from": "2026-07-01"}, 400, "missing_parameter"),
    ({"from": "2026-07-01", "to": "2026-13-01"}, 400, "invalid_date"),
    ({"from": "01/07/2026", "to": "2026-09-30"}, 400, "invalid_date"),
    ({"from": "20260701", "to": "2026-09-30"}, 400, "invalid_date"),
    ({"from": "1066-10-14", "to": "2026-09-30"}, 400, "invalid_date"),
    ({"from": "2026-07-01", "to": "9999-12-31"}, 400, "invalid_date"),
    ({"from": "2026-09-30", "to": "2026-07-01"}, 400, "invalid_period"),
    ({"from": "2000-01-01", "to": "2026-07-01"}, 400, "invalid_period"),
    ({**Q3, "pod": "abc"}, 400, "invalid_parameter"),
    ({**Q3, "pod": "-1"}, 400, "invalid_parameter"),
    ({**Q3, "agent": "99999999999999999999"}, 400, "invalid_parameter"),
    ({**Q3, "channel": "pigeon"}, 400, "invalid_parameter"),
    ({**Q3, "pod_id": "1"}, 400, "invalid_parameter"),
    ({**Q3, "pod": "999"}, 404, "not_found"),
    ({**Q3, "agent": "999"}, 404, "not_found"),
    ({**Q3, "segment": "999"}, 404, "not_found"),
    ({**Q3, "stage": "999"}, 404, "not_found"),
])
def test_bad_input_is_a_json_4xx(leader_api, params, status, error):
    response = leader_api.get("/metrics", **params)
    assert response.status_code == status, response.json
    assert response.json["error"] == error
    assert response.json["message"]


def test_one_day_period(leader_api):
    _add("d", datetime(2026, 8, 3, 10))
    db.session.commit()
    assert leader_api.get("/metrics", **{"from": "2026-08-03", "to": "2026-08-03"}).json["metrics"]["volume"][
        "value"] == 1


def test_query_count_does_not_grow_with_the_data(leader_api, count_queries, make_pod):
    pod = make_pod()
    leader_api.get("/metrics", **Q3)  # records the token's use (once a minute)
    counts = []
    for n in (1, 300):
        for i in range(n):
            _add(f"{n}-{i}", datetime(2026, 8, 3, 10), datetime(2026, 8, 4, 10), pod_id=pod.id,
                 first_reply_minutes=i, resolution_minutes=i * 3, csat_score=1 + i % 5)
        db.session.commit()
        with count_queries() as counter:
            assert leader_api.get("/metrics", **Q3, pod=pod.id).status_code == 200
        counts.append(counter.count)
    assert counts[0] == counts[1] <= 12


def test_rate_limit_answers_429_json(app, leader_api):
    app.config["API_RATE_LIMIT"] = "2 per minute"
    try:
        assert leader_api.get("/metrics", **Q3).status_code == 200
        assert leader_api.get("/metrics", **Q3).status_code == 200
        response = leader_api.get("/metrics", **Q3)
    finally:
        app.config.pop("API_RATE_LIMIT")
    assert response.status_code == 429
    assert response.json["error"] == "too_many_requests"
    assert "Retry-After" in response.headers
