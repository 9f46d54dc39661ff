"""Quarterly reviews: open, gather the quarter from the metric engine, narrative, OKRs, sign-off and reopen.

Figures come from app.outcomes.metrics (the one engine) and targets from app.outcomes.targets; a signed-off
review shows the JSON snapshot frozen at sign-off instead of live figures.
"""

from __future__ import annotations

import json
import math
from datetime import date, datetime, timedelta

from flask_babel import lazy_gettext as _l
from sqlalchemy import func, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import selectinload

from app.errors import ServiceError
from app.extension_points import quarter_activities_for
from app.extensions import db, inserted
from app.forms import parse_decimal, parse_int
from app.org.models import Pod, Role, User
from app.outcomes import metrics
from app.outcomes import targets as T
from app.permissions import can, pod_relations
from app.reviews import access  # noqa: F401  (registers the reviews.* policies the rules below ask)
from app.reviews.models import SECTIONS, KeyResult, NarrativeEdit, Objective, Review, ReviewStatus
from app.timeutil import to_local, utcnow

NARRATIVE_MAX = 5000
TITLE_MAX = 200
REASON_MAX = 1000
# The scorecard: every metric of the engine, in METRICS.md order.
SCORE_CODES = tuple(metrics.METRICS)
DRAFT_WINDOW_DAYS = 14


class ReviewError(ServiceError):
    """A change that cannot be made; `status` is the HTTP status the view answers with (400 unless told)."""

    status = 400


# --- quarters -------------------------------------------------------------------------------------------------

def current_quarter(pod: Pod, now: datetime | None = None) -> tuple[int, int]:
    """The calendar quarter `now` falls in, read in the pod's time zone."""
    return T.quarter_of(to_local(now or utcnow(), pod.timezone).date())


def quarter_label(year: int, quarter: int) -> str:
    return T.quarter_key(year, quarter)


# --- OKR scoring (METRICS.md) ---------------------------------------------------------------------------------

def score_key_result(code: str, baseline: float | None, target: float | None,
                     actual: float | None) -> float | None:
    """(actual − baseline) ÷ (target − baseline), clamped to 0–1; None without an actual or a baseline.

    When the target equals the baseline the ratio is undefined: holding the line (actual at or better than
    the target by the metric's direction) scores 1, anything worse 0."""
    if actual is None or baseline is None or target is None:
        return None
    if math.isclose(target, baseline, abs_tol=1e-12):
        held = math.isclose(actual, target, abs_tol=1e-12) or metrics.better(code, actual, target)
        return 1.0 if held else 0.0
    score = (actual - baseline) / (target - baseline)
    return max(0.0, min(1.0, score))


def objective_score(scores: list[float | None]) -> float | None:
    known = [s for s in scores if s is not None]
    return sum(known) / len(known) if known else None


def score_band(score: float | None) -> str | None:
    """0.7–1.0 green, 0.4–0.69 amber, below red."""
    if score is None:
        return None
    score = round(score, 2)
    if score >= 0.7:
        return "green"
    if score >= 0.4:
        return "amber"
    return "red"


TARGET_STATUS = {metrics.STATUS_GOOD: "met", metrics.STATUS_BAD: "missed"}


def target_status(code: str, value: float | None, target: float | None) -> str | None:
    """"met" / "missed" against the target by the metric's direction (metrics.status), None without one."""
    return TARGET_STATUS.get(metrics.status(code, value, target))


def visible_reviews(user: User) -> list[Review]:
    """The reviews a user may read, newest quarter first, pods loaded (two queries)."""
    stmt = select(Review).options(selectinload(Review.pod)).order_by(
        Review.year.desc(), Review.quarter.desc(), Review.pod_id)
    if not can(user, "reviews.view_all"):
        relations = pod_relations(user)
        coached = relations.coached if user.has_role(Role.COACH) else set()
        member = relations.member_of - coached
        stmt = stmt.where(
            Review.pod_id.in_(coached)
            | (Review.pod_id.in_(member) & (Review.status == ReviewStatus.SIGNED_OFF.value)))
    return list(db.session.scalars(stmt))


def openable_pods(user: User) -> list[Pod]:
    pods = db.session.scalars(select(Pod).where(Pod.active).order_by(Pod.name))
    return [pod for pod in pods if can(user, "reviews.open", pod.id)]


