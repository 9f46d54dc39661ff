"""Starting, widening and closing pilots through the pages; who may do what; the pilot in its pod's quarterly
review and the leader's quarter view; the API; a bounded number of queries on the pilot page."""

from __future__ import annotations

import itertools
from datetime import date, datetime, timedelta

import pytest
from sqlalchemy import insert, select

from app.api.auth import create_token
from app.extensions import db
from app.org.models import Coverage, Pod
from app.outcomes.models import Case
from app.pilots import services
from app.pilots.models import Pilot, PilotStatus
from app.reviews import services as reviews
from app.timeutil import utcnow

_ids = itertools.count(1)


@pytest.fixture
def world(app, make_segment, stages, make_pod, make_user):
    segment = make_segment("Small business")
    agent, coach, leader = make_user("agent"), make_user("coach"), make_user("leader")
    pod = make_pod("SMB Care", coaches=[coach], members=[agent])
    other_agent = make_user("agent")
    return {"segment": segment, "stage": stages[3], "other_stage": stages[2], "pod": pod, "agent": agent,
            "coach": coach, "leader": leader, "other_agent": other_agent}


def _form(w, **extra):
    data = {"name": "One team for post-sale", "cells": [f"{w['segment'].id}-{w['stage'].id}"],
            "pod_id": str(w["pod"].id), "start_date": (utcnow().date() - timedelta(days=20)).isoformat(),
            "metrics": ["rework_rate", "handoff_rate"], "hypothesis": "Fewer handoffs if one team owns repairs."}
    data.update(extra)
    return data


def test_a_leader_starts_widens_and_adopts_a_pilot(world, client, auth):
    w = world
    auth.login(w["leader"])
    response = client.post("/pilots/new", data=_form(w))
    assert response.status_code == 302
    pilot = db.session.scalar(select(Pilot))
    assert pilot.pod_id == w["pod"].id and pilot.metric_codes == ["rework_rate", "handoff_rate"]
    assert services.all_cells(pilot) == [(w["segment"].id, w["stage"].id)]
    page = client.get(f"/pilots/{pilot.id}").get_data(as_text=True)
    assert "Not enough data yet" in page and "One team for post-sale" in page
    # widening: more cells from a later date, measured from their own start
    start = (utcnow().date() - timedelta(days=5)).isoformat()
    response = client.post(f"/pilots/{pilot.id}/widen", data={"cells": [f"{w['segment'].id}-{w['other_stage'].id}"],
                                                             "start_date": start})
    assert response.status_code == 302
    db.session.expire_all()
    pilot = services.load(pilot.id)
    assert [(p.number, p.start_date.isoformat(), len(p.cells)) for p in pilot.phases][1] == (2, start, 1)
    # the same cells again: refused with a message
    again = client.post(f"/pilots/{pilot.id}/widen", data={"cells": [f"{w['segment'].id}-{w['other_stage'].id}"],
                                                          "start_date": utcnow().date().isoformat()})
    assert again.status_code == 422
    assert client.post(f"/pilots/{pilot.id}/close", data={"outcome": "adopted"}).status_code == 302
    db.session.expire_all()
    assert db.session.get(Pilot, pilot.id).status == PilotStatus.ADOPTED.value
    assert client.post(f"/pilots/{pilot.id}/close", data={"outcome": "ended"}).status_code == 409


def test_a_pilot_can_create_its_pod_from_the_cell(world, client, auth):
    w = world
    auth.login(w["leader"])
    response = client.post("/pilots/new", data=_form(w, pod_id="", new_pod_name="SMB Post-sale"))
    assert response.status_code == 302
    pod = db.session.scalar(select(Pod).where(Pod.name == "SMB Post-sale"))
    assert pod is not None
    cover = db.session.scalar(select(Coverage).where(Coverage.pod_id == pod.id))
    assert (cover.segment_id, cover.stage_id) == (w["segment"].id, w["stage"].id)


@pytest.mark.parametrize(("change", "status"), [
    ({"name": ""}, 422), ({"cells": []}, 422), ({"metrics": ["volume"]}, 422), ({"metrics": []}, 422),
    ({"hypothesis": ""}, 422), ({"start_date": "2026-02-30"}, 422), ({"pod_id": "", "new_pod_name": ""}, 422),
    ({"cells": ["999999-1"]}, 404), ({"pod_id": "999999"}, 404), ({"start_date": "1990-01-01"}, 422),
])
def test_bad_input_is_refused_with_a_message(world, client, auth, change, status):
    auth.login(world["leader"])
    response = client.post("/pilots/new", data=_form(world, **change))
    assert response.status_code == status
    assert db.session.scalar(select(Pilot)) is None


def test_only_leaders_steer_and_members_see_their_pods_pilot(world, client, auth):
    w = world
    pilot = services.start_pilot(w["leader"], name="P", cells=[(w["segment"].id, w["stage"].id)],
                                 start=utcnow().date(), metric_codes=["rework_rate"], hypothesis="H",
                                 pod_id=w["pod"].id)
    db.session.commit()
    auth.login(w["coach"])
    assert client.post("/pilots/new", data=_form(w)).status_code == 403
    assert client.get(f"/pilots/{pilot.id}").status_code == 200
    assert client.post(f"/pilots/{pilot.id}/close", data={"outcome": "ended"}).status_code == 403
    auth.logout()
    auth.login(w["agent"])  # a member of the pilot's pod
    assert client.get(f"/pilots/{pilot.id}").status_code == 200
    assert client.get("/pilots").status_code == 403
    auth.logout()
    auth.login(w["other_agent"])
    assert client.get(f"/pilots/{pilot.id}").status_code == 403
    assert client.get("/pilots/999999").status_code == 404


