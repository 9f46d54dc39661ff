"""Skills matrix rules: levels, proposals, gaps, training needs, mentors, history and the quarter's then and now."""

from __future__ import annotations

import threading
from datetime import date, datetime, timedelta

import pytest
from sqlalchemy import select

from app.extension_points import quarter_activities_for
from app.extensions import db
from app.org import services as org
from app.skills import services
from app.skills.models import SkillChange, SkillLevel
from app.skills.services import SkillError
from app.timeutil import utcnow
from tests.skills.conftest import add_case


def _changes(pod, user=None, key=None) -> list[SkillChange]:
    stmt = select(SkillChange).where(SkillChange.pod_id == pod.id).order_by(SkillChange.id)
    if user is not None:
        stmt = stmt.where(SkillChange.user_id == user.id)
    if key is not None:
        stmt = stmt.where(SkillChange.skill_key == key)
    return list(db.session.scalars(stmt))


def _row(matrix, key):
    return next(row for row in matrix.skills if row.key == key)


# --- levels ------------------------------------------------------------------------------------------------------

def test_coach_sets_levels_and_every_change_is_history(team):
    t = team
    services.set_level(t.coach, t.pod, t.ana.id, "rt:claim", "learning")
    services.set_level(t.coach, t.pod, t.ana.id, "rt:claim", "independent")
    assert services.set_level(t.coach, t.pod, t.ana.id, "rt:claim", "independent") is None  # no change, no history
    services.set_level(t.coach, t.pod, t.ana.id, "rt:claim", "none")
    db.session.commit()
    steps = [(c.from_level, c.to_level, c.actor_id) for c in _changes(t.pod, t.ana, "rt:claim")]
    assert steps == [("none", "learning", t.coach.id), ("learning", "independent", t.coach.id),
                     ("independent", "none", t.coach.id)]
    assert db.session.scalar(select(SkillLevel.level).where(SkillLevel.user_id == t.ana.id)) == "none"


@pytest.mark.parametrize(("user", "key", "level", "status"), [
    ("ana", "rt:not_a_type", "independent", 422),
    ("ana", "ch:fax", "independent", 422),
    ("ana", "c:999", "independent", 422),
    ("ana", "rt:claim", "guru", 422),
    ("other_agent", "rt:claim", "independent", 422),  # not a member of this pod
])
def test_bad_levels_are_refused(team, user, key, level, status):
    with pytest.raises(SkillError) as refused:
        services.set_level(team.coach, team.pod, getattr(team, user).id, key, level)
    assert refused.value.status == status
    assert _changes(team.pod) == []


def test_former_members_cannot_get_levels(team):
    membership = team.pod.memberships[0]
    org.end_membership(None, membership, end=utcnow().date() - timedelta(days=3))
    db.session.commit()
    with pytest.raises(SkillError):
        services.set_level(team.coach, team.pod, membership.user_id, "rt:claim", "independent")


def test_coach_added_skills_are_unique_per_pod_and_retired_not_deleted(team):
    t = team
    skill = services.add_skill(t.coach, t.pod, "  Billing   system ")
    assert skill.name == "Billing system"
    with pytest.raises(SkillError) as duplicate:
        services.add_skill(t.coach, t.pod, "billing SYSTEM")
    assert duplicate.value.status == 409
    with pytest.raises(SkillError):
        services.add_skill(t.coach, t.pod, "Phone")  # a channel every pod already has
    services.add_skill(t.coach, t.other_pod, "Billing system")  # another pod may have its own
    services.set_level(t.coach, t.pod, t.ana.id, skill.key, "teach")
    services.retire_skill(t.coach, t.pod, skill.id)
    with pytest.raises(SkillError) as again:
        services.retire_skill(t.coach, t.pod, skill.id)
    assert again.value.status == 409
    with pytest.raises(SkillError):
        services.set_level(t.coach, t.pod, t.ana.id, skill.key, "learning")  # retired: off the matrix
    db.session.commit()
    matrix = services.matrix(t.pod)
    assert skill.key not in {row.key for row in matrix.skills}
    assert matrix.label(skill.key) == "Billing system"  # history still names it
    assert services.add_skill(t.coach, t.pod, "Billing system").id != skill.id  # the name is free again


# --- proposals ----------------------------------------------------------------------------------------------------