# --- open -----------------------------------------------------------------------------------------------------

def get_review(pod_id: int, year: int, quarter: int) -> Review | None:
    return db.session.scalar(select(Review).where(
        Review.pod_id == pod_id, Review.year == year, Review.quarter == quarter))


def open_review(actor: User | None, pod: Pod, year: int, quarter: int, now: datetime | None = None) -> Review:
    """The pod's review of the quarter, created as a draft when missing (safe when two people open it at once).
    `actor` None is the scheduler."""
    if actor is not None and not can(actor, "reviews.open", pod):
        raise ReviewError(_l("Only the pod's coach or a leader can open its review."), 403)
    if not (T.FIRST_YEAR <= year <= T.LAST_YEAR and 1 <= quarter <= 4):
        raise ReviewError(_l("Choose a quarter like 2026-Q4."))
    existing = get_review(pod.id, year, quarter)
    if existing is not None:
        return existing
    review = Review(pod_id=pod.id, year=year, quarter=quarter, status=ReviewStatus.DRAFT.value,
                    opened_by_id=actor.id if actor else None, opened_at=now or utcnow())
    try:
        with db.session.begin_nested():
            db.session.add(review)
    except IntegrityError:
        existing = get_review(pod.id, year, quarter)
        if existing is None:  # pragma: no cover - the row was deleted in between
            raise
        return existing
    return review


# --- figures --------------------------------------------------------------------------------------------------

def _figure_dict(figure: metrics.Figure | None) -> dict:
    if figure is None:
        return {"value": None, "numerator": None, "denominator": None}
    return {"value": figure.value, "numerator": figure.numerator, "denominator": figure.denominator}


def _quarters(pod: Pod, year: int, quarter: int) -> tuple[list[str], list[dict[str, metrics.Figure]]]:
    """The engine's figures for the five quarters up to this one (same quarter last year .. this quarter), in
    one series call read in the pod's time zone."""
    first = T.shift_quarter(year, quarter, -4)
    start = T.quarter_bounds(*first)[0]
    end = T.quarter_bounds(year, quarter)[1]
    points = metrics.series(start, end, "quarter", metrics.Scope(pod_id=pod.id), SCORE_CODES, pod.timezone)
    return [quarter_label(*T.quarter_of(label)) for label, _f in points], [figures for _l, figures in points]


def scorecard(pod: Pod, year: int, quarter: int, quarters=None) -> list[dict]:
    """Every metric for the quarter with the pod's target, the previous quarter and the same quarter last year,
    each with its target status (one engine call, one targets query)."""
    _labels, figures = quarters or _quarters(pod, year, quarter)
    current, previous, last_year = figures[-1], figures[-2], figures[0]
    goals = T.targets_for([pod.id], year, quarter)[pod.id]
    rows = []
    for code in SCORE_CODES:
        definition = metrics.METRICS[code]
        figure = current[code]
        target = goals.get(code)
        rows.append({
            "code": code, "unit": definition.unit, "direction": definition.direction,
            **_figure_dict(figure),
            "target": target,
            "previous": previous[code].value,
            "last_year": last_year[code].value,
            "status": target_status(code, figure.value, target),
        })
    return rows


def trend(quarters, count: int = 4) -> dict:
    """Each metric over the last `count` quarters up to this one."""
    labels, figures = quarters
    labels, figures = labels[-count:], figures[-count:]
    return {"labels": labels, "values": {code: [f[code].value for f in figures] for code in SCORE_CODES}}


def _objectives_of(review_id: int | None) -> list[Objective]:
    if review_id is None:
        return []
    return list(db.session.scalars(
        select(Objective).where(Objective.review_id == review_id)
        .options(selectinload(Objective.key_results)).order_by(Objective.id)))


def scored_objectives(objectives: list[Objective], actuals: dict[str, float | None]) -> list[dict]:
    """Objectives with their key results scored against `actuals` (metric code -> value)."""
    out = []
    for objective in objectives:
        krs = []
        for kr in objective.key_results:
            actual = actuals.get(kr.metric)
            score = score_key_result(kr.metric, kr.baseline, kr.target, actual)
            krs.append({"id": kr.id, "metric": kr.metric, "scope": kr.scope, "baseline": kr.baseline,
                        "target": kr.target, "confidence": kr.confidence, "actual": actual, "score": score,
                        "band": score_band(score)})
        score = objective_score([kr["score"] for kr in krs])
        out.append({"id": objective.id, "title": objective.title, "key_results": krs, "score": score,
                    "band": score_band(score)})
    return out


