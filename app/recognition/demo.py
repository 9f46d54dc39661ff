"""Demo recognition: a believable history across the demo pods, reactions, and suggestions left waiting."""

from __future__ import annotations

import random
from datetime import datetime, timedelta

from sqlalchemy import or_, select

from app.context import background_context
from app.demo.language import Said, read_texts, said_of
from app.extension_points import demo_step
from app.extensions import db
from app.org.models import Pod, Role, User, pod_coaches
from app.outcomes import metrics
from app.outcomes.models import Case
from app.recognition import access, evidence, services
from app.recognition.models import REACTIONS, RecognitionReaction

# What a giver says about a case, in the giver's language, and what each message claims about the case: a
# message is only given for a case whose facts bear it out (see case_claims), so the words match the evidence.
# The texts are data, in app/demo/recognition.toml.
FIRST_CONTACT, NO_HANDOFF, COMPLAINT, TOP_MARKS = "first_contact", "no_handoff", "complaint", "top_marks"
CLAIMS = frozenset({FIRST_CONTACT, NO_HANDOFF, COMPLAINT, TOP_MARKS})
_TEXTS = read_texts("recognition")


def _claims(names: list[str]) -> frozenset[str]:
    claims = frozenset(names)
    if not claims or not claims <= CLAIMS:
        raise ValueError(f"recognition.toml: a case message claims {sorted(claims - CLAIMS)!r}; "
                         f"known: {sorted(CLAIMS)!r}")
    return claims


CASE_MESSAGES: tuple[tuple[frozenset[str], Said], ...] = tuple(
    (_claims(message["claims"]), said_of(message["text"])) for message in _TEXTS["case_messages"])
METRIC_MESSAGE = said_of(_TEXTS["metric_message"])
ACTION_MESSAGE = said_of(_TEXTS["action_message"])
COMPLAINT_TYPES = ("complaint", "claim")


def case_claims(facts: dict, request_type: str | None, handed_off: bool) -> frozenset[str]:
    """What can truly be said of a resolved case: its facts as the evidence line shows them
    (``metrics.case_outcomes``), its request type and whether it changed hands."""
    claims = set()
    if facts.get("fcr"):
        claims.add(FIRST_CONTACT)
    if facts.get("resolved") and not handed_off:
        claims.add(NO_HANDOFF)
    if request_type in COMPLAINT_TYPES:
        claims.add(COMPLAINT)
    if facts.get("csat") == 5:
        claims.add(TOP_MARKS)
    return frozenset(claims)


def claims_of(message: str) -> frozenset[str] | None:
    """What a demo case message claims (None for a text that is not one of them)."""
    for claims, said in CASE_MESSAGES:
        if message in said.values():
            return claims
    return None

@demo_step(70, "recognition")
def load_recognition_demo(now: datetime) -> None:
    rng = random.Random(7)
    services.save_settings(_admin(), monthly_allowance=50, now=now)
    with background_context():
        for pod in db.session.scalars(select(Pod).where(Pod.active).order_by(Pod.id)):
            _pod_history(pod, now, rng)
    db.session.flush()


def _admin():
    return db.session.scalar(select(User).where(User.role == Role.ADMIN.value).order_by(User.id).limit(1))


def _pod_history(pod: Pod, now: datetime, rng: random.Random) -> None:
    today = now.date()
    members = sorted(access.current_member_ids(pod.id, today))
    if len(members) < 3:
        return
    people = {u.id: u for u in db.session.scalars(select(User).where(User.id.in_(members)))}
    coach_id = db.session.scalar(select(pod_coaches.c.user_id).where(pod_coaches.c.pod_id == pod.id).limit(1))
    coach = db.session.get(User, coach_id) if coach_id else None
    # Older top cases (15-90 days ago) get recognised; the last two weeks are left for suggestions.
    cases = db.session.execute(
        select(Case.id, Case.external_id, Case.assignee_id, Case.first_resolved_at, Case.request_type,
               or_(Case.assignee_stations > 1, Case.group_stations > 1))
        .where(Case.pod_id == pod.id, Case.assignee_id.in_(members), Case.csat_score == 5,
               Case.first_resolved_at.between(now - timedelta(days=90), now - timedelta(days=15)))
        .order_by(Case.first_resolved_at).limit(400)
    ).all()
    picks = rng.sample(cases, min(len(cases), 5 + pod.id % 3))
    facts = metrics.case_outcomes(row[0] for row in picks)
    created = []
    for case_id, ref, assignee_id, resolved, request_type, handed_off in sorted(picks, key=lambda row: row[3]):
        candidates = [p for p in members if p != assignee_id]
        giver = coach if coach is not None and rng.random() < 0.4 else people[rng.choice(candidates)]
        when = resolved + timedelta(hours=rng.randint(2, 40))
        true_here = case_claims(facts.get(case_id, {}), request_type, bool(handed_off))
        fitting = [said for claims, said in CASE_MESSAGES if claims <= true_here]
        if not fitting:
            continue
        draft = services.Draft(
            pod_id=pod.id, receiver_ids=[assignee_id], principle=rng.choice(["customer_centric", "end_to_end"]),
            message=rng.choice(fitting).by(giver),
            evidence=services.EvidenceInput("case", case_ref=ref), points=rng.choice([0, 5, 10]),
            visibility="org" if rng.random() < 0.3 else "pod")
        try:
            created.append(services.give(giver, draft, now=when))
        except services.RecognitionError:
            continue
    # A metric improvement, when the data has one for a member (the engine decides, nothing is typed in).
    for code in ("fcr", "csat", "handoff_rate"):
        for member_id in members:
            giver = coach or people[next(m for m in members if m != member_id)]
            draft = services.Draft(
                pod_id=pod.id, receiver_ids=[member_id], principle="continuous_improvement",
                message=METRIC_MESSAGE.by(giver),
                evidence=services.EvidenceInput("metric", metric_code=code),
                visibility="pod")
            try:
                created.append(services.give(giver, draft, now=now - timedelta(days=3)))
                break
            except services.RecognitionError:
                continue
        else:
            continue
        break
    # A retro action that worked, recognised by the coach.
    action = next(iter(evidence.done_actions(pod.id, owner_ids=members, newest_first=False, limit=1)), None)
    if action is not None and coach is not None and action.worked:
        try:
            created.append(services.give(coach, services.Draft(
                pod_id=pod.id, receiver_ids=[action.owner_id], principle="continuous_improvement",
                message=ACTION_MESSAGE.by(coach),
                evidence=services.EvidenceInput("action", action_id=action.id), visibility="org"),
                now=(action.closed_at or now) + timedelta(days=1)))
        except services.RecognitionError:
            pass
    for recognition in created:
        for member_id in rng.sample(members, min(len(members), rng.randint(1, 4))):
            db.session.add(RecognitionReaction(recognition_id=recognition.id, user_id=member_id,
                                               kind=rng.choice(REACTIONS), created_at=recognition.created_at))
    db.session.flush()
