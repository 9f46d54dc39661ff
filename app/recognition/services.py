"""Giving recognition under the evidence, self and allowance rules; who may see what; the wall's data."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

from flask import url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import func, select, update
from sqlalchemy.orm import joinedload

from app.errors import ServiceError
from app.extensions import db, inserted
from app.notifications.services import notify, register_kind
from app.org.models import Pod, User
from app.org.principles import Principle
from app.outcomes import metrics
from app.outcomes.models import Case
from app.recognition import evidence
from app.recognition.access import can_give_on, current_member_ids, visible_clause
from app.recognition.models import (
    REACTIONS,
    EvidenceKind,
    PointsLedger,
    Recognition,
    RecognitionReaction,
    RecognitionReceiver,
    RecognitionSettings,
    Visibility,
)
from app.timeutil import to_local, utcnow

MESSAGE_MAX = 2000
METRIC_WINDOW_DAYS = 30
PAGE_SIZE = 20

REACTION_LABELS = {"clap": "👏", "heart": "❤️", "star": "⭐", "rocket": "🚀"}

register_kind("recognition_received", _l("%(giver)s recognised you: %(principle)s"))
register_kind("recognition_pod", _l("%(giver)s recognised your pod %(pod)s: %(principle)s"))


class RecognitionError(ServiceError):
    """A recognition the rules refuse; the message is shown to the person giving it (422 unless told)."""


@dataclass
class EvidenceInput:
    kind: str
    case_ref: str = ""
    metric_code: str = ""
    metric_subject: str = "agent"  # "agent" (the one person recognised) or "pod"
    action_id: int | None = None


@dataclass
class Draft:
    pod_id: int
    receiver_ids: list[int] = field(default_factory=list)
    whole_pod: bool = False
    message: str = ""
    principle: str = ""
    evidence: EvidenceInput = field(default_factory=lambda: EvidenceInput(EvidenceKind.CASE.value))
    points: int = 0
    visibility: str = Visibility.POD.value
    suggestion_key: str | None = None


# --- settings and allowance --------------------------------------------------------------------------------

def settings() -> RecognitionSettings:
    row = db.session.scalar(select(RecognitionSettings).order_by(RecognitionSettings.id).limit(1))
    if row is None:
        row = RecognitionSettings(monthly_allowance=0)
        db.session.add(row)
        db.session.flush()
    return row


def save_settings(actor: User, *, monthly_allowance: int, now: datetime | None = None) -> RecognitionSettings:
    if monthly_allowance < 0 or monthly_allowance > 100_000:
        raise RecognitionError(_("The monthly allowance must be between 0 and 100000 points."))
    row = settings()
    row.monthly_allowance = monthly_allowance
    row.updated_by_id = actor.id
    row.updated_at = now or utcnow()
    db.session.flush()
    return row


def month_of(user: User, now: datetime) -> str:
    """The giver's calendar month, in their own time zone: allowances reset at their local midnight."""
    return to_local(now, user.timezone or "UTC").strftime("%Y-%m")


def points_left(user: User, now: datetime) -> int | None:
    """Points the person may still give this month; None when the organisation uses no points."""
    allowance = settings().monthly_allowance
    if allowance <= 0:
        return None
    spent = db.session.scalar(select(PointsLedger.spent).where(PointsLedger.user_id == user.id,
                                                               PointsLedger.month == month_of(user, now)))
    return max(allowance - (spent or 0), 0)


def _spend_points(user: User, points: int, now: datetime) -> None:
    """Take points from this month's allowance atomically: a conditional UPDATE never overspends."""
    allowance = settings().monthly_allowance
    if points and allowance <= 0:
        raise RecognitionError(_("Your organisation does not use points."))
    if not points:
        return
    month = month_of(user, now)
    # The month's row, unless someone (perhaps a parallel request of the same person) inserted it already.
    inserted(PointsLedger(user_id=user.id, month=month, spent=0))
    result = db.session.execute(
        update(PointsLedger)
        .where(PointsLedger.user_id == user.id, PointsLedger.month == month,
               PointsLedger.spent + points <= allowance)
        .values(spent=PointsLedger.spent + points)
        .execution_options(synchronize_session=False)
    )
    if result.rowcount != 1:
        left = points_left(user, now) or 0
        raise RecognitionError(_("You have %(left)d points left this month.", left=left))


