"""Review services: figures equal the engine's, OKR scoring, the freeze at sign-off, workflow, bad input, jobs."""

from __future__ import annotations

import json
from datetime import date, datetime

import pytest
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from app.extensions import db
from app.outcomes import metrics
from app.outcomes import targets as T
from app.outcomes.models import PodTarget
from app.reviews import services as svc
from app.reviews.models import NarrativeEdit, Review, ReviewStatus

Q3 = (2026, 3)


def _q3_data(team, make_case):
    # Q3 2026: 4 cases, 3 resolved, one reopened, CSAT 2 of 3 good; Q2 and Q3 2025 for comparison.
    make_case(team.pod, date(2026, 7, 6), csat=5)
    make_case(team.pod, date(2026, 8, 7), csat=4, reopens=1)
    make_case(team.pod, date(2026, 9, 14), csat=1, replies=3)
    make_case(team.pod, date(2026, 9, 20), resolved_hours=None)
    make_case(team.pod, date(2026, 5, 10), csat=5)
    make_case(team.pod, date(2025, 8, 10), csat=2)
    make_case(team.other_pod, date(2026, 7, 8), csat=5)
    db.session.commit()


def _row(card, code):
    return next(row for row in card if row["code"] == code)


# --- figures ---------------------------------------------------------------------------------------------------


def test_scorecard_equals_the_engine_with_target_previous_and_last_year(team, make_case):
    _q3_data(team, make_case)
    T.set_pod_targets(team.coach, team.pod, *Q3, {"csat": 0.8, "reopen_rate": 0.5})
    card = svc.scorecard(team.pod, *Q3)
    engine = metrics.compute(date(2026, 7, 1), date(2026, 9, 30), metrics.Scope(pod_id=team.pod.id))
    for row in card:
        assert row["value"] == engine[row["code"]].value
    csat = _row(card, "csat")
    assert (csat["numerator"], csat["denominator"]) == (2, 3)
    assert csat["value"] == pytest.approx(2 / 3) and csat["target"] == 0.8 and csat["status"] == "missed"
    assert csat["previous"] == 1.0 and csat["last_year"] == 0.0
    reopen = _row(card, "reopen_rate")
    assert reopen["value"] == pytest.approx(1 / 3) and reopen["status"] == "met"
    assert _row(card, "volume")["value"] == 4 and _row(card, "volume")["previous"] == 1
    assert _row(card, "fcr")["status"] is None  # no target


def test_quarter_boundaries_are_read_in_the_pods_time_zone(team, make_case):
    # 30 Sep 23:30 UTC is 1 Oct 01:30 in Madrid: a Q4 case for the pod, not Q3.
    make_case(team.pod, date(2026, 9, 30), at=datetime(2026, 9, 30, 23, 30))
    make_case(team.pod, date(2026, 9, 30), at=datetime(2026, 9, 30, 21, 30))  # 23:30 Madrid: still Q3
    db.session.commit()
    assert _row(svc.scorecard(team.pod, *Q3), "volume")["value"] == 1
    assert _row(svc.scorecard(team.pod, 2026, 4), "volume")["value"] == 1
    assert svc.current_quarter(team.pod, datetime(2026, 9, 30, 23, 30)) == (2026, 4)
    assert svc.current_quarter(team.pod, datetime(2026, 9, 30, 21, 30)) == (2026, 3)


# --- OKR scoring -----------------------------------------------------------------------------------------------


@pytest.mark.parametrize("direction, baseline, target, actual, expected", [
    ("higher", 0.6, 0.8, 0.7, 0.5),            # halfway
    ("higher", 0.6, 0.8, 0.9, 1.0),            # overshoot clamps to 1
    ("higher", 0.6, 0.8, 0.5, 0.0),            # wrong direction clamps to 0
    ("lower", 60.0, 40.0, 50.0, 0.5),          # lower is better: halfway down
    ("lower", 60.0, 40.0, 70.0, 0.0),          # got worse
    ("lower", 60.0, 40.0, 30.0, 1.0),          # overshoot
    ("higher", 0.8, 0.8, 0.8, 1.0),            # target equals baseline, held
    ("higher", 0.8, 0.8, 0.79, 0.0),           # target equals baseline, slipped
    ("lower", 0.05, 0.05, 0.04, 1.0),          # target equals baseline, better
    ("lower", 0.05, 0.05, 0.06, 0.0),
    ("higher", None, 0.8, 0.7, None),          # no baseline
    ("higher", 0.6, 0.8, None, None),          # no actual
])
def test_key_result_score(direction, baseline, target, actual, expected):
    code = {"higher": "fcr", "lower": "reopen_rate"}[direction]  # a metric where higher / lower is better
    score = svc.score_key_result(code, baseline, target, actual)
    assert score == (pytest.approx(expected) if expected is not None else None)


