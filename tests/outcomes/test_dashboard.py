"""Outcome dashboards: who sees which page, figures equal to the engine's, the period picker, the heat map."""

from __future__ import annotations

import html
import re
from datetime import date, datetime, timedelta

import pytest

from app.extension_points import nav_items_for
from app.extensions import db
from app.outcomes import dashboard as D
from app.outcomes import metrics
from app.outcomes import targets as T
from app.outcomes.metrics import format_value as format_metric
from app.outcomes.models import Case

JULY = (date(2026, 7, 1), date(2026, 7, 31))
JULY_QUERY = "period=custom&from=2026-07-01&to=2026-07-31&grain=week"


class Cases:
    """Builds cases with known figures; times are naive UTC, noon, well inside their local day."""

    def __init__(self):
        self.n = 0

    def __call__(self, pod, day: date, *, agent=None, segment=None, stage=None, resolved_hours: float | None = 2,
                 channel="phone", request_type="complaint", replies=1, reopens=0, group_stations=1,
                 assignee_stations=1, csat=None, due_hours: float | None = None, escalated=False):
        self.n += 1
        created = datetime.combine(day, datetime.min.time()) + timedelta(hours=10)
        resolved = created + timedelta(hours=resolved_hours) if resolved_hours is not None else None
        case = Case(
            source="podium", external_id=f"T-{self.n}", status="solved" if resolved else "open",
            pod_id=pod.id if pod else None, assignee_id=agent.id if agent else None,
            segment_id=segment.id if segment else None, stage_id=stage.id if stage else None,
            channel=channel, request_type=request_type, priority="normal",
            created_at=created, first_reply_at=created + timedelta(minutes=30), first_reply_minutes=30,
            assigned_at=created, first_resolved_at=resolved, solved_at=resolved,
            resolution_minutes=int(resolved_hours * 60) if resolved_hours is not None else None,
            due_at=created + timedelta(hours=due_hours) if due_hours is not None else None,
            replies=replies, reopens=reopens, group_stations=group_stations, assignee_stations=assignee_stations,
            csat_score=csat, escalated=escalated,
        )
        db.session.add(case)
        return case


@pytest.fixture
def make_case():
    return Cases()


@pytest.fixture
def world(make_user, make_pod, make_segment, stages, make_case):
    people = {role: make_user(role) for role in ("agent", "coach", "leader", "admin")}
    teammate = make_user("agent")
    other_agent = make_user("agent")
    outsider_coach = make_user("coach")
    loner = make_user("agent")
    pod = make_pod("Residential Care", coaches=[people["coach"]], members=[people["agent"], teammate])
    other = make_pod("SMB Growth", coaches=[outsider_coach], members=[other_agent])
    segments = [make_segment("Residential"), make_segment("Small business")]
    agent = people["agent"]
    # July in Residential Care: 4 cases created, 3 resolved.
    make_case(pod, date(2026, 7, 6), agent=agent, segment=segments[0], stage=stages[0], csat=5, due_hours=4)
    make_case(pod, date(2026, 7, 7), agent=agent, segment=segments[0], stage=stages[0], assignee_stations=2,
              resolved_hours=10, csat=1, due_hours=8, replies=3)
    make_case(pod, date(2026, 7, 14), agent=teammate, segment=segments[1], stage=stages[1], reopens=1,
              resolved_hours=1, channel="email", request_type="claim")
    make_case(pod, date(2026, 7, 20), agent=teammate, segment=segments[1], stage=stages[1], resolved_hours=None,
              channel="chat", escalated=True)
    # June (the previous period) and another pod.
    make_case(pod, date(2026, 6, 10), agent=agent, segment=segments[0], stage=stages[0], csat=4, due_hours=1)
    make_case(other, date(2026, 7, 8), agent=other_agent, segment=segments[1], stage=stages[0], group_stations=3)
    db.session.commit()
    return {"people": people, "pod": pod, "other": other, "segments": segments, "stages": stages,
            "teammate": teammate, "other_agent": other_agent, "outsider_coach": outsider_coach, "loner": loner}


