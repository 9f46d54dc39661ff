"""Pod targets: one value per metric per quarter, set by the pod's coach or a leader."""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Mapping
from datetime import date, datetime

from flask_babel import lazy_gettext as _l
from sqlalchemy import delete, select

from app import permissions as P
from app.errors import ServiceError
from app.extensions import db, dialect_insert
from app.org.models import Pod, User
from app.outcomes import metrics
from app.outcomes.models import PodTarget
from app.timeutil import utcnow

# The largest value that makes sense per unit: rates are fractions, times minutes (one year), counts.
UPPER_BOUND = {"rate": 1.0, "minutes": 525_600.0, "count": 1_000_000.0}
FIRST_YEAR, LAST_YEAR = 2000, 2100


TARGET_ERRORS = {
    "quarter": _l("Choose a quarter written as YYYY-Qn, for example 2026-Q4."),
    "range": _l("A target is out of range."),
    "metric": _l("There is no such metric."),
    "forbidden": _l("Only the pod's coach or a leader can set its targets."),
}


class TargetError(ServiceError, ValueError):
    """A target that cannot be saved; ``code`` names the reason (a key of TARGET_ERRORS), the message says it."""

    def __init__(self, code: str) -> None:
        super().__init__(TARGET_ERRORS[code], 403 if code == "forbidden" else 422, code=code)


def quarter_of(day: date) -> tuple[int, int]:
    return day.year, (day.month - 1) // 3 + 1


def quarter_bounds(year: int, quarter: int) -> tuple[date, date]:
    """First and last day of a calendar quarter."""
    first = date(year, 3 * (quarter - 1) + 1, 1)
    following = date(year + 1, 1, 1) if quarter == 4 else date(year, 3 * quarter + 1, 1)
    return first, date.fromordinal(following.toordinal() - 1)


def shift_quarter(year: int, quarter: int, steps: int) -> tuple[int, int]:
    index = year * 4 + (quarter - 1) + steps
    return index // 4, index % 4 + 1


def read_quarter(text: str | None) -> tuple[int, int] | None:
    """(year, quarter) from "2026-Q4" (ASCII digits only, years FIRST_YEAR..LAST_YEAR); None for anything else."""
    text = (text or "").strip().upper()
    year_text, _sep, quarter_text = text.partition("-Q")
    if not (re.fullmatch(r"[0-9]{4}", year_text) and quarter_text in ("1", "2", "3", "4")):
        return None
    year = int(year_text)
    return (year, int(quarter_text)) if FIRST_YEAR <= year <= LAST_YEAR else None


def parse_quarter(text: str | None) -> tuple[int, int]:
    """Read "2026-Q4"; raise TargetError("quarter") for anything else."""
    quarter = read_quarter(text)
    if quarter is None:
        raise TargetError("quarter")
    return quarter


def quarter_key(year: int, quarter: int) -> str:
    return f"{year}-Q{quarter}"


def targetable_metrics() -> list:
    """Metrics a pod can aim at: those with a direction (better is higher or lower)."""

    return [definition for definition in metrics.METRICS.values() if definition.direction]


def may_set_targets(user: User, pod: Pod | int) -> bool:
    return P.can(user, P.COACH_POD, pod)


def targets_for(pod_ids: Iterable[int], year: int, quarter: int) -> dict[int, dict[str, float]]:
    """Targets of several pods for one quarter, in one query: pod id -> metric code -> value."""
    pod_ids = list(pod_ids)
    result: dict[int, dict[str, float]] = {pod_id: {} for pod_id in pod_ids}
    if not pod_ids:
        return result
    rows = db.session.execute(
        select(PodTarget.pod_id, PodTarget.metric, PodTarget.value)
        .where(PodTarget.pod_id.in_(pod_ids), PodTarget.year == year, PodTarget.quarter == quarter)
    )
    for pod_id, metric, value in rows:
        result[pod_id][metric] = value
    return result


def _check(code: str, value: float, units: Mapping[str, str]) -> float:
    if code not in units:
        raise TargetError("metric")
    value = float(value)
    if math.isnan(value) or not 0 <= value <= UPPER_BOUND[units[code]]:
        raise TargetError("range")
    return value


def set_pod_targets(actor: User | None, pod: Pod, year: int, quarter: int, values: Mapping[str, float | None],
                    now: datetime | None = None) -> None:
    """Save a pod's targets for a quarter: a value sets (or replaces) a metric's target, None removes it.

    Each target is written with an upsert on (pod, metric, year, quarter), so two people saving at the
    same moment never collide; the last one wins per metric.
    """
    if actor is not None and not may_set_targets(actor, pod):
        raise TargetError("forbidden")
    if not (FIRST_YEAR <= year <= LAST_YEAR and 1 <= quarter <= 4):
        raise TargetError("quarter")
    now = now or utcnow()
    units = {definition.code: definition.unit for definition in targetable_metrics()}
    chosen = {code: _check(code, value, units) for code, value in values.items() if value is not None}
    cleared = [code for code, value in values.items() if value is None]
    for code in cleared:
        if code not in units:
            raise TargetError("metric")
    if cleared:
        db.session.execute(
            delete(PodTarget).where(PodTarget.pod_id == pod.id, PodTarget.year == year,
                                    PodTarget.quarter == quarter, PodTarget.metric.in_(cleared))
        )
    if chosen:
        rows = [{"pod_id": pod.id, "metric": code, "year": year, "quarter": quarter, "value": value,
                 "set_by_id": actor.id if actor is not None else None, "set_at": now}
                for code, value in chosen.items()]
        statement = dialect_insert(PodTarget).values(rows)
        statement = statement.on_conflict_do_update(
            index_elements=["pod_id", "metric", "year", "quarter"],
            set_={"value": statement.excluded.value, "set_by_id": statement.excluded.set_by_id,
                  "set_at": statement.excluded.set_at},
        )
        db.session.execute(statement)
    db.session.flush()
