"""Moments worth recognising, found in the data; and whether recognition follows customer outcomes."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

from sqlalchemy import exists, or_, select

from app.extensions import db
from app.org.models import Pod, User
from app.org.principles import Principle
from app.outcomes import metrics
from app.outcomes.models import Case
from app.recognition import evidence
from app.recognition.access import current_member_ids
from app.recognition.models import EvidenceKind, Recognition, RecognitionReceiver
from app.recognition.services import improved, metric_windows
from app.timeutil import local_day_bounds, to_local, utcnow

CASE_LOOKBACK_DAYS = 14
COMPLEX_PRIORITIES = ("high", "urgent")
COMPLEX_REQUEST_TYPES = ("complaint", "claim", "warranty")
SUGGESTION_METRICS = ("fcr", "csat", "sla_attainment", "handoff_rate", "resolution_p50")
MIN_SAMPLE = 10
MIN_GAIN_POINTS = 5.0  # percentage points for rates, percent for times


@dataclass
class Suggestion:
    key: str
    kind: str
    principle: str
    receiver: User | None  # None: the whole pod
    case: Case | None = None
    action: evidence.RetroAction | None = None
    metric_code: str | None = None
    before: float | None = None
    after: float | None = None
    gain: float = 0.0

    def draft_args(self, pod_id: int) -> dict:
        args = {"pod": pod_id, "suggestion": self.key, "principle": self.principle, "evidence": self.kind}
        if self.receiver is not None:
            args["to"] = self.receiver.id
        else:
            args["whole_pod"] = 1
        if self.case is not None:
            args["case"] = self.case.external_id
        if self.action is not None:
            args["action"] = self.action.id
        if self.metric_code:
            args["metric"] = self.metric_code
            args["subject"] = "agent" if self.receiver is not None else "pod"
        return args


def _gain(code: str, before: float | None, after: float | None) -> float:
    """How much better `after` is than `before`, comparable across metrics; negative when worse."""
    if before is None or after is None:
        return 0.0
    if metrics.METRICS[code].unit == "rate":
        size = abs(after - before) * 100
    elif before == 0:
        return 0.0
    else:
        size = abs(after - before) / abs(before) * 100
    return size if metrics.better(code, after, before) else -size


def suggestions(pod: Pod, *, now: datetime | None = None, limit_cases: int = 3) -> list[Suggestion]:
    """Suggestions for a pod: complex cases solved at first contact with top CSAT, the biggest metric gain
    of a member over the last month, retro actions whose effect was confirmed; none already recognised."""
    now = now or utcnow()
    today = to_local(now, pod.timezone).date()
    members = current_member_ids(pod.id, today)
    if not members:
        return []
    found: list[Suggestion] = []

    cited_case = exists().where(Recognition.case_id == Case.id)
    cases = db.session.scalars(
        select(Case)
        .where(Case.pod_id == pod.id, Case.assignee_id.in_(members),
               Case.first_resolved_at >= now - timedelta(days=CASE_LOOKBACK_DAYS), Case.first_resolved_at <= now,
               Case.csat_score == 5, metrics.first_contact_resolved(),
               or_(Case.priority.in_(COMPLEX_PRIORITIES), Case.request_type.in_(COMPLEX_REQUEST_TYPES)),
               ~cited_case)
        .order_by(Case.first_resolved_at.desc()).limit(limit_cases)
    ).all()
    people = {u.id: u for u in db.session.scalars(select(User).where(User.id.in_(
        {c.assignee_id for c in cases} | members)))}
    for case in cases:
        found.append(Suggestion(f"case:{case.id}", EvidenceKind.CASE.value, Principle.CUSTOMER_CENTRIC.value,
                                people[case.assignee_id], case=case))

    (b_start, b_end), (c_start, c_end) = metric_windows(today)
    scope = metrics.Scope(pod_id=pod.id)
    before = metrics.compute_by("agent", b_start, b_end, scope, SUGGESTION_METRICS, tz=pod.timezone)
    after = metrics.compute_by("agent", c_start, c_end, scope, SUGGESTION_METRICS, tz=pod.timezone)
    best: tuple[float, int, str] | None = None
    for user_id in members:
        for code in SUGGESTION_METRICS:
            old, new = before.get(user_id, {}).get(code), after.get(user_id, {}).get(code)
            if old is None or new is None or (old.denominator or 0) < MIN_SAMPLE or (new.denominator or 0) < MIN_SAMPLE:
                continue
            if not improved(code, old.value, new.value):
                continue
            gain = _gain(code, old.value, new.value)
            if gain >= MIN_GAIN_POINTS and (best is None or gain > best[0]):
                best = (gain, user_id, code)
    if best is not None:
        gain, user_id, code = best
        key = f"metric:{user_id}:{code}:{c_end.isoformat()}"
        if db.session.scalar(select(Recognition.id).where(Recognition.suggestion_key == key).limit(1)) is None:
            found.append(Suggestion(key, EvidenceKind.METRIC.value, Principle.CONTINUOUS_IMPROVEMENT.value,
                                    people[user_id], metric_code=code,
                                    before=before[user_id][code].value, after=after[user_id][code].value, gain=gain))

    actions = evidence.confirmed_uncited(pod.id, limit=3)
    for action in actions:
        owner = action.owner if action.owner_id in members else None
        found.append(Suggestion(f"action:{action.id}", EvidenceKind.ACTION.value,
                                Principle.CONTINUOUS_IMPROVEMENT.value, owner, action=action))
    return found


def suggestion_by_key(pod: Pod, key: str, now: datetime | None = None) -> Suggestion | None:
    return next((s for s in suggestions(pod, now=now) if s.key == key), None)


@dataclass
class Alignment:
    start: date
    end: date
    total: int = 0
    good: int = 0
    by_principle: dict[str, int] = field(default_factory=dict)
    by_kind: dict[str, int] = field(default_factory=dict)
    unrecognised: list[tuple[User, dict]] = field(default_factory=list)

    @property
    def good_share(self) -> float | None:
        return self.good / self.total if self.total else None


def good_outcome(recognition: Recognition, case_facts: dict | None, action: evidence.RetroAction | None) -> bool:
    """Evidence with a good customer outcome: a case rated 4-5 (or unrated and solved at first contact), a metric
    that improved, an action whose measured effect went the expected way."""
    if recognition.evidence_kind == EvidenceKind.CASE.value:
        if not case_facts:
            return False
        if case_facts.get("csat") is not None:
            return case_facts["csat"] >= 4
        return bool(case_facts.get("fcr"))
    if recognition.evidence_kind == EvidenceKind.METRIC.value:
        return bool(recognition.metric_code) and improved(recognition.metric_code, recognition.baseline_value,
                                                           recognition.current_value)
    return bool(action is not None and action.worked)


def alignment(pod: Pod, start: date, end: date) -> Alignment:
    """How the pod's recognition in [start, end] (local days) relates to its outcomes; a fixed number of queries."""
    result = Alignment(start, end)
    lower, upper = local_day_bounds(start, end, pod.timezone)
    recognitions = db.session.scalars(
        select(Recognition).where(Recognition.pod_id == pod.id, Recognition.created_at >= lower,
                                  Recognition.created_at < upper)
    ).all()
    case_ids = [r.case_id for r in recognitions if r.case_id]
    facts = metrics.case_outcomes(case_ids) if case_ids else {}
    actions = evidence.actions_by_id(r.action_id for r in recognitions if r.action_id)
    result.total = len(recognitions)
    result.good = sum(good_outcome(r, facts.get(r.case_id), actions.get(r.action_id)) for r in recognitions)
    result.by_principle = dict(Counter(r.principle for r in recognitions))
    result.by_kind = dict(Counter(r.evidence_kind for r in recognitions))

    members = current_member_ids(pod.id, end)
    recognised = set(db.session.scalars(
        select(RecognitionReceiver.user_id).join(Recognition, Recognition.id == RecognitionReceiver.recognition_id)
        .where(Recognition.created_at >= lower, Recognition.created_at < upper)
    ))
    codes = ("resolved", "fcr", "csat")
    pod_figures = metrics.compute(start, end, metrics.Scope(pod_id=pod.id), codes, tz=pod.timezone)
    by_agent = metrics.compute_by("agent", start, end, metrics.Scope(pod_id=pod.id), codes, tz=pod.timezone)
    candidates = []
    for user_id in members - recognised:
        figures = by_agent.get(user_id)
        if not figures or (figures["resolved"].value or 0) < MIN_SAMPLE:
            continue
        fcr, csat = figures["fcr"].value, figures["csat"].value
        pod_fcr, pod_csat = pod_figures["fcr"].value, pod_figures["csat"].value
        if fcr is None or pod_fcr is None or fcr < pod_fcr:
            continue
        if csat is not None and pod_csat is not None and csat < pod_csat:
            continue
        candidates.append((user_id, figures))
    people = {u.id: u for u in db.session.scalars(select(User).where(User.id.in_([c[0] for c in candidates] or [-1])))}
    result.unrecognised = sorted(((people[uid], figs) for uid, figs in candidates if uid in people),
                                 key=lambda item: -(item[1]["fcr"].value or 0))
    return result