def _routes(world):
    pod, other, agent = world["pod"], world["other"], world["people"]["agent"]
    # rule: who may open the page, by the person's name in `world`
    return [
        (f"/outcomes/org?{JULY_QUERY}", {"leader", "admin"}),
        (f"/outcomes/pods/{pod.id}?{JULY_QUERY}", {"agent", "coach", "leader", "admin", "teammate"}),
        (f"/outcomes/pods/{other.id}", {"leader", "admin", "other_agent", "outsider_coach"}),
        (f"/outcomes/agents/{agent.id}?{JULY_QUERY}", {"agent", "coach", "leader", "admin"}),
        (f"/outcomes/agents/{world['other_agent'].id}", {"leader", "admin", "other_agent", "outsider_coach"}),
        (f"/outcomes/pods/{pod.id}/targets", {"coach", "leader", "admin"}),
        (f"/outcomes/pods/{other.id}/targets", {"leader", "admin", "outsider_coach"}),
    ]


def _person(world, who):
    return world["people"][who] if who in world["people"] else world[who]


@pytest.mark.parametrize("who", ["agent", "teammate", "coach", "leader", "admin", "other_agent", "outsider_coach",
                                 "loner"])
def test_every_route_by_person(client, auth, world, who):
    auth.login(_person(world, who))
    for path, allowed in _routes(world):
        response = client.get(path)
        expected = 200 if who in allowed else 403
        assert response.status_code == expected, (who, path, response.status_code)


def test_signed_out_people_are_sent_to_sign_in(client, world):
    for path in ["/outcomes", *(path for path, _allowed in _routes(world))]:
        response = client.get(path)
        assert response.status_code == 302 and "/login" in response.headers["Location"], path


def test_unknown_pod_or_person_is_404(client, auth, world):
    auth.login(world["people"]["leader"])
    assert client.get("/outcomes/pods/9999").status_code == 404
    assert client.get("/outcomes/agents/9999").status_code == 404
    assert client.get("/outcomes/pods/9999/targets").status_code == 404


@pytest.mark.parametrize(("who", "target"), [("leader", "org"), ("agent", "pod"), ("coach", "pod"),
                                             ("loner", "self")])
def test_outcomes_link_lands_where_the_person_belongs(client, auth, world, who, target):
    person = _person(world, who)
    auth.login(person)
    response = client.get("/outcomes")
    assert response.status_code == 302
    expected = {"org": "/outcomes/org", "pod": f"/outcomes/pods/{world['pod'].id}",
                "self": f"/outcomes/agents/{person.id}"}[target]
    assert response.headers["Location"].endswith(expected)


def test_navigation_shows_outcomes_to_everyone_signed_in(client, auth, world):
    assert any(item.endpoint == "outcomes.index" for item in nav_items_for(world["people"]["agent"]))
    auth.login(world["loner"])
    assert 'href="/outcomes"' in client.get("/").get_data(as_text=True)


# --- figures --------------------------------------------------------------------------------------


def _row(page: str, code: str) -> str:
    match = re.search(rf'<tr id="score-{code}".*?</tr>', page, re.S)
    assert match, code
    return match.group(0)


def _cell(row: str, css: str) -> str:
    match = re.search(rf'<td class="[^"]*\b{css}\b[^"]*">(.*?)</td>', row, re.S)
    assert match, css
    text = re.sub(r"<[^>]+>", " ", match.group(1))
    return " ".join(html.unescape(text).split())