def test_objective_score_and_bands():
    assert svc.objective_score([1.0, 0.5, None]) == pytest.approx(0.75)
    assert svc.objective_score([None]) is None
    assert [svc.score_band(s) for s in (1.0, 0.7, 0.699, 0.69, 0.4, 0.39, 0.0, None)] == \
        ["green", "green", "green", "amber", "amber", "red", "red", None]


# --- objectives become targets --------------------------------------------------------------------------------


def test_key_result_takes_its_baseline_from_the_engine_and_sets_next_quarters_target(team, make_case):
    _q3_data(team, make_case)
    review = svc.open_review(team.coach, team.pod, *Q3)
    objective = svc.add_objective(team.coach, review, "Happier customers")
    kr = svc.add_key_result(team.coach, objective, "csat", svc.parse_target("csat", "80"), 7)
    db.session.commit()
    assert kr.baseline == pytest.approx(2 / 3) and kr.target == 0.8 and kr.confidence == 7
    assert T.targets_for([team.pod.id], 2026, 4)[team.pod.id] == {"csat": 0.8}
    # Q4's review scores Q3's objectives against Q4's actuals.
    make_case(team.pod, date(2026, 10, 5), csat=5)
    make_case(team.pod, date(2026, 10, 6), csat=5)
    make_case(team.pod, date(2026, 10, 7), csat=2)
    db.session.commit()
    q4 = svc.open_review(team.coach, team.pod, 2026, 4)
    okr = svc.gather(q4)["okrs"][0]
    assert okr["title"] == "Happier customers"
    assert okr["key_results"][0]["actual"] == pytest.approx(2 / 3)
    assert okr["score"] == 0.0 and okr["band"] == "red"
    assert _row(svc.gather(q4)["scorecard"], "csat")["target"] == 0.8
    svc.set_confidence(team.coach, kr, "3")
    assert kr.confidence == 3


@pytest.mark.parametrize("metric, raw", [("csat", "abc"), ("csat", "120"), ("csat", "-1"), ("volume", "10"),
                                         ("nope", "5"), ("csat", "nan"), ("first_reply_p50", "inf")])
def test_bad_targets_are_refused(metric, raw):
    with pytest.raises(svc.ReviewError):
        svc.parse_target(metric, raw)


@pytest.mark.parametrize("raw", ["-1", "11", "x", "", "5.5"])
def test_bad_confidence_is_refused(raw):
    with pytest.raises(svc.ReviewError):
        svc.parse_confidence(raw)


def test_duplicate_key_result_and_bad_objective(team):
    review = svc.open_review(team.coach, team.pod, *Q3)
    with pytest.raises(svc.ReviewError):
        svc.add_objective(team.coach, review, "   ")
    with pytest.raises(svc.ReviewError):
        svc.add_objective(team.coach, review, "x" * 201)
    objective = svc.add_objective(team.coach, review, "Fast")
    svc.add_key_result(team.coach, objective, "first_reply_p50", 30.0, 5)
    with pytest.raises(svc.ReviewError) as error:
        svc.add_key_result(team.coach, objective, "first_reply_p50", 20.0, 5)
    assert error.value.status == 409


# --- open, narrative, workflow, freeze -------------------------------------------------------------------------


def test_open_is_idempotent_and_unique_per_pod_and_quarter(team):
    first = svc.open_review(team.coach, team.pod, *Q3)
    again = svc.open_review(team.leader, team.pod, *Q3)
    assert first.id == again.id and first.status == ReviewStatus.DRAFT.value
    db.session.add(Review(pod_id=team.pod.id, year=2026, quarter=3))
    with pytest.raises(IntegrityError):
        db.session.flush()
    db.session.rollback()
    with pytest.raises(svc.ReviewError):
        svc.open_review(team.coach, team.pod, 1999, 1)
    with pytest.raises(svc.ReviewError) as error:
        svc.open_review(team.other_coach, team.pod, 2026, 2)
    assert error.value.status == 403
    with pytest.raises(svc.ReviewError):
        svc.open_review(team.agent, team.pod, 2026, 2)