# --- evidence ----------------------------------------------------------------------------------------------

def metric_windows(today: date) -> tuple[tuple[date, date], tuple[date, date]]:
    """(baseline, current): the last 30 complete days and the 30 days before them."""
    current_end = today - timedelta(days=1)
    current_start = current_end - timedelta(days=METRIC_WINDOW_DAYS - 1)
    baseline_end = current_start - timedelta(days=1)
    baseline_start = baseline_end - timedelta(days=METRIC_WINDOW_DAYS - 1)
    return (baseline_start, baseline_end), (current_start, current_end)


def improved(code: str, before: float | None, after: float | None) -> bool:
    return bool(metrics.better(code, after, before))


def evidence_metric_codes() -> list[str]:
    return [code for code, definition in metrics.METRICS.items()
            if definition.direction is not None and code != "autonomy_rate"]


def _find_case(ref: str, receiver_ids: set[int], pod_id: int, whole_pod: bool) -> Case:
    ref = ref.strip()
    if not ref or len(ref) > 64:
        raise RecognitionError(_("Give the case's id as it appears in the helpdesk."))
    cases = list(db.session.scalars(select(Case).where(Case.external_id == ref).limit(10)))
    if not cases:
        raise RecognitionError(_("No case %(ref)s was found.", ref=ref))
    for case in cases:
        if whole_pod and case.pod_id == pod_id:
            return case
        if not whole_pod and case.assignee_id in receiver_ids:
            return case
    raise RecognitionError(_("Case %(ref)s is not one of theirs: the evidence must belong to the people you recognise.",
                             ref=ref))


def _find_action(action_id: int | None, receiver_ids: set[int], pod_id: int,
                 whole_pod: bool) -> evidence.RetroAction:
    action = evidence.action(action_id)
    if action is None:
        raise RecognitionError(_("Choose a retro action."))
    if not evidence.is_done(action):
        raise RecognitionError(_("Only a done retro action can be cited."))
    theirs = action.pod_id == pod_id if whole_pod else action.owner_id in receiver_ids
    if not theirs:
        raise RecognitionError(_("That action was owned by someone else: the evidence must belong to the people you recognise."))
    return action


def _metric_evidence(recognition: Recognition, evidence: EvidenceInput, receiver_ids: set[int], pod: Pod,
                     whole_pod: bool, today: date) -> None:
    code = evidence.metric_code
    if code not in evidence_metric_codes():
        raise RecognitionError(_("Choose a metric."))
    if evidence.metric_subject == "pod":
        scope = metrics.Scope(pod_id=pod.id)
    elif evidence.metric_subject == "agent":
        if whole_pod or len(receiver_ids) != 1:
            raise RecognitionError(_("A person's metric can only be cited when you recognise that one person."))
        (user_id,) = receiver_ids
        scope = metrics.Scope(agent_id=user_id)
        recognition.metric_user_id = user_id
    else:
        raise RecognitionError(_("Choose whose metric improved."))
    (b_start, b_end), (c_start, c_end) = metric_windows(today)
    before = metrics.compute(b_start, b_end, scope, [code], tz=pod.timezone)[code]
    after = metrics.compute(c_start, c_end, scope, [code], tz=pod.timezone)[code]
    if not improved(code, before.value, after.value):
        raise RecognitionError(_("%(metric)s did not improve over the last 30 days: cite other evidence.",
                                 metric=metrics.METRICS[code].label))
    recognition.metric_code = code
    recognition.baseline_start, recognition.baseline_end = b_start, b_end
    recognition.period_start, recognition.period_end = c_start, c_end
    recognition.baseline_value, recognition.baseline_denominator = before.value, before.denominator
    recognition.current_value, recognition.current_denominator = after.value, after.denominator