@pytest.mark.parametrize("scope_kind", ["pod", "agent", "org"])
def test_scorecard_shows_the_engines_figures(app, client, auth, world, scope_kind):
    pod, agent = world["pod"], world["people"]["agent"]
    path, scope = {
        "pod": (f"/outcomes/pods/{pod.id}", metrics.Scope(pod_id=pod.id)),
        "agent": (f"/outcomes/agents/{agent.id}", metrics.Scope(agent_id=agent.id)),
        "org": ("/outcomes/org", None),
    }[scope_kind]
    T.set_pod_targets(None, pod, 2026, 3, {"fcr": 0.8, "first_reply_p50": 45})
    db.session.commit()
    auth.login(world["people"]["leader"])
    response = client.get(f"{path}?{JULY_QUERY}")
    assert response.status_code == 200
    page = response.get_data(as_text=True)
    expected = metrics.compare(*JULY, scope)
    assert expected["volume"].figure.value is not None
    with app.test_request_context():
        for code, definition in metrics.METRICS.items():
            row = _row(page, code)
            comparison = expected[code]
            assert _cell(row, "score-value") == format_metric(code, comparison.figure.value), code
            assert _cell(row, "score-previous") == format_metric(code, comparison.previous.value), code
            assert _cell(row, "score-basis") == D.figure_basis(definition.unit, comparison.figure), code
            assert _cell(row, "score-target").startswith(format_metric(code, comparison.target)), code
    if scope_kind == "pod":
        assert expected["fcr"].target == pytest.approx(0.8)
        assert "80.0%" in _cell(_row(page, "fcr"), "score-target")


def test_change_is_coloured_by_the_metrics_direction(client, auth, world):
    auth.login(world["people"]["coach"])
    page = client.get(f"/outcomes/pods/{world['pod'].id}?{JULY_QUERY}").get_data(as_text=True)
    figures = metrics.compare(*JULY, metrics.Scope(pod_id=world["pod"].id))
    for code in metrics.METRICS:
        now, before = figures[code].figure.value, figures[code].previous.value
        verdict = metrics.change_status(code, before, now)
        assert f"status-{verdict if verdict in ('good', 'bad') else 'neutral'}" in _row(page, code), code
    assert metrics.change_status("fcr", 0.5, 0.6) == "good" and metrics.change_status("handoff_rate", 0.5, 0.6) == "bad"
    assert metrics.change_status("first_reply_p50", 10, 7) == "good"
    assert metrics.change_status("volume", 1, 6) == "neutral" and metrics.change_status("fcr", 0.4, 0.4) == "flat"


def test_better_and_status_follow_the_registry():
    assert metrics.better("fcr", 0.8, 0.7) and not metrics.better("fcr", 0.7, 0.8)
    assert metrics.better("resolution_p50", 30, 40) and not metrics.better("resolution_p50", 40, 30)
    assert not metrics.better("fcr", 0.7, 0.7) and not metrics.better("volume", 9, 3)
    assert not metrics.better("fcr", None, 0.3)
    assert metrics.status("fcr", 0.8, 0.75) == "good" and metrics.status("fcr", 0.7, 0.75) == "bad"
    assert metrics.status("handoff_rate", 0.1, 0.1) == "good" and metrics.status("handoff_rate", 0.2, 0.1) == "bad"
    assert metrics.status("volume", 10, 5) == "neutral" and metrics.status("fcr", None, 0.5) == "neutral"
    assert metrics.status("fcr", 0.5, None) == "neutral"
    assert set(metrics.STATUSES) >= {"good", "bad", "neutral"}


def _heat_cells(page: str) -> list[tuple[str, str, str]]:
    section = re.search(r'<section id="outcomes-heat-map".*?</section>', page, re.S).group(0)
    cells = re.findall(r'<td class="heat-cell ([^"]*)"\s+data-band="[^"]*" data-sample="(\d+)">(.*?)</td>',
                       section, re.S)
    return [(classes, sample, " ".join(html.unescape(re.sub(r"<[^>]+>", " ", body)).split()))
            for classes, sample, body in cells]


def test_heat_map_shows_handoff_rate_sample_size_and_empty_cells(client, auth, world):
    auth.login(world["people"]["coach"])
    page = client.get(f"/outcomes/pods/{world['pod'].id}?{JULY_QUERY}").get_data(as_text=True)
    cells = _heat_cells(page)
    columns = len(world["stages"])
    assert len(cells) == 2 * columns  # two segments by the five default stages
    expected = metrics.compute_by("cell", *JULY, metrics.Scope(pod_id=world["pod"].id), codes=["handoff_rate"])
    seg, stages = world["segments"], world["stages"]
    handed = expected[(seg[0].id, stages[0].id)]["handoff_rate"]
    assert (handed.numerator, handed.denominator) == (1, 2)
    classes, sample, text = cells[0]
    assert "heat-5" in classes and sample == "2" and "50.0%" in text and "n = 2" in text
    classes, sample, text = cells[columns + 1]  # Small business x Sale & onboarding: one case, no handoff
    assert "heat-0" in classes and "heat-few" in classes and "0.0%" in text and "n = 1" in text
    classes, sample, text = cells[1]
    assert "heat-empty" in classes and sample == "0" and "no cases" in text


