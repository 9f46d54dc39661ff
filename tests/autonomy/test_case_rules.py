"""Issue 13 in autonomy: a known case decides which limit applies; texts are bounded and clean; ASCII amounts."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import func, select

from app.autonomy import services as svc
from app.autonomy.models import Decision, LimitVersion, Proposal
from app.extensions import db
from app.outcomes.models import Case
from app.timeutil import utcnow


@pytest.fixture
def segments(make_segment):
    return {"enterprise": make_segment("Enterprise"), "residential": make_segment("Residential")}


@pytest.fixture
def credit_limits(team, set_limit, segments):
    set_limit("goodwill_credit", per_case=2000)
    set_limit("goodwill_credit", per_case=6000, segment_id=segments["enterprise"].id)


def _case(ref, pod, segment, **extra):
    db.session.add(Case(source="podium", external_id=ref, status="open", created_at=utcnow() - timedelta(days=1),
                        pod_id=pod.id if pod else None, segment_id=segment.id if segment else None, **extra))
    db.session.commit()


def _post(client, catalog, **data):
    form = {"action_type_id": catalog["goodwill_credit"].id, "amount": "50.00", "currency": "EUR",
            "case_ref": "R-1", "rationale": "late delivery", **data}
    return client.post("/autonomy/decisions", data=form)


def _count():
    return db.session.scalar(select(func.count()).select_from(Decision))


def test_an_agent_cannot_choose_the_segment_of_a_known_case(client, auth, team, catalog, segments, credit_limits):
    _case("R-1", team.pod, segments["residential"], request_type="complaint")
    auth.login(team.agent)
    response = _post(client, catalog, segment_id=segments["enterprise"].id, request_type="claim")
    assert response.status_code == 302
    decision = db.session.scalar(select(Decision))
    assert decision.status == "pending" and decision.exceeded == "per_case", "50 € is above the 20 € limit"
    assert decision.segment_id == segments["residential"].id and decision.request_type == "complaint"
    assert db.session.get(LimitVersion, decision.limit_version_id).per_case_max == 2000
    assert decision.conditions_declared is False


def test_an_unknown_case_keeps_the_agents_choice_marked_declared(client, auth, team, catalog, segments,
                                                                 credit_limits):
    auth.login(team.agent)
    assert _post(client, catalog, case_ref="PHONE-9", segment_id=segments["enterprise"].id).status_code == 302
    decision = db.session.scalar(select(Decision))
    assert decision.status == "done" and decision.segment_id == segments["enterprise"].id
    assert decision.conditions_declared is True
    ledger = client.get("/autonomy/").get_data(as_text=True)
    row = ledger[ledger.index(f'id="decision-{decision.id}"'):]
    assert "declared" in row[:row.index("</tr>")]
    auth.logout()
    auth.login(team.leader)
    detail = client.get(f"/autonomy/decisions/{decision.id}").get_data(as_text=True)
    assert "declared" in detail[detail.index('id="decision-case"'):][:600]


def test_an_unknown_case_without_conditions_is_not_declared(team, catalog, credit_limits, log):
    decision = log(code="goodwill_credit", amount="10.00", case_ref="PHONE-1")
    assert decision.status == "done" and decision.conditions_declared is False


def test_pending_declared_request_shows_to_the_approver(client, auth, team, catalog, segments, set_limit,
                                                       credit_limits):
    set_limit("goodwill_credit", per_case=50000, role="coach")
    auth.login(team.agent)
    assert _post(client, catalog, case_ref="PHONE-2", amount="70.00",
                 segment_id=segments["enterprise"].id).status_code == 302
    auth.logout()
    auth.login(team.coach)
    queue = client.get("/autonomy/queue").get_data(as_text=True)
    assert "PHONE-2" in queue and "declared" in queue


def test_a_known_case_of_another_pod_is_refused(client, auth, team, catalog, segments, credit_limits):
    _case("OTHER-7", team.other_pod, segments["residential"])
    auth.login(team.agent)
    response = _post(client, catalog, case_ref="OTHER-7", amount="5.00")
    assert response.status_code == 403 and "OTHER-7" in response.get_data(as_text=True)
    assert _count() == 0


def test_a_known_case_counts_for_its_own_pod(team, catalog, segments, credit_limits, make_pod, log):
    second = make_pod("Second pod", members=[team.agent])
    _case("S-1", second, segments["residential"])
    decision = log(code="goodwill_credit", amount="10.00", case_ref="S-1", pod_id=team.pod.id)
    assert decision.pod_id == second.id


def test_a_known_case_without_a_pod_uses_the_agents_pod(team, catalog, segments, credit_limits, log):
    _case("NOPOD-1", None, segments["enterprise"])
    decision = log(code="goodwill_credit", amount="50.00", case_ref="NOPOD-1")
    assert decision.pod_id == team.pod.id and decision.status == "done" and not decision.conditions_declared


def test_unknown_segment_or_stage_is_a_clear_error(team, catalog, credit_limits, log):
    with pytest.raises(svc.AutonomyError, match="segment"):
        log(code="goodwill_credit", case_ref="PHONE-3", segment_id=999_999)
    db.session.rollback()
    with pytest.raises(svc.AutonomyError, match="stage"):
        log(code="goodwill_credit", case_ref="PHONE-3", stage_id=999_999)


# --- texts: bounded, no NUL (services are called from more than checked forms) -----------------------------------


@pytest.mark.parametrize("field, value", [
    ("rationale", "x" * 2001), ("rationale", "bad\x00byte"), ("case_ref", "C\x00-1"), ("case_ref", "C" * 65),
    ("customer", "c\x00"),
])
def test_decision_texts_are_bounded_and_clean(team, catalog, set_limit, field, value):
    set_limit(per_case=5000)
    kwargs = {"amount": "10.00", "currency": "EUR", "case_ref": "Z-1", "rationale": "why", field: value}
    with pytest.raises(svc.AutonomyError) as err:
        svc.log_decision(team.agent, catalog["refund"], **kwargs)
    assert err.value.status == 400
    db.session.rollback()
    assert _count() == 0


def test_the_longest_rationale_fits(team, catalog, set_limit):
    set_limit(per_case=5000)
    decision = svc.log_decision(team.agent, catalog["refund"], amount="10.00", currency="EUR", case_ref="Z-1",
                                rationale="y" * 2000)
    db.session.commit()
    assert len(db.session.get(Decision, decision.id).rationale) == 2000


@pytest.mark.parametrize("reason", ["r" * 2001, "nul\x00"])
def test_limit_and_proposal_reasons_are_bounded_and_clean(team, catalog, reason):
    with pytest.raises(svc.AutonomyError):
        svc.set_limit(team.leader, catalog["refund"], level="org", values=svc.LimitInput(1000), reason=reason)
    db.session.rollback()
    with pytest.raises(svc.AutonomyError):
        svc.propose_change(team.coach, catalog["refund"], level="pod", pod_id=team.pod.id,
                           values=svc.LimitInput(1000), reason=reason)
    db.session.rollback()
    assert db.session.scalar(select(func.count()).select_from(LimitVersion)) == 0
    assert db.session.scalar(select(func.count()).select_from(Proposal)) == 0


def test_comments_are_bounded_and_clean(team, catalog, set_limit, log):
    set_limit(per_case=1000)
    set_limit(per_case=20000, role="coach")
    pending = log(amount="50.00")
    for comment in ("c" * 2001, "nul\x00"):
        with pytest.raises(svc.AutonomyError):
            svc.resolve_decision(team.coach, pending, approve=True, comment=comment)
        db.session.rollback()
    assert db.session.get(Decision, pending.id).status == "pending"


def test_accepting_keeps_the_version_reason_within_bounds(team, catalog):
    proposal = svc.propose_change(team.coach, catalog["refund"], level="pod", pod_id=team.pod.id,
                                  values=svc.LimitInput(1000), reason="p" * 2000)
    version = svc.accept_proposal(team.leader, proposal, comment="c" * 2000)
    db.session.commit()
    assert len(version.reason) <= 2000 and db.session.get(Proposal, proposal.id).comment == "c" * 2000


# --- numbers: ASCII digits only --------------------------------------------------------------------------------


@pytest.mark.parametrize("amount", ["١", "²", "١٠.٠٠", "1e30", "５"])
def test_unicode_digits_are_not_amounts(team, catalog, set_limit, amount):
    set_limit(per_case=5000)
    with pytest.raises(svc.AutonomyError):
        svc.log_decision(team.agent, catalog["refund"], amount=amount, currency="EUR", case_ref="Z-1",
                         rationale="why")
    db.session.rollback()
    assert _count() == 0


@pytest.mark.parametrize("data", [{"amount": "١"}, {"pod_id": "²"}, {"segment_id": "١"},
                                  {"action_type_id": "²"}])
def test_unicode_digits_in_the_decision_form_are_400(client, auth, team, catalog, set_limit, data):
    set_limit("goodwill_credit", per_case=5000)
    auth.login(team.agent)
    response = _post(client, catalog, case_ref="PHONE-4", **data)
    assert response.status_code == 400
    assert _count() == 0
