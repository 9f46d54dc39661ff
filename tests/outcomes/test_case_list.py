"""Drill-down: every figure's case list counts what the engine counted, pages by keyset, obeys the figure's
permissions and exports safe CSV."""

from __future__ import annotations

import csv
import io
import random
import re
from datetime import date, datetime, timedelta

import pytest
from sqlalchemy import insert

from app.csvexport import safe_cell
from app.extensions import db
from app.outcomes import case_list as CL
from app.outcomes import metrics
from app.outcomes.metrics import Scope
from app.outcomes.models import Case

PERIOD = (date(2026, 8, 1), date(2026, 8, 31))


@pytest.fixture
def world(make_pod, make_user):
    coach, member, agent, outsider, leader = (make_user("coach"), make_user("agent"), make_user("agent"),
                                              make_user("agent"), make_user("leader"))
    pod = make_pod("North", coaches=[coach], members=[member, agent])
    other = make_pod("South", members=[outsider])
    rng = random.Random(3)
    rows = []
    for n in range(260):
        created = datetime(2026, 7, 25) + timedelta(minutes=rng.randrange(45 * 1440))
        resolved = created + timedelta(minutes=rng.choice((10, 300, 3000))) if rng.random() < 0.8 else None
        rows.append(dict(
            source="podium", external_id=rng.choice(("=HYPERLINK(\"x\")", "+1", "-2", "@SUM(A1)", "ok")) + f"-{n}",
            status="solved" if resolved else "open", pod_id=rng.choice((pod.id, pod.id, other.id, None)),
            assignee_id=rng.choice((agent.id, member.id, None)), created_at=created, first_resolved_at=resolved,
            first_reply_minutes=rng.choice((None, 5, 60)),
            resolution_minutes=int((resolved - created).total_seconds() // 60) if resolved else None,
            replies=rng.choice((0, 1, 2)), reopens=rng.choice((0, 0, 1)), group_stations=rng.choice((1, 2)),
            assignee_stations=rng.choice((1, 1, 2)), csat_score=rng.choice((None, 2, 5)),
            escalated=rng.random() < 0.1, channel=rng.choice(("email", "phone")),
            due_at=created + timedelta(hours=rng.choice((1, 24))) if rng.random() < 0.5 else None,
            closed_at=resolved + timedelta(days=2) if resolved and rng.random() < 0.5 else None,
        ))
    db.session.execute(insert(Case), rows)
    db.session.commit()
    return {"pod": pod, "other": other, "coach": coach, "member": member, "agent": agent, "outsider": outsider,
            "leader": leader}


def _count(code, scope, part):
    return CL.count(CL.Request(code, part, scope, *PERIOD))


def test_each_list_counts_what_the_figure_counts(world):
    for scope in (Scope(), Scope(pod_id=world["pod"].id), Scope(pod_id=world["pod"].id, agent_id=world["agent"].id),
                  Scope(channel="email")):
        figures = metrics.compute(*PERIOD, scope)
        for code, figure in figures.items():
            if not metrics.drillable(code):
                continue
            expected_all = figure.numerator if figure.denominator is None else figure.denominator
            assert _count(code, scope, "all") == expected_all, (code, scope)
            if metrics.drillable(code, "hit") and code != "handoffs_per_case":
                assert _count(code, scope, "hit") == figure.numerator, (code, scope)
                assert _count(code, scope, "miss") == figure.denominator - figure.numerator, (code, scope)
    # FCR's misses are "resolved, not first contact".
    misses = metrics.case_filter("fcr", Scope(), *PERIOD, part="miss")
    assert db.session.query(Case).filter(*misses, Case.first_resolved_at.is_(None)).count() == 0


def test_paging_is_stable_and_covers_every_case_once(world, client, auth):
    auth.login(world["leader"])
    wanted = CL.Request("volume", "all", Scope(), *PERIOD, sort="resolved", descending=False)
    seen, cursor = [], None
    while True:
        rows, cursor = CL.page(wanted, cursor, size=17)
        seen.extend(row[0] for row in rows)
        if cursor is None:
            break
    assert len(seen) == len(set(seen)) == _count("volume", Scope(), "all")
    # Through the page: the next link leads on, with no case twice.
    url = metrics_url = None
    with client.application.test_request_context():
        metrics_url = metrics.drilldown_url("volume", Scope(), *PERIOD)
    url, ids = metrics_url, []
    while url:
        page = client.get(url)
        assert page.status_code == 200
        text = page.get_data(as_text=True)
        ids.extend(re.findall(r'data-case="(\d+)"', text))
        found = re.search(r'<a href="([^"]+)" rel="next">', text)
        url = found.group(1).replace("&amp;", "&") if found else None
    assert len(ids) == len(set(ids)) == len(seen)


def test_a_page_costs_a_few_queries(world, client, auth, count_queries):
    auth.login(world["coach"])
    with client.application.test_request_context():
        url = metrics.drilldown_url("fcr", Scope(pod_id=world["pod"].id), *PERIOD, part="miss")
    client.get(url)
    with count_queries() as counter:
        assert client.get(url).status_code == 200
    assert counter.count <= 12


def test_the_figures_permissions_apply(world, client, auth):
    with client.application.test_request_context():
        pod_url = metrics.drilldown_url("csat", Scope(pod_id=world["pod"].id), *PERIOD)
        org_url = metrics.drilldown_url("csat", Scope(), *PERIOD)
        agent_url = metrics.drilldown_url("fcr", Scope(agent_id=world["agent"].id), *PERIOD)
    auth.login(world["member"])
    assert client.get(pod_url).status_code == 200
    assert client.get(org_url).status_code == 403
    assert client.get(agent_url).status_code == 403
    auth.logout()
    auth.login(world["agent"])
    assert client.get(agent_url).status_code == 200
    auth.logout()
    auth.login(world["outsider"])
    assert client.get(pod_url).status_code == 403
    assert client.get(pod_url + "&format=csv").status_code == 403
    auth.logout()
    auth.login(world["coach"])
    assert client.get(agent_url).status_code == 200
    assert client.get(org_url).status_code == 403
    auth.logout()
    auth.login(world["leader"])
    assert client.get(org_url).status_code == 200


def test_bad_input_is_a_400(world, client, auth):
    auth.login(world["leader"])
    for query in ("metric=autonomy_rate&part=all&start=2026-08-01&end=2026-08-31",
                  "metric=volume&part=hit&start=2026-08-01&end=2026-08-31",
                  "metric=fcr&start=2026-08-31&end=2026-08-01", "metric=fcr&start=yesterday&end=2026-08-01",
                  "metric=fcr&start=2026-08-01&end=2026-08-31&pod_id=abc",
                  "metric=fcr&start=2026-08-01&end=2026-08-31&sort=name",
                  "metric=fcr&start=2026-08-01&end=2026-08-31&after=garbage~x"):
        assert client.get(f"/outcomes/cases?{query}").status_code == 400, query


def test_csv_has_every_case_and_no_formulas(world, client, auth):
    auth.login(world["coach"])
    with client.application.test_request_context():
        url = metrics.drilldown_url("resolved", Scope(pod_id=world["pod"].id), *PERIOD)
    response = client.get(url + "&format=csv")
    assert response.status_code == 200 and response.mimetype == "text/csv"
    rows = list(csv.reader(io.StringIO(response.data.decode("utf-8-sig"))))
    assert rows[0] == list(CL.HEADER)
    assert len(rows) - 1 == _count("resolved", Scope(pod_id=world["pod"].id), "all")
    for row in rows[1:]:
        for cell in row:
            assert not cell.startswith(("=", "+", "-", "@")), cell
    assert any(row[1].startswith("'=HYPERLINK") for row in rows[1:])
    assert safe_cell("-2") == "'-2" and safe_cell("ok") == "ok" and safe_cell(None) == ""


def test_dashboard_figures_link_to_their_cases(world, client, auth):
    auth.login(world["coach"])
    page = client.get(f"/outcomes/pods/{world['pod'].id}?period=custom&from=2026-08-01&to=2026-08-31")
    text = page.get_data(as_text=True).replace("&amp;", "&")
    with client.application.test_request_context():
        for code, part in (("fcr", "all"), ("fcr", "hit"), ("csat", "all")):
            assert metrics.drilldown_url(code, Scope(pod_id=world["pod"].id), *PERIOD, part=part) in text
        assert metrics.drilldown_url("fcr", Scope(pod_id=world["pod"].id, agent_id=world["agent"].id),
                                     *PERIOD) in text
        assert metrics.drilldown_url("volume", Scope(pod_id=world["pod"].id, channel="email"), *PERIOD) in text