def test_narrative_keeps_every_edit_with_who_and_when(team):
    review = svc.open_review(team.coach, team.pod, *Q3)
    svc.save_narrative(team.coach, review, "wins", "FCR up", now=datetime(2026, 9, 20, 9))
    assert svc.save_narrative(team.coach, review, "wins", "FCR up") is None  # unchanged: no new version
    svc.save_narrative(team.leader, review, "wins", "FCR up 4 points", now=datetime(2026, 9, 21, 9))
    current = svc.narrative(review)
    assert current["wins"].text == "FCR up 4 points" and current["wins"].author_id == team.leader.id
    assert current["misses"] is None
    edits = [(e.text, e.author_id, e.created_at) for e in svc.history(review)]
    assert edits == [("FCR up 4 points", team.leader.id, datetime(2026, 9, 21, 9)),
                     ("FCR up", team.coach.id, datetime(2026, 9, 20, 9))]
    with pytest.raises(svc.ReviewError):
        svc.save_narrative(team.coach, review, "gossip", "x")
    with pytest.raises(svc.ReviewError):
        svc.save_narrative(team.coach, review, "wins", "x" * 5001)
    with pytest.raises(svc.ReviewError) as error:
        svc.save_narrative(team.other_coach, review, "wins", "x")
    assert error.value.status == 403


def test_sign_off_freezes_the_figures_and_a_later_import_does_not_change_them(team, make_case):
    _q3_data(team, make_case)
    review = svc.open_review(team.coach, team.pod, *Q3)
    svc.submit(team.coach, review)
    with pytest.raises(svc.ReviewError) as error:
        svc.sign_off(team.coach, review)
    assert error.value.status == 403
    svc.sign_off(team.leader, review, now=datetime(2026, 10, 3, 9))
    db.session.commit()
    assert (review.status, review.signed_by_id, review.signed_at) == (
        ReviewStatus.SIGNED_OFF.value, team.leader.id, datetime(2026, 10, 3, 9))
    frozen = svc.content(review)
    assert _row(frozen["scorecard"], "volume")["value"] == 4
    # A later import adds Q3 cases and a target: the live figures move, the signed review does not.
    for day in (3, 4, 5):
        make_case(team.pod, date(2026, 8, day), csat=1)
    T.set_pod_targets(team.leader, team.pod, *Q3, {"csat": 0.95})
    db.session.commit()
    assert _row(svc.gather(review)["scorecard"], "volume")["value"] == 7
    signed = db.session.get(Review, review.id)
    assert svc.content(signed) == frozen
    assert _row(svc.content(signed)["scorecard"], "csat")["target"] is None
    # Signed off: no edits until a leader reopens it with a reason.
    with pytest.raises(svc.ReviewError) as error:
        svc.save_narrative(team.coach, signed, "wins", "late")
    assert error.value.status == 409
    with pytest.raises(svc.ReviewError):
        svc.reopen(team.coach, signed, "typo")
    with pytest.raises(svc.ReviewError):
        svc.reopen(team.leader, signed, "  ")
    svc.reopen(team.leader, signed, "Corrected import for August")
    assert signed.status == ReviewStatus.DRAFT.value and signed.reopen_reason == "Corrected import for August"
    assert signed.snapshot is None and _row(svc.content(signed)["scorecard"], "volume")["value"] == 7


def test_snapshot_is_plain_json(team, make_case):
    _q3_data(team, make_case)
    review = svc.open_review(team.coach, team.pod, *Q3)
    svc.submit(team.coach, review)
    svc.sign_off(team.leader, review)
    data = json.loads(review.snapshot)
    assert data["pod"] == "Home pod" and data["quarter"] == "2026-Q3" and len(data["scorecard"]) == len(metrics.METRICS)


def test_transitions_are_conditional(team):
    review = svc.open_review(team.coach, team.pod, *Q3)
    with pytest.raises(svc.ReviewError):
        svc.sign_off(team.leader, review)  # still a draft
    svc.submit(team.coach, review)
    with pytest.raises(svc.ReviewError):
        svc.submit(team.coach, review)
    # Someone else signs off in the meantime: our stale copy cannot sign off again.
    db.session.execute(Review.__table__.update().where(Review.id == review.id).values(status="signed_off"))
    with pytest.raises(svc.ReviewError) as error:
        svc._transition(review, ReviewStatus.IN_REVIEW.value, {"status": "signed_off"})
    assert error.value.status == 409