def test_heat_map_marks_the_cells_the_pod_covers(client, auth, world):
    from app.org import services as org

    org.assign_coverage(world["people"]["leader"], world["pod"], world["segments"][0], world["stages"][0])
    db.session.commit()
    auth.login(world["people"]["coach"])
    cells = _heat_cells(client.get(f"/outcomes/pods/{world['pod'].id}?{JULY_QUERY}").get_data(as_text=True))
    assert "heat-covered" in cells[0][0] and not any("heat-covered" in c[0] for c in cells[1:])


def test_breakdowns_by_channel_and_request_type(client, auth, world):
    auth.login(world["people"]["agent"])
    page = client.get(f"/outcomes/pods/{world['pod'].id}?{JULY_QUERY}").get_data(as_text=True)
    by_channel = re.search(r'<div id="outcomes-by-channel">.*?</table>', page, re.S).group(0)
    by_type = re.search(r'<div id="outcomes-by-request-type">.*?</table>', page, re.S).group(0)
    assert [label for label in ("Phone", "Email", "Chat") if label in by_channel] == ["Phone", "Email", "Chat"]
    assert by_channel.index("Phone") < by_channel.index("Email")  # ordered by volume
    assert "Complaint" in by_type and "Claim" in by_type and "Warranty" not in by_type


def test_agents_table_for_coaches_and_leaders_only(client, auth, world):
    pod_path = f"/outcomes/pods/{world['pod'].id}?{JULY_QUERY}"
    auth.login(world["people"]["coach"])
    page = client.get(pod_path).get_data(as_text=True)
    assert 'id="outcomes-people"' in page
    assert world["people"]["agent"].display_name in page and world["teammate"].display_name in page
    assert f'/outcomes/agents/{world["teammate"].id}?' in page
    auth.logout()
    auth.login(world["people"]["agent"])
    page = client.get(pod_path).get_data(as_text=True)
    assert 'id="outcomes-people"' not in page and world["teammate"].display_name not in page
    assert f'/outcomes/agents/{world["people"]["agent"].id}?' in page  # a link to their own figures


def test_org_page_compares_pods(client, auth, world):
    auth.login(world["people"]["leader"])
    page = client.get(f"/outcomes/org?{JULY_QUERY}").get_data(as_text=True)
    section = re.search(r'<section id="outcomes-pods".*?</section>', page, re.S).group(0)
    assert "Residential Care" in section and "SMB Growth" in section
    assert f'/outcomes/pods/{world["other"].id}?' in section


def test_charts_get_their_data_in_json_blocks(client, auth, world):
    auth.login(world["people"]["coach"])
    page = client.get(f"/outcomes/pods/{world['pod'].id}?{JULY_QUERY}").get_data(as_text=True)
    assert "js/charts.js" in page and "vendor/chart-4.6.1.umd.min.js" in page
    for key in ("volume", "rates", "times"):
        assert f'<canvas id="outcomes-chart-{key}" data-chart="outcomes-chart-{key}-data"' in page
        assert f'<script type="application/json" id="outcomes-chart-{key}-data">' in page
    assert "<script>" not in page and " style=" not in page  # the CSP forbids inline scripts and styles


