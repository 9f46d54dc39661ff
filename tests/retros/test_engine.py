"""Retro figures come from the one metric engine (app.outcomes.metrics), unmocked: baselines, results, chips."""

from __future__ import annotations

from datetime import date, datetime, timedelta

import pytest

from app.extensions import db
from app.outcomes import metrics
from app.outcomes.models import Case
from app.retros import effects
from app.retros import services as retros
from app.timeutil import to_local, utcnow
from tests.conftest import PASSWORD
from tests.retros.conftest import advance_to


@pytest.fixture(autouse=True)
def engine():
    """Override the fake engine of conftest.py: these tests use the real one."""
    return None


@pytest.fixture(autouse=True)
def _request(app):
    with app.test_request_context():
        yield


def _cases(pod, agent, day: date, *, handed_off: int, kept: int, prefix: str) -> None:
    for i in range(handed_off + kept):
        created = datetime.combine(day, datetime.min.time()) + timedelta(hours=9, minutes=i)
        db.session.add(Case(source="zendesk", external_id=f"{prefix}-{i}", status="solved", created_at=created,
                            first_resolved_at=created + timedelta(hours=3), pod_id=pod.id, assignee_id=agent.id,
                            replies=1, reopens=0, assignee_stations=2 if i < handed_off else 1, group_stations=1,
                            csat_score=5, priority="normal", request_type="information"))
    db.session.commit()


def test_baseline_and_result_are_the_engines_figures(team, make_retro):
    today = to_local(utcnow(), team.pod.timezone).date()  # the pod's day (Madrid runs ahead of UTC)
    _cases(team.pod, team.members[0], today - timedelta(days=5), handed_off=2, kept=2, prefix="BASE")
    retro = make_retro("discuss")
    action = retros.create_action(team.members[1], retro, title="Keep billing cases in the pod",
                                  owner=team.members[0], due_date=today + timedelta(days=14),
                                  principle="end_to_end", metric_code="handoff_rate")
    db.session.commit()
    start, end = effects.window_before(today)
    expected = metrics.compute(start, end, metrics.Scope(pod_id=team.pod.id), ["handoff_rate"],
                               tz=team.pod.timezone)["handoff_rate"]
    assert (action.baseline_value, action.baseline_numerator, action.baseline_denominator) == (
        pytest.approx(0.5), 2, 4)
    assert action.baseline_value == pytest.approx(expected.value) and action.direction == "down"
    assert (action.baseline_start, action.baseline_end) == (start, end)

    advance_to(retro, "closed", team.coach)
    later = datetime.combine(today + timedelta(days=30), datetime.min.time()) + timedelta(hours=9)
    _cases(team.pod, team.members[0], today + timedelta(days=20), handed_off=1, kept=3, prefix="AFTER")
    review = retros.create_retro(team.coach, team.pod, title="Next", template_key="four_ls", facilitator=team.coach,
                                 now=later)
    db.session.commit()
    advance_to(review, "review", team.coach)
    retros.review_action(team.members[0], review, action, "done", now=later)
    db.session.commit()
    assert action.result_value == pytest.approx(0.25) and action.result_denominator == 4
    assert action.worked is True


def test_card_chips_show_the_live_figure_and_the_case(team, make_retro, client):
    _cases(team.pod, team.members[0], date.today() - timedelta(days=3), handed_off=1, kept=3, prefix="CHIP")
    retro = make_retro("reflect")
    retros.add_card(team.members[0], retro, column_key="start", text="Handoffs hurt", case_ref="CHIP-0",
                    metric_code="handoff_rate")
    db.session.commit()
    client.post("/login", data={"email": team.members[0].email, "password": PASSWORD})
    page = client.get(f"/retros/{retro.id}").get_data(as_text=True)
    assert "Case CHIP-0" in page and "Handoff rate: 25.0%" in page