# --- giving ------------------------------------------------------------------------------------------------

def give(giver: User, draft: Draft, *, now: datetime | None = None) -> Recognition:
    """Record a recognition after checking every rule on the server; notify the receivers."""
    now = now or utcnow()
    pod = db.session.get(Pod, draft.pod_id)
    if pod is None or not pod.active:
        raise RecognitionError(_("Choose a pod."))
    today = to_local(now, pod.timezone).date()
    if not can_give_on(giver, pod.id, today):
        raise RecognitionError(_("You can recognise people of the pods you belong to or coach."), 403)
    message = (draft.message or "").strip()
    if not message:
        raise RecognitionError(_("Say what they did: the message is required."))
    if len(message) > MESSAGE_MAX:
        raise RecognitionError(_("Keep the message under %(n)d characters.", n=MESSAGE_MAX))
    if draft.principle not in Principle.labels():
        raise RecognitionError(_("Choose the principle this recognition is about."))
    if draft.visibility not in (Visibility.POD.value, Visibility.ORG.value):
        raise RecognitionError(_("Choose who can see it."))
    if draft.points < 0:
        raise RecognitionError(_("Points cannot be negative."))

    members = current_member_ids(pod.id, today)
    receiver_ids = set(draft.receiver_ids)
    if draft.whole_pod:
        receiver_ids = set()
        if giver.id in members:
            raise RecognitionError(_("You cannot recognise yourself, and you are part of this pod."))
    else:
        if not receiver_ids:
            raise RecognitionError(_("Choose who you recognise."))
        if giver.id in receiver_ids:
            raise RecognitionError(_("You cannot recognise yourself."))
        if not receiver_ids <= members:
            raise RecognitionError(_("Everyone you recognise must be a current member of %(pod)s.", pod=pod.name))

    recognition = Recognition(
        giver_id=giver.id, pod_id=pod.id, whole_pod=draft.whole_pod, message=message, principle=draft.principle,
        evidence_kind=draft.evidence.kind, points=draft.points, visibility=draft.visibility, created_at=now,
        suggestion_key=(draft.suggestion_key or None),
    )
    kind = draft.evidence.kind
    if kind == EvidenceKind.CASE.value:
        recognition.case_id = _find_case(draft.evidence.case_ref, receiver_ids, pod.id, draft.whole_pod).id
    elif kind == EvidenceKind.ACTION.value:
        recognition.action_id = _find_action(draft.evidence.action_id, receiver_ids, pod.id, draft.whole_pod).id
    elif kind == EvidenceKind.METRIC.value:
        _metric_evidence(recognition, draft.evidence, receiver_ids, pod, draft.whole_pod, today)
    else:
        raise RecognitionError(_("Every recognition cites evidence: a case, a metric improvement or a retro action."))

    _spend_points(giver, draft.points, now)
    db.session.add(recognition)
    db.session.flush()
    db.session.add_all(RecognitionReceiver(recognition_id=recognition.id, user_id=uid) for uid in sorted(receiver_ids))
    db.session.flush()

    url = url_for("recognition.detail", recognition_id=recognition.id)
    params = {"giver": giver.display_name, "principle": draft.principle, "pod": pod.name}
    if draft.whole_pod:
        people = db.session.scalars(select(User).where(User.id.in_(members))).all()
        notify(people, "recognition_pod", url=url, params=params, now=now)
    else:
        people = db.session.scalars(select(User).where(User.id.in_(receiver_ids))).all()
        notify(people, "recognition_received", url=url, params=params, now=now)
    return recognition


# --- visibility and the wall -------------------------------------------------------------------------------

@dataclass
class WallItem:
    recognition: Recognition
    receivers: list[User]
    reactions: dict[str, int]
    mine: set[str]
    case: Case | None = None
    case_facts: dict | None = None
    action: evidence.RetroAction | None = None