def test_trend_points_match_the_engine_series(app, client, auth, world):
    import json

    auth.login(world["people"]["coach"])
    page = client.get(f"/outcomes/pods/{world['pod'].id}?{JULY_QUERY}").get_data(as_text=True)
    spec = json.loads(html.unescape(re.search(
        r'id="outcomes-chart-volume-data">(.*?)</script>', page, re.S).group(1)))
    with app.test_request_context():
        period = D.parse_period({"period": "custom", "from": "2026-07-01", "to": "2026-07-31", "grain": "week"},
                                date(2026, 11, 24))
    points = metrics.series(*D.trend_window(period), "week", metrics.Scope(pod_id=world["pod"].id))
    volume = next(d for d in spec["datasets"] if d["code"] == "volume")
    assert volume["data"] == [figures["volume"].value for _day, figures in points]
    assert len(spec["labels"]) == len(points)


# --- the period picker ----------------------------------------------------------------------------


@pytest.mark.parametrize(("query", "message"), [
    ("period=forever", "Choose one of the periods offered."),
    ("period=custom", "Enter both the first and the last day of the custom range."),
    ("period=custom&from=2026-07-01", "Enter both the first and the last day of the custom range."),
    ("period=custom&from=2026-13-01&to=2026-07-31", "Write dates as YYYY-MM-DD"),
    ("period=custom&from=yesterday&to=2026-07-31", "Write dates as YYYY-MM-DD"),
    ("period=custom&from=2026-08-01&to=2026-07-01", "The first day must be on or before the last day."),
    ("period=custom&from=2020-01-01&to=2026-07-01", "A custom range can cover at most two years."),
    ("period=custom&from=1999-12-31&to=2000-01-02", "Choose dates from the year 2000 on."),
    ("period=custom&from=2999-01-01&to=2999-01-02", "The range must start today or earlier."),
    ("period=30d&grain=year", "Show the trend by week or by month."),
])
def test_bad_period_input_gets_a_message_not_an_error(client, auth, world, query, message):
    auth.login(world["people"]["coach"])
    for path in (f"/outcomes/pods/{world['pod'].id}", f"/outcomes/agents/{world['people']['agent'].id}"):
        response = client.get(f"{path}?{query}")
        assert response.status_code == 400, (path, query)
        page = response.get_data(as_text=True)
        assert 'id="outcomes-period-error"' in page and html.escape(message, quote=False).split("%")[0] in page
        assert 'id="outcomes-scorecard"' in page  # the default period is shown meanwhile


@pytest.mark.parametrize(("args", "start", "end", "grain"), [
    ({}, date(2026, 10, 25), date(2026, 11, 23), "week"),
    ({"period": "7d"}, date(2026, 11, 17), date(2026, 11, 23), "week"),
    ({"period": "90d", "grain": "month"}, date(2026, 8, 26), date(2026, 11, 23), "month"),
    ({"period": "quarter"}, date(2026, 10, 1), date(2026, 11, 24), "week"),
    ({"period": "last_quarter"}, date(2026, 7, 1), date(2026, 9, 30), "week"),
    ({"period": "custom", "from": "2025-01-01", "to": "2025-12-31"}, date(2025, 1, 1), date(2025, 12, 31), "month"),
])
def test_periods_are_whole_local_days(app, args, start, end, grain):
    with app.test_request_context():
        period = D.parse_period(args, date(2026, 11, 24))
    assert (period.start, period.end, period.grain) == (start, end, grain)
    if period.key == "last_quarter":
        assert D.parse_period({"period": "last_quarter"}, date(2026, 2, 1)).start == date(2025, 10, 1)


def test_trend_window_starts_on_a_whole_week_or_month():
    week = D.Period("7d", date(2026, 11, 17), date(2026, 11, 23), "week")
    start, end = D.trend_window(week)
    assert start.weekday() == 0 and end == date(2026, 11, 23) and (end - start).days >= 12 * 7
    month = D.Period("7d", date(2026, 11, 17), date(2026, 11, 23), "month")
    assert D.trend_window(month) == (date(2026, 6, 1), date(2026, 11, 23))


# --- "My day" -------------------------------------------------------------------------------------