def test_member_proposes_and_the_coach_confirms(team):
    t = team
    proposal = services.propose_level(t.ana, t.pod, "ch:chat", "independent")
    db.session.commit()
    assert db.session.scalar(select(SkillLevel).where(SkillLevel.user_id == t.ana.id)) is None  # not yet
    decided = services.decide_proposal(t.coach, t.pod, proposal.id, confirm=True)
    db.session.commit()
    assert decided.status == "confirmed" and decided.decided_by_id == t.coach.id
    [change] = _changes(t.pod, t.ana)
    assert (change.from_level, change.to_level, change.proposal_id, change.actor_id) == (
        "none", "independent", proposal.id, t.coach.id)
    with pytest.raises(SkillError) as twice:
        services.decide_proposal(t.coach, t.pod, proposal.id, confirm=False)
    assert twice.value.status == 409


def test_a_new_proposal_replaces_the_pending_one_and_decline_changes_nothing(team):
    t = team
    first = services.propose_level(t.ben, t.pod, "rt:claim", "learning")
    second = services.propose_level(t.ben, t.pod, "rt:claim", "teach")
    db.session.commit()
    db.session.refresh(first)
    assert (first.status, second.status) == ("withdrawn", "pending")
    services.decide_proposal(t.coach, t.pod, second.id, confirm=False)
    db.session.commit()
    assert _changes(t.pod) == []
    with pytest.raises(SkillError) as same:
        services.propose_level(t.ben, t.pod, "rt:claim", "none")  # already their level
    assert same.value.status == 422
    with pytest.raises(SkillError) as elsewhere:
        services.decide_proposal(t.other_coach, t.other_pod, second.id, confirm=True)
    assert elsewhere.value.status == 404  # a proposal of another pod


# --- what the matrix shows ---------------------------------------------------------------------------------------

def _demand(t):
    """Claims: plenty, resolved by Ana at first contact, rarely handed off. Warranty: handed off a lot, nobody
    independent. Chat: some demand."""
    for _i in range(12):
        add_case(t.pod, request_type="claim", channel="phone", assignee=t.ana, fcr=True)
    for i in range(10):
        add_case(t.pod, request_type="claim", channel="phone", assignee=t.ben, fcr=i < 5)
    for i in range(8):
        add_case(t.pod, request_type="warranty", channel="email", assignee=t.cleo, handed_off=i < 6)
    for i in range(4):
        add_case(t.pod, request_type="complaint", channel="chat", assignee=t.ben, handed_off=i < 1)
    add_case(t.pod, request_type="quote", channel="phone", days_ago=120)  # too old for the 90 days
    add_case(t.other_pod, request_type="information", channel="web")  # another pod's demand
    db.session.commit()


def test_single_points_of_failure_training_needs_and_mentors(team):
    t = team
    _demand(t)
    for user, level in ((t.ana, "teach"), (t.ben, "independent")):
        services.set_level(t.coach, t.pod, user.id, "rt:claim", level)
    services.set_level(t.coach, t.pod, t.ben.id, "rt:complaint", "independent")
    services.set_level(t.coach, t.pod, t.cleo.id, "rt:warranty", "learning")
    services.set_level(t.coach, t.pod, t.cleo.id, "ch:phone", "teach")
    db.session.commit()

    m = services.matrix(t.pod)
    keys = [row.key for row in m.skills]
    assert keys[:3] == ["rt:claim", "rt:warranty", "rt:complaint"]  # request types by demand, then channels
    assert set(keys) == {"rt:claim", "rt:warranty", "rt:complaint", "ch:phone", "ch:email", "ch:chat"}
    claim = _row(m, "rt:claim")
    assert (claim.demand.value, claim.fcr.numerator, claim.fcr.denominator) == (22, 17, 22)
    assert claim.single_point is False

    assert {row.key for row in m.single_points} == {"rt:warranty", "rt:complaint", "ch:phone", "ch:email", "ch:chat"}
    assert _row(m, "rt:complaint").covering_ids == [t.ben.id]
    # Handed-off demand with nobody independent, most handed off first: warranty (6), then email (6 of the same
    # cases), chat (1). Complaints have Ben, so they are no training need.
    assert [row.key for row in m.training_needs] == ["ch:email", "rt:warranty", "ch:chat"]
    assert _row(m, "rt:warranty").handed_off == 6

    assert claim.teacher_ids == [t.ana.id]
    assert claim.best_fcr_id == t.ana.id  # 12 of 12 at first contact; Ben 5 of 10
    assert claim.mentor_ids == [t.ana.id]
    assert _row(m, "ch:phone").mentor_ids == [t.cleo.id]
    assert _row(m, "rt:warranty").best_fcr_id is None  # fewer than 10 resolved: no FCR mentor


def test_skills_with_a_level_or_a_proposal_stay_without_demand(team):
    t = team
    services.set_level(t.coach, t.pod, t.ana.id, "ch:social", "learning")
    services.propose_level(t.ben, t.pod, "rt:suggestion", "independent")
    skill = services.add_skill(t.coach, t.pod, "Router diagnostics")
    db.session.commit()
    m = services.matrix(t.pod)
    assert [row.key for row in m.skills] == ["rt:suggestion", "ch:social", skill.key]
    assert _row(m, "rt:suggestion").proposals[t.ben.id].level == "independent"
    assert _row(m, "ch:social").demand is None