@dataclass
class WallPage:
    items: list[WallItem]
    page: int
    has_next: bool


def wall(user: User, *, on: date, pod_id: int | None = None, principle: str | None = None,
         evidence_kind: str | None = None, page: int = 1, ids: list[int] | None = None) -> WallPage:
    """One page of the feed the person may see, newest first, with evidence; a fixed number of queries."""
    query = select(Recognition).where(visible_clause(user, on))
    if pod_id is not None:
        query = query.where(Recognition.pod_id == pod_id)
    if principle:
        query = query.where(Recognition.principle == principle)
    if evidence_kind:
        query = query.where(Recognition.evidence_kind == evidence_kind)
    if ids is not None:
        query = query.where(Recognition.id.in_(ids or [-1]))
    rows = list(db.session.scalars(
        query.options(joinedload(Recognition.giver), joinedload(Recognition.pod), joinedload(Recognition.metric_user))
        .order_by(Recognition.created_at.desc(), Recognition.id.desc())
        .offset((page - 1) * PAGE_SIZE).limit(PAGE_SIZE + 1)
    ).unique())
    has_next = len(rows) > PAGE_SIZE
    rows = rows[:PAGE_SIZE]
    rec_ids = [r.id for r in rows]
    receivers: dict[int, list[User]] = defaultdict(list)
    reactions: dict[int, dict[str, int]] = defaultdict(dict)
    mine: dict[int, set[str]] = defaultdict(set)
    cases: dict[int, Case] = {}
    actions: dict[int, evidence.RetroAction] = {}
    facts: dict[int, dict] = {}
    if rec_ids:
        for rec_id, person in db.session.execute(
            select(RecognitionReceiver.recognition_id, User).join(User, User.id == RecognitionReceiver.user_id)
            .where(RecognitionReceiver.recognition_id.in_(rec_ids)).order_by(User.display_name)
        ):
            receivers[rec_id].append(person)
        for rec_id, kind, count, own in db.session.execute(
            select(RecognitionReaction.recognition_id, RecognitionReaction.kind, func.count(),
                   func.max(func.cast(RecognitionReaction.user_id == user.id, db.Integer)))
            .where(RecognitionReaction.recognition_id.in_(rec_ids))
            .group_by(RecognitionReaction.recognition_id, RecognitionReaction.kind)
        ):
            reactions[rec_id][kind] = count
            if own:
                mine[rec_id].add(kind)
        case_ids = [r.case_id for r in rows if r.case_id]
        if case_ids:
            cases = {c.id: c for c in db.session.scalars(select(Case).where(Case.id.in_(case_ids)))}
            facts = metrics.case_outcomes(case_ids)
        actions = evidence.actions_by_id(r.action_id for r in rows if r.action_id)
    items = [
        WallItem(r, receivers[r.id], reactions[r.id], mine[r.id],
                 case=cases.get(r.case_id) if r.case_id else None,
                 case_facts=facts.get(r.case_id) if r.case_id else None,
                 action=actions.get(r.action_id) if r.action_id else None)
        for r in rows
    ]
    return WallPage(items, page, has_next)


def toggle_reaction(user: User, recognition: Recognition, kind: str, now: datetime | None = None) -> bool:
    """Add the person's reaction, or take it back; True when it is now on."""
    if kind not in REACTIONS:
        raise RecognitionError(_("Unknown reaction."))
    existing = db.session.scalar(select(RecognitionReaction).where(
        RecognitionReaction.recognition_id == recognition.id, RecognitionReaction.user_id == user.id,
        RecognitionReaction.kind == kind))
    if existing is not None:
        db.session.delete(existing)
        db.session.flush()
        return False
    # Not inserted after a double click: the reaction is there once.
    inserted(RecognitionReaction(recognition_id=recognition.id, user_id=user.id, kind=kind, created_at=now or utcnow()))
    return True
