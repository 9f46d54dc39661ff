"""Autonomy rules: precedence, conditions, period caps, versioning, routing, approvals, escalation, fitness."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest
from sqlalchemy import func, select

from app.autonomy import services as svc
from app.autonomy.models import ActionType, Decision, LimitVersion, Proposal
from app.extensions import db
from app.notifications.models import Notification
from app.outcomes.models import Case

from .conftest import NOW

# --- catalog ------------------------------------------------------------------------------------------------


def test_catalog_seed_is_idempotent_and_keeps_admin_edits(catalog, team):
    assert [a.code for a in svc.action_types()] == ["refund", "goodwill_credit", "fee_waiver", "replacement",
                                                    "payment_extension", "plan_change", "contract_exception"]
    assert catalog["refund"].unit == "money" and catalog["refund"].currency == "EUR"
    assert catalog["payment_extension"].unit == "days" and catalog["replacement"].unit == "count"
    svc.save_action_type(team.admin, catalog["refund"], code="refund", name="Refund to card", unit="money",
                         currency="GBP", position=1)
    svc.ensure_action_types()
    db.session.commit()
    assert db.session.scalar(select(func.count()).select_from(ActionType)) == 7
    assert catalog["refund"].name == "Refund to card" and catalog["refund"].currency == "GBP"


@pytest.mark.parametrize("kwargs", [
    {"code": "", "name": "X", "unit": "count", "currency": None},
    {"code": "x", "name": "X", "unit": "weight", "currency": None},
    {"code": "x", "name": "X", "unit": "money", "currency": "XYZ"},
    {"code": "x", "name": "X", "unit": "money", "currency": ""},
    {"code": "refund", "name": "Another", "unit": "count", "currency": None},
])
def test_catalog_bad_input(catalog, team, kwargs):
    with pytest.raises(svc.AutonomyError):
        svc.save_action_type(team.admin, None, **kwargs)


def test_only_admin_edits_catalog(catalog, team):
    with pytest.raises(svc.AutonomyError) as err:
        svc.save_action_type(team.leader, None, code="x", name="X", unit="count", currency=None)
    assert err.value.status == 403


# --- precedence, conditions, versions -----------------------------------------------------------------------


def test_most_specific_limit_wins(team, catalog, set_limit):
    refund = catalog["refund"].id
    set_limit(per_case=1000)
    assert svc.limit_in_force(team.agent, refund, team.pod.id).per_case_max == 1000
    set_limit(per_case=2000, role="agent")
    assert svc.limit_in_force(team.agent, refund, team.pod.id).per_case_max == 2000
    assert svc.limit_in_force(team.coach, refund, team.pod.id).per_case_max == 1000, "role limit is for agents"
    set_limit(per_case=3000, pod_id=team.pod.id)
    assert svc.limit_in_force(team.agent, refund, team.pod.id).per_case_max == 3000
    assert svc.limit_in_force(team.other_agent, refund, team.other_pod.id).per_case_max == 2000
    set_limit(per_case=500, agent_id=team.agent.id)
    assert svc.limit_in_force(team.agent, refund, team.pod.id).per_case_max == 500, "agent beats pod even lower"
    assert svc.limit_in_force(team.mate, refund, team.pod.id).per_case_max == 3000


def test_conditions_apply_only_to_matching_cases(team, catalog, set_limit, make_segment, stages):
    enterprise, residential = make_segment("Enterprise"), make_segment("Residential")
    refund = catalog["refund"].id
    set_limit(per_case=1000)
    set_limit(per_case=9000, segment_id=enterprise.id, request_type="complaint")
    lookup = lambda **kw: svc.limit_in_force(team.agent, refund, team.pod.id, **kw).per_case_max  # noqa: E731
    assert lookup() == 1000
    assert lookup(segment_id=residential.id, request_type="complaint") == 1000
    assert lookup(segment_id=enterprise.id) == 1000, "every condition must match"
    assert lookup(segment_id=enterprise.id, request_type="complaint") == 9000
    # A more specific level still wins over a conditional org limit.
    set_limit(per_case=300, pod_id=team.pod.id)
    assert lookup(segment_id=enterprise.id, request_type="complaint") == 300


def test_conditions_from_the_known_case(team, catalog, set_limit, make_segment, stages, log):
    enterprise = make_segment("Enterprise")
    db.session.add(Case(source="podium", external_id="C-77", segment_id=enterprise.id, stage_id=stages[2].id,
                        request_type="claim", status="open", created_at=NOW - timedelta(days=1)))
    db.session.commit()
    set_limit(per_case=1000)
    set_limit(per_case=9000, segment_id=enterprise.id)
    decision = log(amount="50.00", case_ref="C-77")
    assert decision.status == "done" and decision.segment_id == enterprise.id and decision.request_type == "claim"


def test_a_change_is_a_new_version_and_decisions_keep_theirs(team, catalog, set_limit, log):
    v1 = set_limit(per_case=1000, reason="start")
    first = log(amount="20.00")
    assert first.status == "pending" and first.limit_version_id == v1.id
    v2 = set_limit(per_case=3000, reason="raised after review", now=datetime(2026, 2, 1))
    second = log(amount="20.00", now=NOW + timedelta(minutes=1))
    assert second.status == "done" and second.limit_version_id == v2.id
    db.session.refresh(v1)
    assert (v1.number, v1.per_case_max, v1.reason) == (1, 1000, "start"), "history is never rewritten"
    assert (v2.number, v2.limit_id, v2.created_by_id) == (2, v1.limit_id, team.leader.id)
    assert db.session.get(Decision, first.id).limit_version_id == v1.id


def test_retiring_falls_back_to_the_next_level(team, catalog, set_limit):
    set_limit(per_case=1000)
    pod_version = set_limit(per_case=4000, pod_id=team.pod.id)
    svc.retire_limit(team.leader, pod_version.limit, "pod merged", now=datetime(2026, 2, 2))
    db.session.commit()
    assert svc.limit_in_force(team.agent, catalog["refund"].id, team.pod.id).per_case_max == 1000
    assert db.session.scalar(select(func.count()).select_from(LimitVersion)) == 3


@pytest.mark.parametrize("values", [
    svc.LimitInput(-1), svc.LimitInput(100, "year"), svc.LimitInput(100, None, 500),
    svc.LimitInput(100, "day", 50), svc.LimitInput(100, approver_role="agent"), svc.LimitInput(10 ** 12),
])
def test_bad_limits_are_refused(team, catalog, values):
    with pytest.raises(svc.AutonomyError):
        svc.set_limit(team.leader, catalog["refund"], level="org", values=values, reason="x")


def test_who_sets_and_who_proposes(team, catalog, ctx):
    with pytest.raises(svc.AutonomyError) as err:
        svc.set_limit(team.coach, catalog["refund"], level="org", values=svc.LimitInput(100), reason="x")
    assert err.value.status == 403
    with pytest.raises(svc.AutonomyError) as err:
        svc.propose_change(team.coach, catalog["refund"], level="pod", pod_id=team.other_pod.id,
                           values=svc.LimitInput(100), reason="x")
    assert err.value.status == 403
    with pytest.raises(svc.AutonomyError):
        svc.propose_change(team.agent, catalog["refund"], level="agent", agent_id=team.agent.id,
                           values=svc.LimitInput(100), reason="x")
    proposal = svc.propose_change(team.coach, catalog["refund"], level="agent", agent_id=team.agent.id,
                                  values=svc.LimitInput(7000), reason="billing specialist", now=NOW)
    db.session.commit()
    assert db.session.scalar(select(Notification.kind).where(Notification.user_id == team.leader.id)) \
        == "autonomy_proposal"
    with pytest.raises(svc.AutonomyError):
        svc.accept_proposal(team.coach, proposal)
    version = svc.accept_proposal(team.leader, proposal, now=NOW)
    db.session.commit()
    assert proposal.status == "accepted" and proposal.result_version_id == version.id
    assert svc.limit_in_force(team.agent, catalog["refund"].id, team.pod.id).per_case_max == 7000
    with pytest.raises(svc.AutonomyError) as err:
        svc.dismiss_proposal(team.leader, proposal)
    assert err.value.status == 409


# --- decisions and caps -------------------------------------------------------------------------------------


def test_within_limit_is_done_above_is_pending(team, catalog, set_limit, log):
    set_limit(per_case=5000)
    assert log(amount="50.00").status == "done"
    above = log(amount="50.01")
    assert above.status == "pending" and not above.within_limit and above.exceeded == "per_case"


def test_no_limit_means_ask(team, catalog, log):
    decision = log(code="contract_exception", amount="1")
    assert decision.status == "pending" and decision.exceeded == "no_limit" and decision.limit_version_id is None


def test_period_cap_counts_only_own_done_decisions_in_the_period(team, catalog, set_limit, log):
    set_limit(per_case=5000, period="day", cap=8000)
    assert log(amount="50.00").status == "done"
    assert log(amount="40.00").exceeded == "period_cap", "50 + 40 > 80"
    assert log(amount="30.00").status == "done", "pending requests do not use the allowance"
    assert log(user=team.mate, amount="50.00").status == "done", "each agent has their own cap"
    assert log(code="goodwill_credit", amount="1.00").exceeded == "no_limit"


def test_day_cap_resets_at_local_midnight_in_the_pods_time_zone(team, catalog, set_limit, log, make_user,
                                                                make_pod):
    set_limit(per_case=5000, period="day", cap=5000)
    # Madrid is UTC+1 in winter: 22:30 UTC is already the next local day.
    assert log(amount="50.00", now=datetime(2026, 3, 10, 22, 0)).status == "done"   # 23:00 local, 10 March
    assert log(amount="10.00", now=datetime(2026, 3, 10, 22, 59)).exceeded == "period_cap"
    assert log(amount="50.00", now=datetime(2026, 3, 10, 23, 0)).status == "done"   # 00:00 local, 11 March
    # The same UTC moments for a pod in New York are the same local day.
    ny_agent = make_user("agent")
    make_pod("NY pod", members=[ny_agent], timezone="America/New_York")
    assert log(user=ny_agent, amount="50.00", now=datetime(2026, 3, 10, 22, 0)).status == "done"
    assert log(user=ny_agent, amount="10.00", now=datetime(2026, 3, 10, 23, 0)).exceeded == "period_cap"


@pytest.mark.parametrize("period, inside, outside", [
    ("week", datetime(2026, 3, 15, 22, 59), datetime(2026, 3, 15, 23, 0)),   # Sunday 23:59 / Monday 00:00 local
    ("month", datetime(2026, 3, 31, 21, 59), datetime(2026, 3, 31, 22, 0)),  # CEST from 29 March: UTC+2
])
def test_week_and_month_boundaries(team, catalog, set_limit, log, period, inside, outside):
    set_limit(per_case=5000, period=period, cap=5000)
    assert log(amount="50.00", now=datetime(2026, 3, 11, 9, 0)).status == "done"
    assert log(amount="1.00", now=inside).exceeded == "period_cap"
    assert log(amount="50.00", now=outside).status == "done"


def test_per_customer_cap(team, catalog, set_limit, log):
    set_limit(per_case=5000, period="month", cap=50000, customer_cap=6000)
    assert log(amount="40.00", customer="CUST-1").status == "done"
    assert log(amount="30.00", customer="CUST-1").exceeded == "customer_cap"
    assert log(amount="30.00", customer="CUST-2").status == "done"
    stored = db.session.scalar(select(Decision.customer_ref).where(Decision.amount == 4000))
    assert stored and "CUST-1" not in stored, "customer references are pseudonymous"


@pytest.mark.parametrize("amount, message", [
    ("-5", "more than zero"), ("0", "more than zero"), ("0.00", "more than zero"), ("abc", "number"),
    ("1e9", "number"), ("12a", "number"), ("99999999999999", "number"), ("12.345", "two decimals"), ("99999999999", "too large"), ("", "Enter the amount"),
    ("NaN", "number"), ("Infinity", "number"),
])
def test_bad_amounts(team, catalog, set_limit, amount, message, ctx):
    set_limit(per_case=5000)
    with pytest.raises(svc.AutonomyError) as err:
        svc.log_decision(team.agent, catalog["refund"], amount=amount, currency="EUR", case_ref="Z", rationale="r",
                         now=NOW)
    assert message in str(err.value.message) and err.value.status == 400
    assert db.session.scalar(select(func.count()).select_from(Decision)) == 0


@pytest.mark.parametrize("code, amount, currency", [
    ("refund", "10", "XXQ"), ("refund", "10", ""), ("refund", "10", "USD"), ("payment_extension", "3", "EUR"),
    ("payment_extension", "2.5", None),
])
def test_bad_currency_or_unit(team, catalog, code, amount, currency, ctx):
    with pytest.raises(svc.AutonomyError):
        svc.log_decision(team.agent, catalog[code], amount=amount, currency=currency, case_ref="Z", rationale="r",
                         now=NOW)


def test_decision_for_a_pod_you_are_not_in_is_refused(team, catalog, ctx):
    with pytest.raises(svc.AutonomyError) as err:
        svc.log_decision(team.agent, catalog["refund"], amount="1", currency="EUR", case_ref="Z", rationale="r",
                         pod_id=team.other_pod.id, now=NOW)
    assert err.value.status == 403


# --- routing and approvals ----------------------------------------------------------------------------------


def test_routed_to_the_coach_within_the_coachs_own_limit(team, catalog, set_limit, log):
    set_limit(per_case=5000)
    set_limit(per_case=20000, role="coach")
    decision = log(amount="150.00")
    assert (decision.approver_level, decision.approver_id) == ("coach", team.coach.id)
    kinds = dict(db.session.execute(select(Notification.user_id, Notification.kind)).all())
    assert kinds == {team.coach.id: "autonomy_request"}


def test_above_the_coachs_own_limit_goes_to_a_leader(team, catalog, set_limit, log):
    set_limit(per_case=5000)
    set_limit(per_case=20000, role="coach")
    decision = log(amount="250.00")
    assert decision.approver_level == "leader" and decision.approver_id is None
    with pytest.raises(svc.AutonomyError) as err:
        svc.resolve_decision(team.coach, decision, approve=True, now=NOW)
    assert err.value.status == 403
    assert svc.pending_for(team.coach) == [] and svc.pending_for(team.leader) == [decision]


def test_limit_can_name_the_leader_as_approver(team, catalog, set_limit, log):
    set_limit(per_case=5000, approver="leader")
    set_limit(per_case=20000, role="coach")
    assert log(amount="60.00").approver_level == "leader"


def test_who_may_approve(team, catalog, set_limit, log):
    set_limit(per_case=5000)
    set_limit(per_case=20000, role="coach")
    decision = log(amount="60.00")
    for user in (team.agent, team.mate, team.other_coach, team.other_agent):
        assert not svc.can_approve(user, decision)
        with pytest.raises(svc.AutonomyError) as err:
            svc.resolve_decision(user, decision, approve=True, now=NOW)
        assert err.value.status == 403
    assert svc.can_approve(team.coach, decision) and svc.can_approve(team.leader, decision)
    assert svc.pending_for(team.other_coach) == [] and svc.pending_for(team.coach) == [decision]


def test_approve_and_reject_with_comment_notify_the_agent(team, catalog, set_limit, log):
    set_limit(per_case=5000)
    set_limit(per_case=20000, role="coach")
    first, second = log(amount="60.00"), log(amount="70.00", case_ref="Z-2")
    with pytest.raises(svc.AutonomyError):
        svc.resolve_decision(team.coach, second, approve=False, comment="  ", now=NOW)
    svc.resolve_decision(team.coach, first, approve=True, comment="fine", now=NOW + timedelta(hours=1))
    svc.resolve_decision(team.coach, second, approve=False, comment="too much", now=NOW + timedelta(hours=1))
    db.session.commit()
    assert (first.status, first.decided_by_id, first.comment) == ("approved", team.coach.id, "fine")
    assert (second.status, second.comment) == ("rejected", "too much")
    kinds = sorted(db.session.scalars(select(Notification.kind).where(Notification.user_id == team.agent.id)))
    assert kinds == ["autonomy_approved", "autonomy_rejected"]
    with pytest.raises(svc.AutonomyError) as err:
        svc.resolve_decision(team.leader, first, approve=False, comment="late", now=NOW)
    assert err.value.status == 409


def test_coach_own_request_goes_to_a_leader(team, catalog, set_limit, log):
    set_limit(per_case=5000, role="coach")
    decision = log(user=team.coach, amount="60.00")
    assert decision.approver_level == "leader"
    assert not svc.can_approve(team.coach, decision)


def test_agent_withdraws_own_pending_request(team, catalog, set_limit, log):
    set_limit(per_case=100)
    decision = log(amount="60.00")
    with pytest.raises(svc.AutonomyError):
        svc.cancel_decision(team.mate, decision)
    svc.cancel_decision(team.agent, decision, now=NOW)
    assert decision.status == "cancelled"
    with pytest.raises(svc.AutonomyError):
        svc.cancel_decision(team.agent, decision, now=NOW)


# --- escalation ----------------------------------------------------------------------------------------------


def test_working_minutes_skip_nights_and_weekends():
    madrid = "Europe/Madrid"
    # Friday 16:00 local to Monday 10:00 local: 1 h on Friday + 1 h on Monday.
    assert svc.working_minutes_between(datetime(2026, 3, 13, 15, 0), datetime(2026, 3, 16, 9, 0), madrid,
                                       "12345", 9, 17) == 120
    assert svc.working_minutes_between(datetime(2026, 3, 14, 9, 0), datetime(2026, 3, 15, 15, 0), madrid,
                                       "12345", 9, 17) == 0
    assert svc.working_minutes_between(datetime(2026, 3, 14, 9, 0), datetime(2026, 3, 14, 10, 0), madrid,
                                       "123456", 9, 17) == 60


def test_escalation_after_four_working_hours(team, catalog, set_limit, log):
    set_limit(per_case=100)
    set_limit(per_case=20000, role="coach")
    requested = datetime(2026, 3, 13, 13, 0)  # Friday 14:00 Madrid
    decision = log(amount="60.00", now=requested)
    assert decision.approver_level == "coach"
    assert svc.escalate_overdue(now=datetime(2026, 3, 16, 8, 59)) == 0  # 3 h on Friday + 0 h Monday 09:59
    assert svc.escalate_overdue(now=datetime(2026, 3, 16, 9, 0)) == 1   # Monday 10:00 local: 4 working hours
    db.session.commit()
    db.session.refresh(decision)
    assert decision.approver_level == "leader" and decision.escalated_at == datetime(2026, 3, 16, 9, 0)
    assert decision in svc.pending_for(team.leader) and svc.pending_for(team.coach) == []
    assert db.session.scalar(select(Notification.kind).where(Notification.user_id == team.leader.id)) \
        == "autonomy_escalated"
    assert svc.escalate_overdue(now=datetime(2026, 3, 20, 9, 0)) == 0, "escalates once"


def test_escalation_setting_is_read(team, catalog, set_limit, log):
    set_limit(per_case=100)
    set_limit(per_case=20000, role="coach")
    svc.get_settings().escalation_hours = 1
    log(amount="60.00", now=datetime(2026, 3, 11, 9, 0))  # 10:00 Madrid
    assert svc.escalate_overdue(now=datetime(2026, 3, 11, 9, 59)) == 0
    assert svc.escalate_overdue(now=datetime(2026, 3, 11, 10, 0)) == 1


# --- my autonomy and fitness ---------------------------------------------------------------------------------


def test_my_autonomy_shows_what_is_left(team, catalog, set_limit, log, count_queries):
    set_limit(per_case=5000, period="week", cap=20000)
    set_limit("payment_extension", per_case=14, pod_id=team.pod.id)
    log(amount="50.00")
    log(amount="30.00", case_ref="Z-2")
    rows = {r.action_type.code: r for r in svc.my_autonomy(team.agent, NOW)}
    assert (rows["refund"].used, rows["refund"].left, rows["refund"].level) == (8000, 12000, "org")
    assert rows["payment_extension"].version.per_case_max == 14 and rows["payment_extension"].left is None
    assert rows["plan_change"].version is None
    with count_queries() as counter:
        svc.my_autonomy(team.agent, NOW)
    assert counter.count <= 6


def _history(team, log, *, approved: int, rejected: int, amount="80.00"):
    for n in range(approved + rejected):
        decision = log(amount=amount, case_ref=f"H-{n}", now=NOW - timedelta(days=30, hours=n))
        svc.resolve_decision(team.coach, decision, approve=n < approved, comment="ok" if n < approved else "no",
                             now=NOW - timedelta(days=29))
    db.session.commit()


def test_fitness_suggests_raise_and_accepting_creates_a_version(team, catalog, set_limit, log):
    base = set_limit(per_case=5000)
    set_limit(per_case=20000, role="coach")
    _history(team, log, approved=9, rejected=1)
    created = svc.scan_fitness(NOW)
    db.session.commit()
    assert [(p.kind, p.agent_id, p.evidence_total, p.evidence_hits) for p in created] == \
        [("raise", team.agent.id, 10, 9)]
    suggestion = created[0]
    assert suggestion.base_version_id == base.id and suggestion.per_case_max == 8000
    assert svc.scan_fitness(NOW) == [], "one open suggestion at a time"
    version = svc.accept_proposal(team.leader, suggestion, per_case_max=7500, now=NOW)
    db.session.commit()
    assert version.limit.level == "agent" and version.limit.agent_id == team.agent.id
    assert svc.limit_in_force(team.agent, catalog["refund"].id, team.pod.id).per_case_max == 7500
    assert svc.limit_in_force(team.mate, catalog["refund"].id, team.pod.id).per_case_max == 5000


@pytest.mark.parametrize("approved, rejected", [(8, 2), (8, 1)])
def test_no_raise_below_ninety_percent_or_ten_requests(team, catalog, set_limit, log, approved, rejected):
    set_limit(per_case=5000)
    set_limit(per_case=20000, role="coach")
    _history(team, log, approved=approved, rejected=rejected)
    assert svc.scan_fitness(NOW) == []


def test_old_requests_do_not_count(team, catalog, set_limit, log):
    set_limit(per_case=5000)
    set_limit(per_case=20000, role="coach")
    for n in range(10):
        decision = log(amount="80.00", case_ref=f"H-{n}", now=NOW - timedelta(days=91))
        svc.resolve_decision(team.leader, decision, approve=True, now=NOW - timedelta(days=91))
    assert svc.scan_fitness(NOW) == []


def test_fitness_suggests_review_when_cases_go_badly(team, catalog, set_limit, log):
    set_limit(per_case=5000)
    for n in range(10):
        db.session.add(Case(source="podium", external_id=f"R-{n}", status="closed", created_at=NOW,
                            reopens=1 if n < 3 else 0, csat_score=5))
        log(amount="20.00", case_ref=f"R-{n}", now=NOW - timedelta(days=5, minutes=n))
    created = svc.scan_fitness(NOW)
    assert [(p.kind, p.evidence_total, p.evidence_hits, p.per_case_max) for p in created] == \
        [("review", 10, 3, 3750)]
    svc.dismiss_proposal(team.leader, created[0], comment="seasonal", now=NOW)
    db.session.commit()
    assert db.session.get(Proposal, created[0].id).status == "dismissed"


def test_pod_limits_do_not_cap_the_coachs_own_approval_limit(team, catalog, set_limit, log):
    set_limit(per_case=5000)
    set_limit(per_case=7500, pod_id=team.pod.id)
    set_limit(per_case=25000, role="coach")
    decision = log(amount="120.00")
    assert decision.approver_level == "coach" and svc.can_approve(team.coach, decision)
