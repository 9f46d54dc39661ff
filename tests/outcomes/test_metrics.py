"""The metric engine: every METRICS.md figure on small known data, its edge cases, scopes, groups and periods."""

from __future__ import annotations

import itertools
from datetime import date, datetime, timedelta

import pytest

from app.extensions import db
from app.outcomes import metrics
from app.outcomes.metrics import Figure, Scope
from app.outcomes.models import Case, PodTarget

Q3 = (date(2026, 7, 1), date(2026, 9, 30))
_ids = itertools.count(1)


def add_case(created: datetime, resolved: datetime | None = None, **values) -> Case:
    """A case created (and resolved) at naive UTC times; other columns default to a clean first-contact case."""
    fields = dict(source="podium", external_id=str(next(_ids)), status="solved" if resolved else "open",
                  created_at=created, first_resolved_at=resolved, replies=1, reopens=0, group_stations=1,
                  assignee_stations=1, escalated=False,
                  resolution_minutes=int((resolved - created).total_seconds() // 60) if resolved else None)
    fields.update(values)
    case = Case(**fields)
    db.session.add(case)
    return case


def at(day: int, hour: int = 12, month: int = 8) -> datetime:
    return datetime(2026, month, day, hour)


def resolved_case(**values) -> Case:
    return add_case(at(3), at(4), **values)


@pytest.fixture
def decisions(make_user):
    from app.autonomy.models import ActionType, Decision

    agent = make_user("agent")
    action = ActionType(code="refund", name="Refund", unit="count")
    db.session.add(action)
    db.session.flush()

    def _add(decided_at: datetime, within: bool, **values) -> Decision:
        decision = Decision(decided_at=decided_at, requested_at=decided_at, within_limit=within,
                            status="done" if within else "approved", agent_id=values.pop("agent_id", agent.id),
                            action_type_id=action.id, amount=1, **values)
        db.session.add(decision)
        return decision

    _add.agent = agent
    return _add


def test_definitions_follow_metrics_md(app):
    assert list(metrics.METRICS) == [
        "volume", "resolved", "backlog", "fcr", "handoff_rate", "handoffs_per_case", "reopen_rate", "csat",
        "first_reply_p50", "first_reply_p90", "resolution_p50", "resolution_p90", "sla_attainment",
        "escalation_rate", "autonomy_rate", "rework_rate", "complaint_share"]
    assert metrics.METRICS["csat"].direction == "higher" and metrics.METRICS["csat"].unit == "rate"
    assert metrics.METRICS["backlog"].direction == "lower" and metrics.METRICS["volume"].direction is None
    assert metrics.METRICS["resolution_p90"].unit == "minutes"
    with app.test_request_context():
        assert str(metrics.METRICS["fcr"].label) == "First-contact resolution"


def test_no_data_gives_no_value_and_zero_denominators():
    figures = metrics.compute(*Q3)
    assert list(figures) == list(metrics.METRICS)
    for code in ("volume", "resolved", "backlog"):
        assert figures[code] == Figure(code, 0, 0, None)
    for code in ("fcr", "handoff_rate", "handoffs_per_case", "reopen_rate", "csat", "sla_attainment",
                 "escalation_rate", "autonomy_rate"):
        assert figures[code] == Figure(code, None, 0, 0)
    for code in ("first_reply_p50", "first_reply_p90", "resolution_p50", "resolution_p90"):
        assert figures[code] == Figure(code, None, None, 0)


def test_volume_and_escalation_by_creation():
    add_case(at(1), escalated=True)
    add_case(at(2))
    add_case(at(3), at(20, month=10))  # resolved after the period: still created in it
    add_case(at(30, month=6))  # created before
    db.session.commit()
    figures = metrics.compute(*Q3, tz="UTC")
    assert figures["volume"] == Figure("volume", 3, 3, None)
    assert figures["escalation_rate"] == Figure("escalation_rate", 1 / 3, 1, 3)


def test_resolution_rates():
    resolved_case()  # first contact
    resolved_case(replies=2)  # two replies: not FCR
    resolved_case(reopens=1)  # reopened: not FCR, reopen
    resolved_case(assignee_stations=2, replies=0)  # changed hands: handoff, not FCR
    resolved_case(group_stations=3)  # two handoffs between groups
    add_case(at(1))  # unresolved: in no resolution figure
    db.session.commit()
    figures = metrics.compute(*Q3, tz="UTC")
    assert figures["resolved"] == Figure("resolved", 5, 5, None)
    assert figures["fcr"] == Figure("fcr", 2 / 5, 2, 5)  # the clean one and the one with group stations only
    assert figures["handoff_rate"] == Figure("handoff_rate", 2 / 5, 2, 5)
    assert figures["handoffs_per_case"] == Figure("handoffs_per_case", 2 / 5, 2, 5)
    assert figures["reopen_rate"] == Figure("reopen_rate", 1 / 5, 1, 5)


def test_reopened_case_counts_once_by_its_first_resolution():
    """A reopened case stays in the period of its first resolution, even when solved again later."""
    add_case(at(3), at(4), reopens=2, solved_at=at(5, month=10), status="solved")
    db.session.commit()
    august = metrics.compute(date(2026, 8, 1), date(2026, 8, 31), tz="UTC")
    october = metrics.compute(date(2026, 10, 1), date(2026, 10, 31), tz="UTC")
    assert august["resolved"].value == 1 and august["reopen_rate"] == Figure("reopen_rate", 1.0, 1, 1)
    assert august["fcr"].value == 0
    assert october["resolved"].value == 0 and october["reopen_rate"].value is None


def test_csat_excludes_unrated_cases_and_shows_sample_size():
    for score in (5, 4, 1, None, None):
        resolved_case(csat_score=score)
    add_case(at(1), csat_score=5)  # rated but not resolved in the period
    db.session.commit()
    assert metrics.compute(*Q3, tz="UTC")["csat"] == Figure("csat", 2 / 3, 2, 3)


def test_csat_of_only_unrated_cases_has_no_value():
    resolved_case()
    db.session.commit()
    assert metrics.compute(*Q3, tz="UTC")["csat"] == Figure("csat", None, 0, 0)


def test_sla_attainment_over_cases_with_a_due_time():
    resolved_case(due_at=at(5))
    resolved_case(due_at=at(4))  # resolved exactly at the due time: in time
    resolved_case(due_at=at(3, 18))  # late
    resolved_case()  # no due time
    db.session.commit()
    assert metrics.compute(*Q3, tz="UTC")["sla_attainment"] == Figure("sla_attainment", 2 / 3, 2, 3)


def test_percentiles_are_continuous_over_the_cases_in_scope():
    for minutes in (10, 20, 30, 40):
        add_case(at(2), at(9), first_reply_minutes=minutes, resolution_minutes=minutes * 100)
    add_case(at(2), first_reply_minutes=None)  # no reply yet: not in the sample
    db.session.commit()
    figures = metrics.compute(*Q3, tz="UTC")
    assert figures["first_reply_p50"] == Figure("first_reply_p50", 25.0, None, 4)  # mean of the two middle
    assert figures["first_reply_p90"] == Figure("first_reply_p90", pytest.approx(37.0), None, 4)
    assert figures["resolution_p50"] == Figure("resolution_p50", 2500.0, None, 4)
    assert figures["resolution_p90"].value == pytest.approx(3700.0)


def test_percentiles_of_a_single_case_and_of_an_odd_sample():
    add_case(at(2), first_reply_minutes=7)
    db.session.commit()
    one = metrics.compute(*Q3, tz="UTC")
    assert one["first_reply_p50"].value == 7.0 and one["first_reply_p90"].value == 7.0
    for minutes in (1, 100, 3, 5):
        add_case(at(2), first_reply_minutes=minutes)
    db.session.commit()
    five = metrics.compute(*Q3, tz="UTC")  # 1 3 5 7 100
    assert five["first_reply_p50"] == Figure("first_reply_p50", 5.0, None, 5)
    assert five["first_reply_p90"].value == pytest.approx(7 + 0.6 * 93)


def test_percentiles_per_period_column():
    """First reply follows creation; resolution time follows the first resolution."""
    add_case(at(30, month=6), at(2), first_reply_minutes=5, resolution_minutes=60)
    db.session.commit()
    figures = metrics.compute(*Q3, tz="UTC")
    assert figures["first_reply_p50"].value is None
    assert figures["resolution_p50"].value == 60.0


def test_backlog_at_period_end_whatever_the_creation_date():
    end = datetime(2026, 9, 30, 22)  # 2026-10-01 00:00 in Madrid, in UTC
    add_case(datetime(2025, 1, 1))  # old and still open
    add_case(at(1), end + timedelta(minutes=1))  # resolved just after the end
    add_case(at(1), end - timedelta(minutes=1))  # resolved just before
    add_case(at(1), None, closed_at=end - timedelta(hours=1), status="closed")  # closed without resolution
    add_case(at(1), None, closed_at=end + timedelta(hours=1), status="closed")  # closed after
    add_case(end + timedelta(minutes=5))  # created after the end
    db.session.commit()
    assert metrics.compute(*Q3, tz="Europe/Madrid")["backlog"] == Figure("backlog", 3, 3, None)
    # In UTC the period ends two hours later: by then the two cases resolved or closed just after the Madrid
    # end are done, and the case created at 00:05 Madrid time (22:05 UTC) is open.
    assert metrics.compute(*Q3, tz="UTC")["backlog"] == Figure("backlog", 2, 2, None)


def test_period_bounds_are_local_days_madrid_versus_utc():
    # 2026-06-30 22:30 UTC is 2026-07-01 00:30 in Madrid (UTC+2 in summer).
    add_case(datetime(2026, 6, 29), datetime(2026, 6, 30, 22, 30))
    # 2026-09-30 22:30 UTC is 2026-10-01 00:30 in Madrid.
    add_case(datetime(2026, 9, 29), datetime(2026, 9, 30, 22, 30))
    # 2026-12-31 23:30 UTC is already 2027 in Madrid (UTC+1 in winter).
    add_case(datetime(2026, 12, 31, 23, 30))
    db.session.commit()
    madrid = metrics.compute(*Q3, tz="Europe/Madrid")
    utc = metrics.compute(*Q3, tz="UTC")
    assert madrid["resolved"].value == 1 and utc["resolved"].value == 1
    q4 = (date(2026, 10, 1), date(2026, 12, 31))
    assert metrics.compute(*q4, tz="Europe/Madrid")["resolved"].value == 1
    assert metrics.compute(*q4, tz="UTC")["resolved"].value == 0
    assert metrics.compute(*q4, tz="Europe/Madrid")["volume"].value == 0
    assert metrics.compute(*q4, tz="UTC")["volume"].value == 1


def test_default_time_zone_is_the_pods_then_the_organisation(make_pod):
    from app.org.services import get_organisation

    get_organisation().timezone = "UTC"
    pod = make_pod("Night shift", timezone="America/New_York")
    add_case(datetime(2026, 10, 1, 2), pod_id=pod.id)  # 1 October in UTC, 30 September in New York
    db.session.commit()
    assert metrics.compute(*Q3)["volume"].value == 0  # the org reads it in UTC
    assert metrics.compute(*Q3, Scope(pod_id=pod.id))["volume"].value == 1
    assert metrics.compute(*Q3, Scope(pod_id=pod.id), tz="UTC")["volume"].value == 0
    # Grouped by pod, each pod reads the period in its own zone.
    make_pod("Day shift", timezone="UTC")
    assert metrics.compute_by("pod", *Q3)[pod.id]["volume"].value == 1
    assert pod.id not in metrics.compute_by("pod", *Q3, tz="UTC")


def test_handoffs_follow_stations():
    resolved_case(group_stations=1, assignee_stations=1)  # never changed hands: one station, no handoff
    resolved_case(group_stations=2, assignee_stations=3)
    resolved_case(group_stations=4, assignee_stations=1)
    resolved_case(group_stations=0, assignee_stations=0)  # never assigned: no negative handoffs
    db.session.commit()
    figures = metrics.compute(*Q3, tz="UTC")
    assert figures["handoffs_per_case"] == Figure("handoffs_per_case", 4 / 4, 4, 4)
    assert figures["handoff_rate"] == Figure("handoff_rate", 2 / 4, 2, 4)


def test_autonomy_rate_by_decision_time(decisions, make_pod):
    pod = make_pod()
    decisions(at(2), True, pod_id=pod.id)
    decisions(at(3), True)
    decisions(at(4), False, pod_id=pod.id)
    decisions(at(4, month=10), False)  # after the period
    db.session.commit()
    assert metrics.compute(*Q3, tz="UTC")["autonomy_rate"] == Figure("autonomy_rate", 2 / 3, 2, 3)
    assert metrics.compute(*Q3, Scope(pod_id=pod.id), tz="UTC")["autonomy_rate"].value == 0.5
    assert metrics.compute(*Q3, Scope(agent_id=decisions.agent.id), tz="UTC")["autonomy_rate"].denominator == 3
    # Decisions have no channel: a channel scope has no autonomy figure.
    assert metrics.compute(*Q3, Scope(channel="phone"), tz="UTC")["autonomy_rate"] == \
        Figure("autonomy_rate", None, 0, 0)


def test_scope_filters(make_user, make_segment, stages, make_pod):
    agent, segment, pod = make_user("agent"), make_segment(), make_pod()
    add_case(at(2), at(3), assignee_id=agent.id, segment_id=segment.id, stage_id=stages[0].id, pod_id=pod.id,
             channel="phone", request_type="claim")
    add_case(at(2), at(3), channel="email", request_type="quote")
    db.session.commit()
    for scope in (Scope(pod_id=pod.id), Scope(agent_id=agent.id), Scope(segment_id=segment.id),
                  Scope(stage_id=stages[0].id), Scope(channel="phone"), Scope(request_type="claim"),
                  Scope(pod_id=pod.id, agent_id=agent.id, channel="phone")):
        figures = metrics.compute(*Q3, scope, tz="UTC")
        assert figures["volume"].value == 1 and figures["resolved"].value == 1, scope
    assert metrics.compute(*Q3, Scope(pod_id=pod.id, channel="email"), tz="UTC")["volume"].value == 0


def test_codes_select_figures_and_unknown_codes_are_refused():
    assert list(metrics.compute(*Q3, codes=["csat", "volume"])) == ["csat", "volume"]
    with pytest.raises(ValueError):
        metrics.compute(*Q3, codes=["nps"])
    with pytest.raises(ValueError):
        metrics.compute(date(2026, 2, 1), date(2026, 1, 1))
    with pytest.raises(ValueError):
        metrics.compute_by("colour", *Q3)
    with pytest.raises(ValueError):
        metrics.series(*Q3, "fortnight")


@pytest.fixture
def spread(make_user, make_segment, stages, make_pod, decisions):
    """Cases over three pods, two agents, two segments and stages, channels and request types."""
    agents = [make_user("agent"), make_user("agent")]
    segments = [make_segment(), make_segment()]
    pods = [make_pod(), make_pod(), make_pod()]
    for i in range(36):
        created = at(1 + i % 28, hour=i % 24)
        resolved = created + timedelta(minutes=40 * (i + 1)) if i % 5 else None
        add_case(created, resolved, pod_id=pods[i % 3].id, assignee_id=agents[i % 2].id,
                 segment_id=segments[i % 2].id, stage_id=stages[i % 4].id, channel=("phone", "email", "chat")[i % 3],
                 request_type=("claim", "quote")[i % 2], replies=i % 3, reopens=int(i % 7 == 0),
                 group_stations=1 + i % 3, assignee_stations=1 + i % 2, csat_score=(None, 5, 2, 4)[i % 4],
                 due_at=created + timedelta(hours=10) if i % 2 else None, escalated=i % 6 == 0,
                 first_reply_minutes=i * 7 % 50 if i % 4 else None)
        decisions(created, i % 3 != 0, pod_id=pods[i % 3].id, segment_id=segments[i % 2].id,
                  stage_id=stages[i % 4].id, request_type=("claim", "quote")[i % 2],
                  agent_id=agents[i % 2].id)
    db.session.commit()
    return {"pods": pods, "agents": agents, "segments": segments, "stages": stages}


def _scope_for(dimension: str, key) -> Scope:
    if dimension == "cell":
        return Scope(segment_id=key[0], stage_id=key[1])
    if dimension == "agent_request_type":
        return Scope(agent_id=key[0], request_type=key[1])
    if dimension == "agent_channel":
        return Scope(agent_id=key[0], channel=key[1])
    field = {"pod": "pod_id", "agent": "agent_id", "segment": "segment_id", "stage": "stage_id"}.get(dimension,
                                                                                                     dimension)
    return Scope(**{field: key})


@pytest.mark.parametrize("dimension", metrics.DIMENSIONS)
def test_compute_by_equals_compute_per_group(spread, dimension):
    grouped = metrics.compute_by(dimension, *Q3, tz="UTC")
    assert len(grouped) >= 2
    for key, figures in grouped.items():
        alone = metrics.compute(*Q3, _scope_for(dimension, key), tz="UTC")
        assert figures == alone, (dimension, key)


def test_compute_by_within_a_scope(spread):
    pod = spread["pods"][0]
    grouped = metrics.compute_by("agent", *Q3, Scope(pod_id=pod.id), tz="UTC")
    for agent_id, figures in grouped.items():
        assert figures == metrics.compute(*Q3, Scope(pod_id=pod.id, agent_id=agent_id), tz="UTC")


def test_compute_by_query_count_does_not_grow_with_pods(make_pod, count_queries):
    def measure() -> int:
        with count_queries() as counter:
            metrics.compute_by("pod", *Q3)
        return counter.count

    pod = make_pod()
    add_case(at(2), at(3), pod_id=pod.id, first_reply_minutes=4)
    db.session.commit()
    few = measure()
    for _ in range(6):
        extra = make_pod()
        add_case(at(2), at(3), pod_id=extra.id, first_reply_minutes=4)
    db.session.commit()
    assert measure() == few
    assert len(metrics.compute_by("pod", *Q3)) == 7


def test_series_has_every_period_including_empty_ones():
    add_case(at(3), at(4))
    add_case(at(20, month=9))
    db.session.commit()
    months = metrics.series(*Q3, "month", codes=["volume", "resolved", "fcr"], tz="UTC")
    assert [label for label, _ in months] == [date(2026, 7, 1), date(2026, 8, 1), date(2026, 9, 1)]
    assert [f["volume"].value for _, f in months] == [0, 1, 1]
    assert months[0][1]["fcr"] == Figure("fcr", None, 0, 0)
    weeks = metrics.series(date(2026, 8, 5), date(2026, 8, 20), "week", codes=["volume"], tz="UTC")
    assert [label for label, _ in weeks] == [date(2026, 8, 3), date(2026, 8, 10), date(2026, 8, 17)]
    assert [f["volume"].value for _, f in weeks] == [0, 0, 0]  # the 3rd is before the clipped first week
    days = metrics.series(date(2026, 8, 2), date(2026, 8, 4), "day", codes=["volume"], tz="UTC")
    assert [f["volume"].value for _, f in days] == [0, 1, 0]
    quarters = metrics.series(date(2026, 8, 15), date(2027, 1, 10), "quarter", codes=["volume"], tz="UTC")
    assert [label for label, _ in quarters] == [date(2026, 7, 1), date(2026, 10, 1), date(2027, 1, 1)]
    assert [f["volume"].value for _, f in quarters] == [1, 0, 0]


def test_series_backlog_is_taken_at_each_period_end():
    add_case(at(3), at(20))
    db.session.commit()
    weeks = metrics.series(date(2026, 8, 3), date(2026, 8, 23), "week", codes=["backlog"], tz="UTC")
    assert [f["backlog"].value for _, f in weeks] == [1, 1, 0]


def test_compare_with_previous_period_and_pod_target(make_pod):
    pod = make_pod()
    add_case(at(3), at(4), pod_id=pod.id)  # in August
    add_case(at(20, month=7), at(21, month=7), pod_id=pod.id, replies=3)  # in the previous 31 days
    db.session.add(PodTarget(pod_id=pod.id, metric="fcr", year=2026, quarter=3, value=0.8))
    db.session.add(PodTarget(pod_id=pod.id, metric="fcr", year=2026, quarter=4, value=0.9))
    db.session.commit()
    compared = metrics.compare(date(2026, 8, 1), date(2026, 8, 31), Scope(pod_id=pod.id), codes=["fcr", "volume"])
    assert compared["fcr"].figure == Figure("fcr", 1.0, 1, 1)
    assert compared["fcr"].previous == Figure("fcr", 0.0, 0, 1)
    assert compared["fcr"].target == 0.8
    assert compared["volume"].target is None
    assert metrics.compare(date(2026, 8, 1), date(2026, 8, 31), codes=["fcr"])["fcr"].target is None  # org


def test_case_outcomes_and_first_contact_rule():
    clean = resolved_case(csat_score=5)
    reopened = resolved_case(reopens=1)
    open_case = add_case(at(3))
    db.session.commit()
    facts = metrics.case_outcomes([clean.id, reopened.id, open_case.id])
    assert facts[clean.id] == {"csat": 5, "resolved": True, "fcr": True, "resolution_minutes": 1440}
    assert facts[reopened.id]["fcr"] is False
    assert facts[open_case.id]["fcr"] is None and facts[open_case.id]["resolution_minutes"] is None
    assert metrics.case_outcomes([]) == {}
    assert db.session.query(Case).filter(metrics.first_contact_resolved()).count() == 2


@pytest.mark.parametrize("grain", ["day", "week", "month", "quarter"])
def test_series_equals_compute_per_period(spread, grain):
    start, end = (date(2026, 8, 20), date(2026, 8, 26)) if grain == "day" else (date(2026, 7, 15), date(2026, 9, 9))
    scope = Scope(pod_id=spread["pods"][1].id)
    periods = metrics.series(start, end, grain, scope)
    assert periods
    for label, figures in periods:
        first = max(label, start)
        last = min(end, {"day": label, "week": label + timedelta(days=6), "month": date(2026, label.month, 28),
                         "quarter": date(2026, 9, 30)}[grain])
        if grain == "month":
            last = min(end, (date(2026, label.month + 1, 1) - timedelta(days=1)))
        assert figures == metrics.compute(first, last, scope), (grain, label)


def test_series_query_count_does_not_grow_with_periods(count_queries):
    def measure(grain: str) -> int:
        with count_queries() as counter:
            metrics.series(*Q3, grain)
        return counter.count

    assert measure("day") == measure("month")
