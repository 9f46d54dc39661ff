"""Pod targets: the page and the service, who may set them, what values they take, the demo step."""

from __future__ import annotations

from datetime import date, datetime, timedelta

import pytest
from sqlalchemy import func, select

from app.extensions import db
from app.outcomes import targets as T
from app.outcomes.models import Case, PodTarget
from app.timeutil import utcnow


@pytest.fixture
def world(make_user, make_pod):
    people = {role: make_user(role) for role in ("agent", "coach", "leader", "admin")}
    outsider_coach = make_user("coach")
    pod = make_pod("Residential Care", coaches=[people["coach"]], members=[people["agent"]])
    other = make_pod("SMB Growth", coaches=[outsider_coach])
    return {"people": people, "pod": pod, "other": other, "outsider_coach": outsider_coach}


def _targets(pod, year=2026, quarter=4) -> dict[str, float]:
    return T.targets_for([pod.id], year, quarter)[pod.id]


def _url(pod, quarter="2026-Q4"):
    return f"/outcomes/pods/{pod.id}/targets?quarter={quarter}"


def test_coach_sets_targets_with_rates_in_percent(client, auth, world):
    pod = world["pod"]
    auth.login(world["people"]["coach"])
    page = client.get(_url(pod)).get_data(as_text=True)
    assert 'name="fcr"' in page and 'name="first_reply_p50"' in page
    assert 'name="volume"' not in page  # a count with no better direction takes no target
    response = client.post(_url(pod), data={"fcr": "82.5", "csat": "90,5", "first_reply_p50": "45",
                                            "handoffs_per_case": "0.2"})
    assert response.status_code == 302 and response.headers["Location"].endswith(_url(pod))
    assert _targets(pod) == pytest.approx({"fcr": 0.825, "csat": 0.905, "first_reply_p50": 45.0,
                                           "handoffs_per_case": 0.2})
    row = db.session.scalar(select(PodTarget).where(PodTarget.metric == "fcr"))
    assert row.set_by_id == world["people"]["coach"].id
    page = client.get(_url(pod)).get_data(as_text=True)
    assert 'value="82.5"' in page and 'value="45"' in page and "saved" in page


def test_saving_again_replaces_and_blank_clears(client, auth, world):
    pod = world["pod"]
    auth.login(world["people"]["leader"])
    client.post(_url(pod), data={"fcr": "80", "sla_attainment": "95"})
    client.post(_url(pod), data={"fcr": "85", "sla_attainment": ""})
    assert _targets(pod) == pytest.approx({"fcr": 0.85})
    assert db.session.scalar(select(func.count()).select_from(PodTarget)) == 1
    assert _targets(pod, 2026, 3) == {}  # another quarter is untouched


@pytest.mark.parametrize(("data", "message"), [
    ({"fcr": "150"}, "Enter a percentage between 0 and 100."),
    ({"fcr": "-1"}, "Enter a percentage between 0 and 100."),
    ({"first_reply_p50": "-5"}, "Enter a number of minutes of 0 or more"),
    ({"first_reply_p50": "9999999"}, "Enter a number of minutes of 0 or more"),
    ({"csat": "lots"}, "Enter a number."),
    ({"csat": "NaN"}, "Enter a number."),
    ({"csat": "inf"}, "Enter a number."),
    ({"backlog": "-3"}, "Enter a number of 0 or more."),
])
def test_bad_targets_are_refused_and_nothing_is_lost(client, auth, world, data, message):
    pod = world["pod"]
    auth.login(world["people"]["coach"])
    client.post(_url(pod), data={"fcr": "80", "csat": "90"})
    response = client.post(_url(pod), data={"fcr": "81", "csat": "91", "sla_attainment": "97", **data})
    assert response.status_code == 400
    page = response.get_data(as_text=True)
    assert message in page and "nothing was saved" in page
    assert _targets(pod) == pytest.approx({"fcr": 0.8, "csat": 0.9})


