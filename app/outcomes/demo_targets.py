"""Demo pod targets: each pod aims a little better than its previous quarter, this quarter and last."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select

from app.extension_points import demo_step
from app.extensions import db
from app.org.models import Pod
from app.org.services import coaches_by_pod, get_organisation
from app.outcomes import metrics
from app.outcomes import targets as T
from app.timeutil import to_local

# What a pod without history aims at, in the engine's units (rates as fractions, times in minutes).
DEFAULTS = {
    "fcr": 0.75, "handoff_rate": 0.12, "reopen_rate": 0.06, "csat": 0.85, "first_reply_p50": 60.0,
    "resolution_p90": 2880.0, "sla_attainment": 0.90, "escalation_rate": 0.04,
}


def stretch(code: str, unit: str, direction: str, baseline: float | None) -> float:
    """A target a bit better than the baseline: rates by a few points, times and counts by a tenth."""
    if baseline is None:
        return DEFAULTS[code]
    if unit == "rate":
        if direction == "higher":
            return round(min(0.99, baseline + 0.03), 2)
        return round(max(0.0, baseline * 0.85), 3)
    return round(max(0.0, baseline * 0.9), 1)


@demo_step(20, "outcome targets")
def load_demo_targets(now: datetime) -> None:
    definitions = {d.code: d for d in T.targetable_metrics() if d.code in DEFAULTS}
    pods = list(db.session.scalars(select(Pod).where(Pod.active).order_by(Pod.id)))
    coaches = coaches_by_pod([pod.id for pod in pods])
    current = T.quarter_of(to_local(now, get_organisation().timezone).date())
    for year, quarter in (T.shift_quarter(*current, -1), current):
        baseline_bounds = T.quarter_bounds(*T.shift_quarter(year, quarter, -1))
        baseline = metrics.compute_by("pod", *baseline_bounds, None, codes=list(definitions))
        for pod in pods:
            figures = baseline.get(pod.id, {})
            values = {code: stretch(code, d.unit, d.direction, figures[code].value if code in figures else None)
                      for code, d in definitions.items()}
            coach = coaches[pod.id][0] if coaches[pod.id] else None
            T.set_pod_targets(coach, pod, year, quarter, values, now=now)