# --- the job ---------------------------------------------------------------------------------------------------


def test_draft_job_opens_reviews_only_in_the_last_two_weeks(team):
    assert svc.draft_next_reviews(datetime(2026, 9, 10, 8)) == 0
    assert svc.draft_next_reviews(datetime(2026, 9, 20, 8)) == 2
    assert svc.draft_next_reviews(datetime(2026, 9, 21, 8)) == 0  # already there
    reviews = db.session.scalars(select(Review).order_by(Review.pod_id)).all()
    assert [(r.pod_id, r.year, r.quarter, r.status, r.opened_by_id) for r in reviews] == [
        (team.pod.id, 2026, 3, "draft", None), (team.other_pod.id, 2026, 3, "draft", None)]
    assert svc.in_draft_window(date(2026, 12, 18)) and not svc.in_draft_window(date(2026, 12, 17))


def test_draft_job_is_registered(app):
    from app.scheduler.jobs import JOBS

    assert "draft_reviews" in JOBS


def test_nothing_is_stored_for_a_refused_change(team):
    review = svc.open_review(team.coach, team.pod, *Q3)
    with pytest.raises(svc.ReviewError):
        svc.save_narrative(team.agent, review, "wins", "x")
    assert db.session.scalar(select(NarrativeEdit.id)) is None
    assert db.session.scalar(select(PodTarget.id)) is None


def test_activity_counts_each_features_data_for_the_quarter(team, make_case):
    from app.autonomy.models import ActionType, Decision
    from app.recognition.models import Recognition
    from app.retros.models import Retro, RetroAction
    from app.standups.models import Blocker

    aug = datetime(2026, 8, 10, 9)
    db.session.add_all([
        Blocker(pod_id=team.pod.id, description="VPN down", raised_day=date(2026, 8, 10), raised_at=aug,
                resolved_at=datetime(2026, 8, 12, 9), status="resolved"),
        Blocker(pod_id=team.pod.id, description="Old", raised_day=date(2026, 5, 10), raised_at=datetime(2026, 5, 10)),
    ])
    refund = ActionType(code="refund", name="Refund", unit="money", currency="EUR")
    db.session.add(refund)
    db.session.flush()
    for status, within in (("done", True), ("done", True), ("approved", False), ("rejected", False)):
        db.session.add(Decision(decided_at=aug, requested_at=aug, within_limit=within, status=status,
                                agent_id=team.agent.id, pod_id=team.pod.id, action_type_id=refund.id, amount=100))
    db.session.add(Decision(decided_at=aug, requested_at=aug, within_limit=True, status="done",
                            agent_id=team.other_agent.id, pod_id=team.other_pod.id, action_type_id=refund.id,
                            amount=100))
    retro = Retro(pod_id=team.pod.id, title="July retro", template_key="start_stop_continue", columns=[])
    db.session.add(retro)
    db.session.flush()
    db.session.add_all([
        RetroAction(retro_id=retro.id, pod_id=team.pod.id, title="Guide", due_date=date(2026, 8, 1),
                    principle="end_to_end", status="done", direction="up", baseline_value=0.6, result_value=0.7),
        RetroAction(retro_id=retro.id, pod_id=team.pod.id, title="Macro", due_date=date(2026, 8, 2),
                    principle="end_to_end", status="done", direction="up", baseline_value=0.6, result_value=0.5),
        RetroAction(retro_id=retro.id, pod_id=team.pod.id, title="Call", due_date=date(2026, 9, 2),
                    principle="end_to_end", status="open"),
        RetroAction(retro_id=retro.id, pod_id=team.pod.id, title="Later", due_date=date(2026, 10, 2),
                    principle="end_to_end", status="open"),
    ])
    db.session.add(Recognition(giver_id=team.coach.id, pod_id=team.pod.id, message="Great save",
                               principle="customer_centric", evidence_kind="metric", created_at=aug))
    db.session.commit()
    a = svc.activity(team.pod, *Q3)
    assert (a["standups"]["blockers_raised"], a["standups"]["blockers_resolved"]) == (1, 1)
    assert a["retro_actions"] == {"total": 3, "done": 2, "confirmed_effect": 1, "open": 1, "dropped": 0}
    assert a["autonomy"]["decisions"] == 4 and a["autonomy"]["within_limit"] == 2
    assert a["autonomy"]["approval_rate"] == 0.5
    assert a["recognition"]["total"] == 1
