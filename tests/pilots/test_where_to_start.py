"""Where to start: the ranking's figures are the engine's, the order follows METRICS.md, complaint flags and
stage expectations change what is counted, and the page costs a fixed number of queries."""

from __future__ import annotations

import itertools
from datetime import date, datetime, timedelta

import pytest
from sqlalchemy import func, insert, select

from app.extensions import db
from app.org import services as org
from app.org.models import LifecycleStage
from app.outcomes import metrics, opportunities
from app.outcomes import request_types as RT
from app.outcomes.models import Case

START, END = date(2026, 8, 1), date(2026, 8, 31)
_ids = itertools.count(1)


def rows(segment_id, stage_id, n, *, handed=0, reopened=0, escalated=0, request_type="service_request",
         day=date(2026, 8, 10), pod_id=None, unresolved=0):
    """n cases created and resolved on `day`: the first `handed` handed off, the next `reopened` reopened, the
    next `escalated` escalated; then `unresolved` open cases."""
    out = []
    created = datetime.combine(day, datetime.min.time()) + timedelta(hours=10)
    for i in range(n + unresolved):
        resolved = created + timedelta(hours=2) if i < n else None
        out.append(dict(
            source="podium", external_id=f"w{next(_ids)}", status="solved" if resolved else "open",
            created_at=created, first_resolved_at=resolved, resolution_minutes=120 if resolved else None,
            segment_id=segment_id, stage_id=stage_id, pod_id=pod_id, request_type=request_type,
            replies=1, reopens=1 if handed <= i < handed + reopened else 0,
            group_stations=2 if i < handed else 1, assignee_stations=1,
            escalated=handed + reopened <= i < handed + reopened + escalated,
            csat_score=5 if i % 3 == 0 else None, due_at=created + timedelta(hours=4)))
    return out


@pytest.fixture
def cells(app, make_segment, stages, make_pod, make_user):
    small, big = make_segment("Small business"), make_segment("Residential")
    pre, post = stages[0], stages[3]
    pod = make_pod("Care pod")
    org.assign_coverage(make_user("leader"), pod, big, post, now=datetime(2026, 1, 1))
    db.session.commit()
    return {"small": small, "big": big, "pre": pre, "post": post, "pod": pod}


def _load(*batches):
    db.session.execute(insert(Case), [row for batch in batches for row in batch])
    db.session.commit()


def test_ranking_figures_equal_the_engine_for_each_cell(cells):
    c = cells
    _load(rows(c["small"].id, c["post"].id, 60, handed=20, reopened=5, escalated=2, request_type="complaint"),
          rows(c["big"].id, c["post"].id, 200, handed=30, reopened=10, escalated=4, unresolved=7,
               pod_id=c["pod"].id),
          rows(c["big"].id, c["pre"].id, 40, handed=2, request_type="information"),
          rows(c["small"].id, c["pre"].id, 10, handed=9))
    ranking = opportunities.rank(START, END)
    assert ranking.ranked and ranking.too_few
    for cell in (*ranking.ranked, *ranking.too_few):
        engine = metrics.compute(START, END, metrics.Scope(segment_id=cell.segment_id, stage_id=cell.stage_id),
                                 codes=opportunities.CODES)
        assert cell.figures == engine, (cell.segment, cell.stage)
    # the big cell has the most rework cases (44) even though the small one has the higher rate (27/60)
    top, second = ranking.ranked[:2]
    assert (top.segment_id, top.stage_id, top.rework) == (c["big"].id, c["post"].id, 44)
    assert (second.segment_id, second.stage_id, second.rework) == (c["small"].id, c["post"].id, 27)
    assert top.figures["rework_rate"] == metrics.Figure("rework_rate", 44 / 200, 44, 200)
    assert top.pods == [(c["pod"].id, "Care pod")] and second.gap
    # fewer than 30 resolved: listed apart, however bad
    assert [(x.segment_id, x.stage_id) for x in ranking.too_few if x.resolved] == [(c["small"].id, c["pre"].id)]
    assert second.figures["complaint_share"].value == 1.0


def test_ties_are_broken_by_rework_rate_then_complaint_share(cells):
    c = cells
    _load(rows(c["small"].id, c["post"].id, 100, handed=20, request_type="complaint"),  # 20 of 100
          rows(c["big"].id, c["post"].id, 50, handed=20),  # 20 of 50: same count, higher rate
          rows(c["big"].id, c["pre"].id, 100, handed=20, request_type="information"))  # 20 of 100, no complaints
    ranked = opportunities.rank(START, END).ranked
    keys = [(x.segment_id, x.stage_id) for x in ranked[:3]]
    assert keys == [(c["big"].id, c["post"].id), (c["small"].id, c["post"].id), (c["big"].id, c["pre"].id)]


def test_complaints_default_from_names_and_follow_the_admin(cells, make_user):
    assert set(RT.default_complaint_codes()) == {"complaint", "report"}
    c = cells
    _load(rows(c["small"].id, c["post"].id, 30, request_type="complaint"),
          rows(c["small"].id, c["post"].id, 10, request_type="claim"))
    scope = metrics.Scope(segment_id=c["small"].id, stage_id=c["post"].id)
    assert metrics.compute(START, END, scope, codes=["complaint_share"])["complaint_share"].numerator == 30
    RT.set_complaints(make_user("admin"), {"complaint", "claim"})
    db.session.commit()
    figure = metrics.compute(START, END, scope, codes=["complaint_share"])["complaint_share"]
    assert (figure.numerator, figure.denominator) == (40, 40)
    # the drill-down lists exactly the cases counted
    hit = metrics.case_filter("complaint_share", scope, START, END, "hit")
    assert db.session.scalar(select(func.count()).select_from(Case).where(*hit)) == 40