def activity(pod: Pod, year: int, quarter: int) -> dict:
    """What the pod did in the quarter, as each feature reports it (stand-up participation and blockers, retro
    actions, autonomy decisions and limit changes, recognition): see extension_points.quarter_activity."""
    start, end = T.quarter_bounds(year, quarter)
    return quarter_activities_for(pod, start, end)


def gather(review: Review) -> dict:
    """Everything the data says about the review's quarter (live): scorecard, trend, last quarter's OKRs."""
    pod = review.pod
    quarters = _quarters(pod, review.year, review.quarter)
    card = scorecard(pod, review.year, review.quarter, quarters)
    actuals = {row["code"]: row["value"] for row in card}
    previous_review = get_review(pod.id, *T.shift_quarter(review.year, review.quarter, -1))
    okrs = scored_objectives(_objectives_of(previous_review.id if previous_review else None), actuals)
    start, end = T.quarter_bounds(review.year, review.quarter)
    return {
        "pod": pod.name, "pod_id": pod.id, "quarter": review.key, "timezone": pod.timezone,
        "period": [start.isoformat(), end.isoformat()],
        "scorecard": card,
        "trend": trend(quarters),
        "okrs": okrs,
        "activity": activity(pod, review.year, review.quarter),
    }


def content(review: Review) -> dict:
    """The frozen snapshot of a signed-off review, else the live figures."""
    if review.status == ReviewStatus.SIGNED_OFF.value and review.snapshot:
        return json.loads(review.snapshot)
    return gather(review)


# --- narrative ------------------------------------------------------------------------------------------------

def _require_edit(actor: User, review: Review) -> None:
    if not can(actor, "reviews.open", review.pod_id):
        raise ReviewError(_l("Only the pod's coach or a leader can edit its review."), 403)
    if review.status == ReviewStatus.SIGNED_OFF.value:
        raise ReviewError(_l("This review is signed off; a leader must reopen it first."), 409)


def narrative(review: Review) -> dict[str, NarrativeEdit | None]:
    """The latest edit of each section (one query)."""
    latest = (select(NarrativeEdit.section, func.max(NarrativeEdit.id).label("last"))
              .where(NarrativeEdit.review_id == review.id).group_by(NarrativeEdit.section).subquery())
    edits = db.session.scalars(select(NarrativeEdit).join(latest, NarrativeEdit.id == latest.c.last)
                               .options(selectinload(NarrativeEdit.author)))
    current = {section: None for section in SECTIONS}
    for edit in edits:
        current[edit.section] = edit
    return current


def history(review: Review) -> list[NarrativeEdit]:
    return list(db.session.scalars(
        select(NarrativeEdit).where(NarrativeEdit.review_id == review.id)
        .options(selectinload(NarrativeEdit.author)).order_by(NarrativeEdit.id.desc())))


def save_narrative(actor: User, review: Review, section: str, text: str,
                   now: datetime | None = None) -> NarrativeEdit | None:
    """Keep a new version of a section; None when the text did not change."""
    _require_edit(actor, review)
    if section not in SECTIONS:
        raise ReviewError(_l("Unknown section."))
    text = (text or "").replace("\r\n", "\n").strip()
    if len(text) > NARRATIVE_MAX:
        raise ReviewError(_l("Keep each section under %(n)s characters.", n=NARRATIVE_MAX))
    current = narrative(review)[section]
    if (current.text if current else "") == text:
        return None
    edit = NarrativeEdit(review_id=review.id, section=section, text=text, author_id=actor.id,
                         created_at=now or utcnow())
    db.session.add(edit)
    db.session.flush()
    return edit


# --- next quarter's objectives --------------------------------------------------------------------------------

def next_quarter(review: Review) -> tuple[int, int]:
    return T.shift_quarter(review.year, review.quarter, 1)


