"""The pilot effect (difference in differences): recovers a known effect within its 90 % interval, covers 0 when
there is none, gives the same interval on every run, and says "not enough data yet" until the windows fill."""

from __future__ import annotations

import itertools
import random
from datetime import date, datetime, timedelta

import pytest
from sqlalchemy import insert

from app.extensions import db
from app.outcomes.models import Case
from app.pilots import effects as E

N = 56


def synthetic(effect: float, seed: int, p_rate: float = 0.30, c_rate: float = 0.25, trend: float = 0.02) -> E.Days:
    """Per-day counts: 40 pilot and 150 comparison cases a day; both groups drift by `trend` after the start (which
    DiD removes) and the pilot cells move by `effect` more."""
    rng = random.Random(seed)
    days = E.Days([], [], [], [])
    for index in range(2 * N):
        after = index >= N
        p = p_rate + (trend + effect if after else 0)
        c = c_rate + (trend if after else 0)
        days.p_den.append(40)
        days.p_num.append(sum(rng.random() < p for _ in range(40)))
        days.c_den.append(150)
        days.c_num.append(sum(rng.random() < c for _ in range(150)))
    return days


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_a_known_effect_is_recovered_within_its_interval(seed):
    effect, low, high = E.did_interval(synthetic(-0.10, seed), N)
    assert low <= -0.10 <= high
    assert high < 0  # clearly an improvement
    assert abs(effect - -0.10) < 0.04


@pytest.mark.parametrize("seed", [4, 5, 6])
def test_no_effect_gives_an_interval_that_covers_zero(seed):
    effect, low, high = E.did_interval(synthetic(0.0, seed), N)
    assert low <= 0 <= high
    assert low < effect < high


def test_the_interval_is_the_same_on_every_run():
    days = synthetic(-0.05, 9)
    assert E.did_interval(days, N) == E.did_interval(days, N) == E.did_interval(days, N, E.resamples(N))


_ids = itertools.count(1)


def _cases(segment_id, stage_id, start: date, days: int, per_day: int, handed_share: float, seed: int):
    rng = random.Random(seed)
    out = []
    for offset in range(days):
        day = datetime.combine(start + timedelta(days=offset), datetime.min.time()) + timedelta(hours=11)
        for _ in range(per_day):
            handed = rng.random() < handed_share
            out.append(dict(source="podium", external_id=f"e{next(_ids)}", status="solved", created_at=day,
                            first_resolved_at=day + timedelta(hours=1), resolution_minutes=60,
                            segment_id=segment_id, stage_id=stage_id, request_type="service_request", replies=1,
                            reopens=0, group_stations=2 if handed else 1, assignee_stations=1, escalated=False))
    return out


@pytest.fixture
def world(app, make_segment, stages):
    pilot_segment, other = make_segment("Pilot segment"), make_segment("Other segment")
    return {"pilot": (pilot_segment.id, stages[3].id), "rest": (other.id, stages[3].id),
            "rest2": (pilot_segment.id, stages[2].id)}


def test_measure_recovers_the_effect_from_cases(world):
    start = date(2026, 6, 1)
    before = start - timedelta(days=N)
    rows = (_cases(*world["pilot"], before, N, 6, 0.40, 1) + _cases(*world["pilot"], start, N, 6, 0.15, 2)
            + _cases(*world["rest"], before, 2 * N, 10, 0.20, 3) + _cases(*world["rest2"], before, 2 * N, 5, 0.20, 4))
    db.session.execute(insert(Case), rows)
    db.session.commit()
    found = E.measure([world["pilot"]], [world["pilot"]], start, start + timedelta(days=200),
                      ["handoff_rate", "rework_rate", "escalation_rate"], "UTC")
    handoff = found["handoff_rate"]
    assert handoff.enough and handoff.days == N
    assert handoff.p_resolved == (6 * N, 6 * N)
    assert handoff.samples == {"p_before": 6 * N, "p_after": 6 * N, "c_before": 15 * N, "c_after": 15 * N}
    assert handoff.effect == pytest.approx((handoff.p_after - handoff.p_before) - (handoff.c_after - handoff.c_before))
    assert handoff.low <= -0.25 <= handoff.high and handoff.high < 0
    assert found["rework_rate"].effect == pytest.approx(handoff.effect)  # rework here is only handoffs
    escalation = found["escalation_rate"]
    assert escalation.effect == 0 and escalation.low == 0 == escalation.high
    assert len(handoff.weekly) == 16
    again = E.measure([world["pilot"]], [world["pilot"]], start, start + timedelta(days=200), ["handoff_rate"], "UTC")
    assert (again["handoff_rate"].low, again["handoff_rate"].high) == (handoff.low, handoff.high)


def test_not_enough_data_until_the_windows_fill(world):
    start = date(2026, 6, 1)
    db.session.execute(insert(Case), _cases(*world["pilot"], start - timedelta(days=30), 40, 6, 0.3, 5)
                       + _cases(*world["rest"], start - timedelta(days=30), 40, 6, 0.3, 6))
    db.session.commit()
    early = E.measure([world["pilot"]], [world["pilot"]], start, start + timedelta(days=8), ["handoff_rate"], "UTC")
    assert not early["handoff_rate"].enough and early["handoff_rate"].effect is None
    assert early["handoff_rate"].days == 8
    # two weeks in: the windows are long enough, but the pilot cells have 60 resolved cases since the start
    later = E.measure([world["pilot"]], [world["pilot"]], start, start + timedelta(days=14), ["handoff_rate"], "UTC")
    assert later["handoff_rate"].days == 14
    assert later["handoff_rate"].p_resolved[1] < E.MIN_RESOLVED and not later["handoff_rate"].enough
    nothing = E.measure([world["pilot"]], [world["pilot"]], start, start, ["handoff_rate"], "UTC")
    assert nothing["handoff_rate"].days == 0 and not nothing["handoff_rate"].enough