def test_bad_quarter_is_a_message(client, auth, world):
    auth.login(world["people"]["coach"])
    for quarter in ("2026-Q5", "26-Q1", "nonsense", "1999-Q1"):
        response = client.get(_url(world["pod"], quarter))
        assert response.status_code == 302, quarter
        assert "Choose a quarter written as YYYY-Qn" in client.get(response.headers["Location"]).get_data(
            as_text=True)
    response = client.post(_url(world["pod"], "2026-Q9"), data={"fcr": "80"})
    assert response.status_code == 303
    assert db.session.scalar(select(func.count()).select_from(PodTarget)) == 0


@pytest.mark.parametrize("who", ["agent", "outsider_coach"])
def test_only_the_pods_coach_or_a_leader_sets_targets(client, auth, world, who):
    person = world["people"].get(who) or world[who]
    auth.login(person)
    assert client.get(_url(world["pod"])).status_code == 403
    assert client.post(_url(world["pod"]), data={"fcr": "99"}).status_code == 403
    assert db.session.scalar(select(func.count()).select_from(PodTarget)) == 0
    with pytest.raises(T.TargetError) as refused:
        T.set_pod_targets(person, world["pod"], 2026, 4, {"fcr": 0.9})
    assert refused.value.code == "forbidden" and refused.value.status == 403


def test_targets_page_is_per_quarter(client, auth, world):
    pod = world["pod"]
    auth.login(world["people"]["coach"])
    client.post(_url(pod, "2026-Q3"), data={"fcr": "70"})
    assert _targets(pod, 2026, 3) == pytest.approx({"fcr": 0.7}) and _targets(pod) == {}
    page = client.get(_url(pod, "2026-Q3")).get_data(as_text=True)
    assert 'value="70"' in page and "Q3 2026" in page


def test_service_refuses_unknown_metrics_and_out_of_range_values(world):
    pod, leader = world["pod"], world["people"]["leader"]
    for values, code in (({"volume": 10}, "metric"), ({"nonsense": 1}, "metric"), ({"fcr": 1.5}, "range"),
                         ({"fcr": float("nan")}, "range"), ({"resolution_p90": -1}, "range")):
        with pytest.raises(T.TargetError) as refused:
            T.set_pod_targets(leader, pod, 2026, 4, values)
        assert refused.value.code == code
    with pytest.raises(T.TargetError) as refused:
        T.set_pod_targets(leader, pod, 2026, 5, {"fcr": 0.5})
    assert refused.value.code == "quarter"


def test_quarter_helpers():
    assert T.quarter_of(date(2026, 11, 24)) == (2026, 4)
    assert T.quarter_bounds(2026, 1) == (date(2026, 1, 1), date(2026, 3, 31))
    assert T.quarter_bounds(2026, 4) == (date(2026, 10, 1), date(2026, 12, 31))
    assert T.shift_quarter(2026, 1, -1) == (2025, 4) and T.shift_quarter(2026, 4, 1) == (2027, 1)
    assert T.parse_quarter(" 2026-q2 ") == (2026, 2)


def test_demo_step_sets_targets_for_this_and_last_quarter(world):
    from app.outcomes.demo_targets import load_demo_targets

    now = utcnow()
    start = now - timedelta(days=200)
    for n in range(40):
        created = start + timedelta(days=n * 5)
        db.session.add(Case(source="podium", external_id=f"D-{n}", status="solved", pod_id=world["pod"].id,
                            created_at=created, first_resolved_at=created + timedelta(hours=3),
                            resolution_minutes=180, first_reply_minutes=20, replies=1 + n % 3, csat_score=5))
    db.session.commit()
    load_demo_targets(datetime(now.year, now.month, now.day, 12))
    db.session.commit()
    current = T.quarter_of(now.date())
    previous = T.shift_quarter(*current, -1)
    for pod in (world["pod"], world["other"]):
        for year, quarter in (current, previous):
            values = _targets(pod, year, quarter)
            assert set(values) >= {"fcr", "handoff_rate", "csat", "sla_attainment", "first_reply_p50"}
            assert all(value >= 0 for value in values.values())
            assert all(values[code] <= 1 for code in ("fcr", "handoff_rate", "csat", "sla_attainment"))