def add_objective(actor: User, review: Review, title: str) -> Objective:
    _require_edit(actor, review)
    title = (title or "").strip()
    if not title:
        raise ReviewError(_l("Give the objective a title."))
    if len(title) > TITLE_MAX:
        raise ReviewError(_l("Keep the title under %(n)s characters.", n=TITLE_MAX))
    objective = Objective(review_id=review.id, title=title)
    db.session.add(objective)
    db.session.flush()
    return objective


def parse_target(metric: str, raw: str | None) -> float:
    """A target as typed: rates as percentages (0–100), times in minutes, counts as numbers."""
    definition = metrics.METRICS.get(metric)
    if definition is None or not definition.direction:
        raise ReviewError(_l("Choose a metric from the list."))
    number = parse_decimal(raw, places=6)
    if number is None:
        raise ReviewError(_l("Enter the target as a number."))
    value = float(number)
    if definition.unit == "rate":
        value = value / 100
    if not 0 <= value <= T.UPPER_BOUND[definition.unit]:
        raise ReviewError(_l("The target is out of range for this metric."))
    return value


def parse_confidence(raw) -> int:
    value = parse_int(raw, minimum=0, maximum=10)
    if value is None:
        raise ReviewError(_l("Confidence is a whole number from 0 to 10."))
    return value


def add_key_result(actor: User, objective: Objective, metric: str, target: float, confidence: int,
                   now: datetime | None = None, baselines: dict[str, metrics.Figure] | None = None) -> KeyResult:
    """A key result for next quarter: its baseline is the engine's figure for the review's quarter, and its
    target becomes the pod's target for the metric next quarter."""
    review = objective.review
    _require_edit(actor, review)
    definition = metrics.METRICS.get(metric)
    if definition is None or not definition.direction:
        raise ReviewError(_l("Choose a metric from the list."))
    if db.session.scalar(select(KeyResult.id).where(KeyResult.objective_id == objective.id,
                                                    KeyResult.metric == metric)):
        raise ReviewError(_l("This objective has a key result on that metric already."), 409)
    confidence = parse_confidence(confidence)
    pod = review.pod
    if baselines is None or metric not in baselines:
        baselines = metrics.compute(*T.quarter_bounds(review.year, review.quarter), metrics.Scope(pod_id=pod.id),
                                    [metric], pod.timezone)
    baseline = baselines[metric].value
    kr = KeyResult(objective_id=objective.id, metric=metric, scope="pod", baseline=baseline, target=target,
                   confidence=confidence, updated_at=now or utcnow())
    if not inserted(kr):
        raise ReviewError(_l("This objective has a key result on that metric already."), 409)
    try:
        T.set_pod_targets(actor, pod, *next_quarter(review), {metric: target}, now)
    except T.TargetError:
        raise ReviewError(_l("The target is out of range for this metric.")) from None
    return kr


def set_confidence(actor: User, kr: KeyResult, confidence, now: datetime | None = None) -> None:
    """Confidence is updated during the quarter, also after the review is signed off."""
    if not can(actor, "reviews.open", kr.objective.review.pod_id):
        raise ReviewError(_l("Only the pod's coach or a leader can update confidence."), 403)
    kr.confidence = parse_confidence(confidence)
    kr.updated_at = now or utcnow()
    db.session.flush()


# --- workflow -------------------------------------------------------------------------------------------------

def _transition(review: Review, expected: str, values: dict) -> None:
    """A conditional update, so two people acting at once cannot both move the review."""
    result = db.session.execute(
        update(Review).where(Review.id == review.id, Review.status == expected).values(**values)
        .execution_options(synchronize_session=False))
    if result.rowcount != 1:
        db.session.refresh(review)
        raise ReviewError(_l("Someone changed this review in the meantime; reload the page."), 409)
    db.session.refresh(review)


def submit(actor: User, review: Review) -> None:
    _require_edit(actor, review)
    if review.status != ReviewStatus.DRAFT.value:
        raise ReviewError(_l("Only a draft can be sent for review."), 409)
    _transition(review, ReviewStatus.DRAFT.value, {"status": ReviewStatus.IN_REVIEW.value})


