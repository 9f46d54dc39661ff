"""Demo reviews: last quarter's signed off for every pod (with objectives for this quarter), this quarter's in
draft with a first objective for next quarter."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import select

from app.context import background_context
from app.demo.org_data import LEADER_EMAIL
from app.extension_points import demo_step
from app.extensions import db
from app.org.models import Pod, User
from app.org.services import coaches_by_pod
from app.outcomes import metrics
from app.outcomes import targets as T
from app.reviews import services as svc
from app.timeutil import local_to_utc

LAST_NARRATIVE = {
    "wins": "First-contact resolution kept climbing after the new troubleshooting guide; fewer cases changed hands.",
    "misses": "First reply slipped in the August holiday weeks when two people were away at once.",
    "learnings": "Pairing newer agents with a specialist on escalations cut reopens more than extra training did.",
    "risks": "The new fibre rollout will bring a spike of installation questions.",
    "asks": "One more specialist shared with the neighbouring pod during the rollout.",
}
CURRENT_NARRATIVE = {
    "wins": "CSAT steady while volume grew.",
    "risks": "Holiday rota in the last weeks of the quarter.",
}


def _stretch(code: str, baseline: float | None) -> float | None:
    if baseline is None:
        return None
    definition = metrics.METRICS[code]
    if definition.unit == "rate":
        better = baseline + 0.03 if definition.direction == "higher" else baseline * 0.85
        return round(min(0.99, max(0.0, better)), 3)
    return round(max(0.0, baseline * 0.9), 1)


def _objective(actor: User, review, title: str, codes: tuple[str, ...], confidence: int, now: datetime) -> None:
    objective = svc.add_objective(actor, review, title)
    year, quarter = review.year, review.quarter
    baselines = metrics.compute(*T.quarter_bounds(year, quarter), metrics.Scope(pod_id=review.pod_id), codes,
                                review.pod.timezone)
    for code in codes:
        target = _stretch(code, baselines[code].value)
        if target is not None:
            svc.add_key_result(actor, objective, code, target, confidence, now, baselines=baselines)


@demo_step(80, "quarterly reviews")
def load_reviews_demo(now: datetime) -> None:
    with background_context():
        _load(now)


def _load(now: datetime) -> None:
    leader = db.session.scalar(select(User).where(User.email == LEADER_EMAIL))
    if leader is None:
        return
    pods = list(db.session.scalars(select(Pod).where(Pod.active).order_by(Pod.id)))
    coaches = coaches_by_pod([pod.id for pod in pods])
    for pod in pods:
        coach = coaches[pod.id][0] if coaches[pod.id] else leader
        current = svc.current_quarter(pod, now)
        last = T.shift_quarter(*current, -1)
        quarter_start = local_to_utc(datetime.combine(T.quarter_bounds(*current)[0], datetime.min.time()),
                                     pod.timezone)
        opened = quarter_start - timedelta(days=10)
        signed = min(now, quarter_start + timedelta(days=6, hours=10))

        review = svc.open_review(coach, pod, *last, now=opened)
        for index, (section, text) in enumerate(LAST_NARRATIVE.items()):
            svc.save_narrative(coach, review, section, text, now=opened + timedelta(hours=index))
        _objective(coach, review, "Resolve more at first contact", ("fcr", "reopen_rate"), 7, opened)
        _objective(coach, review, "Customers feel heard", ("csat",), 6, opened)
        svc.submit(coach, review)
        svc.sign_off(leader, review, now=signed)

        draft = svc.open_review(coach, pod, *current, now=min(now, signed + timedelta(days=60)))
        for section, text in CURRENT_NARRATIVE.items():
            svc.save_narrative(coach, draft, section, text, now=now)
        _objective(coach, draft, "Faster first replies", ("first_reply_p50", "sla_attainment"), 5, now)
    db.session.commit()