def _cases(cell, start: date, days: int, per_day: int, handed_share: float):
    out = []
    for offset in range(days):
        moment = datetime.combine(start + timedelta(days=offset), datetime.min.time()) + timedelta(hours=11)
        for i in range(per_day):
            handed = (i / per_day) < handed_share
            out.append(dict(source="podium", external_id=f"p{next(_ids)}", status="solved", created_at=moment,
                            first_resolved_at=moment + timedelta(hours=1), resolution_minutes=60,
                            segment_id=cell[0], stage_id=cell[1], request_type="service_request", replies=1,
                            reopens=0, group_stations=2 if handed else 1, assignee_stations=1, escalated=False))
    return out


def test_pilot_page_costs_the_same_queries_as_data_grows(world, client, auth, count_queries):
    w = world
    start = utcnow().date() - timedelta(days=30)
    cell, other = (w["segment"].id, w["stage"].id), (w["segment"].id, w["other_stage"].id)
    pilot = services.start_pilot(w["leader"], name="P", cells=[cell], start=start,
                                 metric_codes=["rework_rate", "complaint_share", "csat"], hypothesis="H",
                                 pod_id=w["pod"].id)
    db.session.commit()
    auth.login(w["leader"])
    db.session.execute(insert(Case), _cases(cell, start - timedelta(days=30), 60, 2, 0.4))
    db.session.commit()
    url = f"/pilots/{pilot.id}"
    client.get(url)
    with count_queries() as small:
        assert client.get(url).status_code == 200
    db.session.execute(insert(Case), _cases(cell, start - timedelta(days=30), 60, 6, 0.4)
                       + _cases(other, start - timedelta(days=30), 60, 8, 0.2))
    db.session.commit()
    with count_queries() as large:
        page = client.get(url)
    assert large.count == small.count, (small.count, large.count)
    html = page.get_data(as_text=True)
    assert "Effect" in html and "<svg" in html and 'role="img"' in html


def test_pilots_show_in_the_quarterly_review_and_the_leader_view(world, client, auth):
    w = world
    today = utcnow().date()
    services.start_pilot(w["leader"], name="Quarter pilot", cells=[(w["segment"].id, w["stage"].id)],
                         start=today, metric_codes=["rework_rate"], hypothesis="H", pod_id=w["pod"].id)
    db.session.commit()
    quarter = (today.month - 1) // 3 + 1
    activity = reviews.activity(w["pod"], today.year, quarter)
    assert [p["name"] for p in activity["pilots"]["pilots"]] == ["Quarter pilot"]
    auth.login(w["leader"])
    page = client.get(f"/reviews/all?quarter={today.year}-Q{quarter}").get_data(as_text=True)
    assert "Quarter pilot" in page


def test_api_lists_ranks_and_measures_with_the_pages_permissions(world, client):
    w = world
    pilot = services.start_pilot(w["leader"], name="API pilot", cells=[(w["segment"].id, w["stage"].id)],
                                 start=utcnow().date() - timedelta(days=3), metric_codes=["rework_rate"],
                                 hypothesis="H", pod_id=w["pod"].id)
    secrets = {name: create_token(w[name], "t")[1] for name in ("leader", "coach", "agent", "other_agent")}
    db.session.commit()

    def get(who, path, **params):
        return client.get(f"/api/v1{path}", query_string=params,
                          headers={"Authorization": f"Bearer {secrets[who]}"})

    ranked = get("leader", "/opportunities", **{"from": "2026-08-01", "to": "2026-08-31"})
    assert ranked.status_code == 200
    body = ranked.get_json()
    assert {"ranked", "too_few_cases", "min_resolved"} <= set(body)
    cell = body["too_few_cases"][0]
    assert {"rework_rate", "complaint_share", "csat"} <= set(cell["metrics"])
    assert set(cell["metrics"]["rework_rate"]) == {"value", "numerator", "denominator"}
    assert get("coach", "/opportunities", **{"from": "2026-08-01", "to": "2026-08-31"}).status_code == 200
    assert get("agent", "/opportunities", **{"from": "2026-08-01", "to": "2026-08-31"}).status_code == 403
    assert get("leader", "/opportunities", **{"from": "2026-08-31", "to": "2026-08-01"}).status_code == 400
    assert get("leader", "/opportunities", to="2026-08-01").status_code == 400
    assert get("leader", "/pilots").get_json()["pilots"][0]["name"] == "API pilot"
    assert get("agent", "/pilots").status_code == 403
    detail = get("agent", f"/pilots/{pilot.id}")  # a member of the pilot's pod
    assert detail.status_code == 200
    effect = detail.get_json()["phases"][0]["effects"][0]
    assert effect["metric"] == "rework_rate" and effect["enough_data"] is False and effect["interval_90"] is None
    assert get("other_agent", f"/pilots/{pilot.id}").status_code == 403
    assert get("leader", "/pilots/999999").status_code == 404
    assert client.get("/api/v1/pilots").status_code == 401


def test_admin_marks_complaints_and_stage_expectations(world, client, auth, make_user, stages):
    auth.login(make_user("admin"))
    assert client.get("/pilots/settings").status_code == 200
    form = {"complaints": ["complaint", "claim"]}
    for stage in stages:
        form[f"stage-{stage.id}"] = ["information", "warranty"]
    assert client.post("/pilots/settings", data=form).status_code == 302
    from app.outcomes import request_types as RT

    assert set(RT.complaint_codes()) == {"complaint", "claim"}
    assert RT.expected_by_stage()[stages[0].id] == (frozenset({"information", "warranty"}), True)
    form[f"stage-{stages[0].id}"] = []
    assert client.post("/pilots/settings", data=form).status_code == 422
    auth.logout()
    auth.login(world["leader"])
    assert client.get("/pilots/settings").status_code == 403