def sign_off(actor: User, review: Review, now: datetime | None = None) -> None:
    """A leader signs off: the figures are frozen as they are now."""
    if not can(actor, "reviews.sign_off"):
        raise ReviewError(_l("Only a leader can sign off a review."), 403)
    if review.status != ReviewStatus.IN_REVIEW.value:
        raise ReviewError(_l("Send the review for sign-off first."), 409)
    snapshot = json.dumps(gather(review), sort_keys=True)
    _transition(review, ReviewStatus.IN_REVIEW.value, {
        "status": ReviewStatus.SIGNED_OFF.value, "snapshot": snapshot, "signed_by_id": actor.id,
        "signed_at": now or utcnow()})


def reopen(actor: User, review: Review, reason: str, now: datetime | None = None) -> None:
    if not can(actor, "reviews.reopen"):
        raise ReviewError(_l("Only a leader can reopen a review."), 403)
    reason = (reason or "").strip()
    if not reason:
        raise ReviewError(_l("Say why the review is reopened."))
    if len(reason) > REASON_MAX:
        raise ReviewError(_l("Keep the reason under %(n)s characters.", n=REASON_MAX))
    if review.status != ReviewStatus.SIGNED_OFF.value:
        raise ReviewError(_l("Only a signed-off review can be reopened."), 409)
    _transition(review, ReviewStatus.SIGNED_OFF.value, {
        "status": ReviewStatus.DRAFT.value, "snapshot": None, "reopened_by_id": actor.id,
        "reopened_at": now or utcnow(), "reopen_reason": reason})


# --- leader view ----------------------------------------------------------------------------------------------

def leader_matrix(year: int, quarter: int, quarters: int = 4) -> dict:
    """Every active pod's quarter side by side: figures per pod for the last `quarters` quarters (one engine
    call per quarter, grouped by pod), targets (one query), review status (one query)."""
    pods = list(db.session.scalars(select(Pod).where(Pod.active).order_by(Pod.name)))
    keys = [T.shift_quarter(year, quarter, -step) for step in range(quarters - 1, -1, -1)]
    by_quarter = {yq: metrics.compute_by("pod", *T.quarter_bounds(*yq), codes=SCORE_CODES) for yq in keys}
    goals = T.targets_for([pod.id for pod in pods], year, quarter)
    statuses = dict(db.session.execute(select(Review.pod_id, Review.status).where(
        Review.year == year, Review.quarter == quarter)).all())
    rows = []
    for pod in pods:
        cells = {}
        for code in SCORE_CODES:
            history_values = [by_quarter[yq].get(pod.id, {}).get(code) for yq in keys]
            values = [figure.value if figure is not None else None for figure in history_values]
            value = values[-1]
            target = goals[pod.id].get(code)
            cells[code] = {"value": value, "target": target, "trend": values,
                           "status": target_status(code, value, target)}
        rows.append({"pod": pod, "cells": cells, "review": statuses.get(pod.id)})
    return {"rows": rows, "quarters": [quarter_label(*yq) for yq in keys]}


def sort_rows(rows: list[dict], code: str | None, descending: bool) -> list[dict]:
    if code not in metrics.METRICS:
        return sorted(rows, key=lambda row: row["pod"].name.lower(), reverse=descending)
    present = [row for row in rows if row["cells"][code]["value"] is not None]
    missing = [row for row in rows if row["cells"][code]["value"] is None]
    present.sort(key=lambda row: row["cells"][code]["value"], reverse=descending)
    return present + missing


# --- the scheduled job ----------------------------------------------------------------------------------------

def draft_next_reviews(now: datetime | None = None) -> int:
    """In the last two weeks of a quarter (in each pod's zone) open the quarter's review as a draft for every
    active pod that has none. Returns how many were created."""
    now = now or utcnow()
    pods = list(db.session.scalars(select(Pod).where(Pod.active)))
    existing = {tuple(row) for row in db.session.execute(select(Review.pod_id, Review.year, Review.quarter))}
    created = 0
    for pod in pods:
        today = to_local(now, pod.timezone).date()
        year, quarter = T.quarter_of(today)
        last_day = T.quarter_bounds(year, quarter)[1]
        if (last_day - today).days >= DRAFT_WINDOW_DAYS or (pod.id, year, quarter) in existing:
            continue
        open_review(None, pod, year, quarter, now)
        created += 1
    db.session.commit()
    return created


def in_draft_window(today: date) -> bool:
    year, quarter = T.quarter_of(today)
    return (T.quarter_bounds(year, quarter)[1] - today) < timedelta(days=DRAFT_WINDOW_DAYS)