def test_rework_drills_down_to_exactly_its_cases(cells):
    c = cells
    _load(rows(c["big"].id, c["post"].id, 50, handed=5, reopened=4, escalated=3))
    scope = metrics.Scope(segment_id=c["big"].id, stage_id=c["post"].id)
    figure = metrics.compute(START, END, scope, codes=["rework_rate"])["rework_rate"]
    assert (figure.numerator, figure.denominator) == (12, 50)
    for part, expected in (("hit", 12), ("miss", 38), ("all", 50)):
        clauses = metrics.case_filter("rework_rate", scope, START, END, part)
        assert db.session.scalar(select(func.count()).select_from(Case).where(*clauses)) == expected


def test_unexpected_request_types_follow_the_stage(cells):
    c = cells
    _load(rows(c["big"].id, c["pre"].id, 40, request_type="information"),
          rows(c["big"].id, c["pre"].id, 6, request_type="warranty"),  # warranty before the sale: unexpected
          rows(c["big"].id, c["post"].id, 35, request_type="warranty"))
    cell = opportunities.rank(START, END).find(c["big"].id, c["pre"].id)
    assert cell.unexpected == 6
    assert opportunities.rank(START, END).find(c["big"].id, c["post"].id).unexpected == 0
    RT.set_expected(c["pre"].id, {"information", "warranty"})
    db.session.commit()
    assert opportunities.rank(START, END).find(c["big"].id, c["pre"].id).unexpected == 0
    expected = RT.expected_by_stage()
    assert expected[c["pre"].id] == (frozenset({"information", "warranty"}), True)
    stage = db.session.get(LifecycleStage, c["post"].id)
    assert expected[stage.id][1] is False


def test_where_to_start_page_costs_the_same_queries_as_data_grows(cells, client, auth, make_user, count_queries):
    c = cells
    leader = make_user("leader")
    auth.login(leader)
    _load(rows(c["big"].id, c["post"].id, 40, handed=10))
    url = f"/pilots/where-to-start?from={START}&to={END}"
    client.get(url)
    with count_queries() as small:
        assert client.get(url).status_code == 200
    _load(*(rows(c["small"].id, stage.id, 60, handed=7, day=date(2026, 8, 3 + i))
            for i, stage in enumerate((c["pre"], c["post"]))),
          rows(c["big"].id, c["pre"].id, 400, handed=70))
    with count_queries() as large:
        page = client.get(url)
    assert page.status_code == 200
    assert large.count == small.count, (small.count, large.count)
    html = page.get_data(as_text=True)
    assert "No pod: a gap" in html and "changed hands" in html


def test_where_to_start_is_for_leaders_and_coaches(cells, client, auth, make_user):
    auth.login(make_user("agent"))
    assert client.get("/pilots/where-to-start").status_code == 403
    auth.logout()
    auth.login(make_user("coach"))
    page = client.get("/pilots/where-to-start")
    assert page.status_code == 200
    assert "Start a pilot" not in page.get_data(as_text=True)  # coaches read it
    assert client.get("/pilots/where-to-start?from=2026-09-01&to=2026-08-01").status_code == 400
    assert client.get("/pilots/where-to-start?from=nonsense").status_code == 400


def test_the_unexpected_count_drills_down_to_its_cases(cells, client, auth, make_user):
    c = cells
    _load(rows(c["big"].id, c["pre"].id, 40, request_type="information"),
          rows(c["big"].id, c["pre"].id, 6, request_type="warranty"))
    auth.login(make_user("leader"))
    page = client.get(f"/pilots/where-to-start?from={START}&to={END}").get_data(as_text=True)
    assert "unexpected=1" in page
    listed = client.get(f"/outcomes/cases?metric=volume&part=all&start={START}&end={END}"
                        f"&segment_id={c['big'].id}&stage_id={c['pre'].id}&unexpected=1")
    assert listed.status_code == 200
    html = listed.get_data(as_text=True)
    assert "6 cases" in html and "Only cases whose request type is not expected" in html


def test_the_coverage_matrix_flags_unexpected_request_types(cells, client, auth, make_user):
    from app.timeutil import utcnow

    c = cells
    recent = utcnow().date() - timedelta(days=10)
    _load(rows(c["big"].id, c["pre"].id, 5, request_type="warranty", day=recent),
          rows(c["big"].id, c["post"].id, 5, request_type="warranty", day=recent))
    auth.login(make_user("leader"))
    page = client.get("/coverage").get_data(as_text=True)
    start = page.index(f'id="coverage-cell-{c["big"].id}-{c["pre"].id}"')
    assert "5 cases of a request type not expected at this stage" in page[start:start + 1500]
    other = page.index(f'id="coverage-cell-{c["big"].id}-{c["post"].id}"')
    assert "not expected at this stage" not in page[other:other + 600]
    auth.logout()
    auth.login(make_user("agent"))
    assert "5 cases of a request type not expected" in client.get("/coverage").get_data(as_text=True)