def test_standup_gaps_are_the_skills_nobody_present_covers(team):
    t = team
    _demand(t)
    skill = services.add_skill(t.coach, t.pod, "Billing system")
    services.set_level(t.coach, t.pod, t.ana.id, "rt:claim", "independent")
    services.set_level(t.coach, t.pod, t.ben.id, "ch:phone", "teach")
    services.set_level(t.coach, t.pod, t.ben.id, skill.key, "learning")  # learning does not cover
    db.session.commit()
    today = utcnow().date()
    gaps = services.standup_gaps(t.pod, today, {t.ana.id, t.ben.id})
    assert [label for label, _n in gaps.gaps] == ["Email", "Warranty", "Chat", "Complaint", "Billing system"]
    only_ana = services.standup_gaps(t.pod, today, {t.ana.id})
    labels = [label for label, _n in only_ana.gaps]
    assert "Phone" in labels and "Claim" not in labels


# --- history: concurrency and the quarter ------------------------------------------------------------------------

def test_concurrent_changes_keep_history_chained(app, team):
    """Eight people setting the same level at once: every change is recorded from the level it replaced."""
    pod_id, coach_id, ana_id = team.pod.id, team.coach.id, team.ana.id
    db.session.commit()
    levels = ["learning", "independent", "teach", "none"] * 2
    barrier = threading.Barrier(len(levels))
    errors = []

    def worker(level):
        with app.app_context():
            from app.org.models import Pod, User

            try:
                barrier.wait()
                pod, coach = db.session.get(Pod, pod_id), db.session.get(User, coach_id)
                services.set_level(coach, pod, ana_id, "rt:claim", level)
                db.session.commit()
            except SkillError as error:  # refused after retries: nothing half-written
                db.session.rollback()
                errors.append(error.status)
            finally:
                db.session.remove()

    threads = [threading.Thread(target=worker, args=(level,)) for level in levels]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    db.session.expire_all()
    changes = _changes(team.pod, team.ana, "rt:claim")
    assert changes, "nothing was written"
    assert set(errors) <= {409}
    previous = "none"
    for change in changes:
        assert change.from_level == previous, [(c.from_level, c.to_level) for c in changes]
        assert change.from_level != change.to_level
        previous = change.to_level
    current = db.session.scalar(select(SkillLevel).where(SkillLevel.user_id == ana_id))
    assert current.level == previous
    assert current.version == len(changes)  # one insert, then one conditional update per change


def test_quarter_review_shows_coverage_then_and_now(team):
    t = team
    q_start, q_end = date(2026, 4, 1), date(2026, 6, 30)
    before = datetime(2026, 3, 10, 9)
    during = datetime(2026, 5, 12, 9)
    after = datetime(2026, 7, 3, 9)
    services.set_level(t.coach, t.pod, t.ana.id, "rt:claim", "independent", now=before)
    services.set_level(t.coach, t.pod, t.ben.id, "rt:claim", "learning", now=before)
    services.set_level(t.coach, t.pod, t.ana.id, "ch:phone", "teach", now=before)
    # During the quarter: Ben grows into claims (on his proposal), Cleo learns phone.
    proposal = services.propose_level(t.ben, t.pod, "rt:claim", "independent", now=during - timedelta(days=1))
    services.decide_proposal(t.coach, t.pod, proposal.id, confirm=True, now=during)
    services.set_level(t.coach, t.pod, t.cleo.id, "ch:phone", "independent", now=during)
    # After the quarter: must not count.
    services.set_level(t.coach, t.pod, t.ana.id, "ch:phone", "none", now=after)
    db.session.commit()

    summary = quarter_activities_for(t.pod, q_start, q_end)["skills"]
    assert summary["then"] == {"day": "2026-04-01", "skills": 2, "covered": 0, "single_point": 2, "uncovered": 0,
                               "independent_pairs": 2}
    assert summary["now"] == {"day": "2026-06-30", "skills": 2, "covered": 2, "single_point": 0, "uncovered": 0,
                              "independent_pairs": 4}
    assert (summary["changes"], summary["from_proposals"]) == (2, 1)
    # The next quarter starts where this one ended, then Ana's phone level goes.
    later = services.quarter_coverage(t.pod, date(2026, 7, 1), date(2026, 9, 30), now=datetime(2026, 10, 2))
    assert later["then"]["covered"] == 2 and later["now"]["covered"] == 1