def test_home_shows_the_pods_last_seven_days(client, auth, world, make_case):
    from app.timeutil import utcnow

    today = utcnow().date()
    agent = world["people"]["agent"]
    for days_ago in (1, 2, 3):
        make_case(world["pod"], today - timedelta(days=days_ago), agent=agent, csat=5)
    make_case(world["pod"], today - timedelta(days=9), agent=agent, csat=1)
    db.session.commit()
    auth.login(agent)
    page = client.get("/").get_data(as_text=True)
    section = re.search(r'<section id="home-outcomes">.*?</section>', page, re.S).group(0)
    assert "Residential Care" in section and f"/outcomes/pods/{world['pod'].id}?period=7d" in section
    start, end = D.last_days(today, 7)
    current = metrics.compute_by("pod", start, end, None, codes=D.HOME_CODES)[world["pod"].id]
    volume = re.search(r'<li data-metric="volume">(.*?)</li>', section, re.S).group(1)
    assert f"<strong>{int(current['volume'].value)}</strong>" in volume
    assert current["volume"].value == 3
    assert "status-good" in re.search(r'<li data-metric="csat">(.*?)</li>', section, re.S).group(1)
    for code in D.HOME_CODES:
        assert f'data-metric="{code}"' in section


def test_home_section_for_people_without_a_pod(client, auth, world, make_user):
    auth.login(world["loner"])
    assert 'id="home-outcomes"' not in client.get("/").get_data(as_text=True)
    auth.logout()
    auth.login(make_user("leader"))
    page = client.get("/").get_data(as_text=True)
    assert 'id="home-outcomes"' in page and "/outcomes/org?period=7d" in page


# --- query counts ---------------------------------------------------------------------------------


def _grow(world, make_user, make_pod, make_segment, make_case, pods: int):
    stages = world["stages"]
    for n in range(pods):
        agents = [make_user("agent") for _ in range(3)]
        pod = make_pod(f"Grown {n}", coaches=[make_user("coach")], members=agents)
        segment = make_segment(f"Grown segment {n}")
        for i, agent in enumerate(agents):
            for day in (3, 9, 15, 21):
                make_case(pod, date(2026, 7, day), agent=agent, segment=segment, stage=stages[i % len(stages)],
                          csat=4, channel="web", request_type="quote", due_hours=5)
        for agent in agents:  # more people in the measured pod, each with cases
            make_case(world["pod"], date(2026, 7, 10), agent=agent, segment=world["segments"][0],
                      stage=stages[2])
        extra = make_user("agent")
        from app.org import services as org

        org.add_member(None, world["pod"], extra, start=date(2026, 1, 1))
    db.session.commit()


@pytest.mark.parametrize("page", ["org", "pod", "agent", "targets"])
def test_query_count_does_not_grow_with_the_data(client, auth, world, count_queries, make_user, make_pod,
                                                 make_segment, make_case, page):
    path = {"org": f"/outcomes/org?{JULY_QUERY}", "pod": f"/outcomes/pods/{world['pod'].id}?{JULY_QUERY}",
            "agent": f"/outcomes/agents/{world['people']['agent'].id}?{JULY_QUERY}",
            "targets": f"/outcomes/pods/{world['pod'].id}/targets"}[page]
    auth.login(world["people"]["leader"])
    client.get(path)
    with count_queries() as small:
        assert client.get(path).status_code == 200
    _grow(world, make_user, make_pod, make_segment, make_case, pods=4)
    with count_queries() as large:
        assert client.get(path).status_code == 200
    assert large.count == small.count, (small.statements, large.statements)
    assert large.count <= 60


def test_home_section_query_count_does_not_grow_with_the_data(app, world, count_queries, make_user, make_pod,
                                                              make_segment, make_case):
    from app.outcomes.views import home_outcomes

    coach = world["people"]["coach"]
    today = date(2026, 7, 25)

    def measure():
        with count_queries() as counter, app.test_request_context():
            section = home_outcomes(db.session.get(type(coach), coach.id), today)
        return counter.count, section

    small, section = measure()
    assert [row["title"] for row in section["rows"]] == ["Residential Care"]
    _grow(world, make_user, make_pod, make_segment, make_case, pods=4)
    for n in range(3):  # and the coach coaches more pods
        make_pod(f"Coached {n}", coaches=[coach])
    large, section = measure()
    assert len(section["rows"]) == 4 and large == small
