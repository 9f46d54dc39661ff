"""Every rule of pilots: start one (on cells, with an existing pod or one created from the cell), widen it in
phases, end it or adopt it; measure it (app.pilots.effects). Services flush, never commit."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

from flask_babel import lazy_gettext as _l
from sqlalchemy import select
from sqlalchemy.orm import selectinload

from app.errors import ServiceError
from app.extensions import db
from app.org import services as org
from app.org.models import LifecycleStage, Pod, Role, Segment, User
from app.outcomes import metrics
from app.pilots import effects as E
from app.pilots.models import Pilot, PilotCell, PilotPhase, PilotStatus
from app.timeutil import to_local, utcnow

NAME_MAX = 120
HYPOTHESIS_MAX = 2000
MAX_METRICS = 6
MAX_CELLS = 30
DEFAULT_METRICS = ("rework_rate", "handoff_rate", "csat")


class PilotError(ServiceError):
    """A pilot rule refused what was asked."""


def _require_leader(actor: User | None) -> None:
    if actor is not None and not actor.has_role(Role.LEADER):
        raise PilotError(_l("Only leaders start and steer pilots."), 403)


def _clean_cells(cells: Iterable[tuple[int, int]]) -> list[tuple[int, int]]:
    wanted = sorted({(int(s), int(t)) for s, t in cells})
    if not wanted:
        raise PilotError(_l("Choose at least one segment and stage cell."))
    if len(wanted) > MAX_CELLS:
        raise PilotError(_l("Choose at most %(n)s cells.", n=MAX_CELLS))
    segments = set(db.session.scalars(select(Segment.id).where(Segment.id.in_({s for s, _t in wanted}))))
    stages = set(db.session.scalars(select(LifecycleStage.id).where(LifecycleStage.id.in_({t for _s, t in wanted}))))
    if any(s not in segments or t not in stages for s, t in wanted):
        raise PilotError(_l("One of the cells does not exist."), 404)
    return wanted


def _clean_metrics(codes: Sequence[str]) -> list[str]:
    allowed = set(E.measurable_codes())
    chosen = list(dict.fromkeys(c for c in codes if c))
    if not chosen:
        raise PilotError(_l("Choose at least one metric the pilot aims to move."))
    if len(chosen) > MAX_METRICS:
        raise PilotError(_l("Choose at most %(n)s metrics.", n=MAX_METRICS))
    if any(code not in allowed for code in chosen):
        raise PilotError(_l("Choose the metrics from the list."))
    return chosen


def _check_start(start: date | None, today: date) -> date:
    if start is None:
        raise PilotError(_l("Give the start date."))
    if not today - timedelta(days=366) <= start <= today + timedelta(days=366):
        raise PilotError(_l("The start date must be within a year of today."))
    return start


def start_pilot(actor: User | None, *, name: str, cells: Iterable[tuple[int, int]], start: date | None,
                metric_codes: Sequence[str], hypothesis: str, pod_id: int | None = None, new_pod_name: str = "",
                window_days: int = E.DEFAULT_WINDOW_DAYS, now: datetime | None = None) -> Pilot:
    """A pilot on `cells` from `start`, run by an existing pod or by a new pod (named `new_pod_name`) that takes
    the cells' coverage."""
    _require_leader(actor)
    now = now or utcnow()
    name = (name or "").strip()
    if not name:
        raise PilotError(_l("Give the pilot a name."))
    if len(name) > NAME_MAX:
        raise PilotError(_l("Keep the name under %(n)s characters.", n=NAME_MAX))
    hypothesis = (hypothesis or "").replace("\r\n", "\n").strip()
    if not hypothesis:
        raise PilotError(_l("Write the hypothesis: what you expect to change, and why."))
    if len(hypothesis) > HYPOTHESIS_MAX:
        raise PilotError(_l("Keep the hypothesis under %(n)s characters.", n=HYPOTHESIS_MAX))
    wanted = _clean_cells(cells)
    codes = _clean_metrics(metric_codes)
    start = _check_start(start, now.date())
    if not 14 <= window_days <= 182:
        raise PilotError(_l("Measure over 2 to 26 weeks."))
    if pod_id is not None:
        pod = db.session.get(Pod, pod_id)
        if pod is None or not pod.active:
            raise PilotError(_l("Choose an active pod."), 404)
    else:
        pod_name = (new_pod_name or "").strip()
        if not pod_name:
            raise PilotError(_l("Choose a pod, or name the new pod the pilot creates."))
        pod = _pod_from_cells(actor, pod_name, wanted, now)
    pilot = Pilot(name=name, pod_id=pod.id, hypothesis=hypothesis, metrics=",".join(codes), start_date=start,
                  window_days=window_days, status=PilotStatus.RUNNING.value,
                  started_by_id=getattr(actor, "id", None), created_at=now)
    db.session.add(pilot)
    db.session.flush()
    _add_phase(pilot, 1, start, wanted, now)
    return pilot


def _pod_from_cells(actor: User | None, name: str, cells: list[tuple[int, int]], now: datetime) -> Pod:
    tz = org.get_organisation().timezone
    pod = org.save_pod(actor, None, name=name, mission=str(_l("Pilot pod: serve these customers end to end.")),
                       timezone=tz, standup_time=time(9, 30), working_days="12345")
    db.session.flush()
    segments = {s.id: s for s in db.session.scalars(select(Segment).where(Segment.id.in_({s for s, _ in cells})))}
    stages = {t.id: t for t in db.session.scalars(select(LifecycleStage).where(
        LifecycleStage.id.in_({t for _, t in cells})))}
    for segment_id, stage_id in cells:
        org.assign_coverage(actor, pod, segments[segment_id], stages[stage_id], now=now)
    return pod


def _add_phase(pilot: Pilot, number: int, start: date, cells: list[tuple[int, int]], now: datetime) -> PilotPhase:
    taken = {(s, t) for s, t in db.session.execute(select(PilotCell.segment_id, PilotCell.stage_id)
                                                   .where(PilotCell.pilot_id == pilot.id))}
    new = [cell for cell in cells if cell not in taken]
    if not new:
        raise PilotError(_l("These cells are already in the pilot."))
    phase = PilotPhase(pilot_id=pilot.id, number=number, start_date=start, created_at=now)
    db.session.add(phase)
    db.session.flush()
    db.session.add_all(PilotCell(pilot_id=pilot.id, phase_id=phase.id, segment_id=s, stage_id=t) for s, t in new)
    db.session.flush()
    return phase


def widen_pilot(actor: User | None, pilot: Pilot, cells: Iterable[tuple[int, int]], start: date | None,
                now: datetime | None = None) -> PilotPhase:
    """A new phase on more cells from `start` (on or after the last phase's start)."""
    _require_leader(actor)
    now = now or utcnow()
    if not pilot.running:
        raise PilotError(_l("This pilot has ended; start a new one."), 409)
    wanted = _clean_cells(cells)
    start = _check_start(start, now.date())
    last = max(phase.start_date for phase in pilot.phases)
    if start <= last:
        raise PilotError(_l("A new phase starts after the previous phase started (%(day)s).", day=last.isoformat()))
    return _add_phase(pilot, len(pilot.phases) + 1, start, wanted, now)


def close_pilot(actor: User | None, pilot: Pilot, outcome: str, on: date | None, now: datetime | None = None) -> None:
    """End a pilot ("ended": it stops; "adopted": the way of working stays) on day `on`."""
    _require_leader(actor)
    now = now or utcnow()
    if outcome not in (PilotStatus.ENDED.value, PilotStatus.ADOPTED.value):
        raise PilotError(_l("Choose whether the pilot ends or is adopted."))
    if not pilot.running:
        raise PilotError(_l("This pilot has already ended."), 409)
    on = on or now.date()
    if on < pilot.start_date:
        raise PilotError(_l("A pilot cannot end before it starts."))
    # A conditional write: two leaders closing at once cannot both succeed.
    changed = db.session.execute(
        Pilot.__table__.update().where(Pilot.id == pilot.id, Pilot.status == PilotStatus.RUNNING.value)
        .values(status=outcome, ended_on=on)).rowcount
    if not changed:
        raise PilotError(_l("This pilot has already ended."), 409)
    db.session.expire(pilot)


# --- reading -----------------------------------------------------------------------------------------------------

def pilots_list(pod_ids: Iterable[int] | None = None) -> list[Pilot]:
    stmt = (select(Pilot).options(selectinload(Pilot.pod), selectinload(Pilot.phases).selectinload(PilotPhase.cells)
                                  .selectinload(PilotCell.segment),
                                  selectinload(Pilot.phases).selectinload(PilotPhase.cells)
                                  .selectinload(PilotCell.stage))
            .order_by(Pilot.start_date.desc(), Pilot.id.desc()))
    if pod_ids is not None:
        stmt = stmt.where(Pilot.pod_id.in_(list(pod_ids) or [-1]))
    return list(db.session.scalars(stmt))


def load(pilot_id: int) -> Pilot | None:
    stmt = (select(Pilot).where(Pilot.id == pilot_id)
            .options(selectinload(Pilot.pod), selectinload(Pilot.started_by),
                     selectinload(Pilot.phases).selectinload(PilotPhase.cells).selectinload(PilotCell.segment),
                     selectinload(Pilot.phases).selectinload(PilotPhase.cells).selectinload(PilotCell.stage)))
    return db.session.scalar(stmt)


def all_cells(pilot: Pilot) -> list[tuple[int, int]]:
    return [(cell.segment_id, cell.stage_id) for phase in pilot.phases for cell in phase.cells]


@dataclass
class PhaseResult:
    phase: PilotPhase
    effects: dict[str, E.Effect]


def pilot_timezone(pilot: Pilot) -> str:
    return pilot.pod.timezone if pilot.pod is not None else org.get_organisation().timezone


def measure_pilot(pilot: Pilot, today: date | None = None) -> list[PhaseResult]:
    """Each phase's effects on each target metric, measured from the phase's own start (two queries a phase)."""
    tz = pilot_timezone(pilot)
    today = today or to_local(utcnow(), tz).date()
    everything = all_cells(pilot)
    cache: dict = {}
    results = []
    for phase in pilot.phases:
        cells = [(cell.segment_id, cell.stage_id) for cell in phase.cells]
        found = E.measure(cells, everything, phase.start_date, today, pilot.metric_codes, tz, pilot.window_days,
                          pilot.ended_on, cache)
        results.append(PhaseResult(phase, found))
    return results


def effect_json(effect: E.Effect) -> dict:
    return {
        "metric": effect.code, "window_days": effect.days, "enough_data": effect.enough,
        "before": {"from": effect.before.isoformat() if effect.before else None},
        "after": {"to": effect.after_end.isoformat() if effect.after_end else None},
        "pilot": {"before": effect.p_before, "after": effect.p_after,
                  "n_before": effect.samples.get("p_before", 0), "n_after": effect.samples.get("p_after", 0),
                  "resolved_before": effect.p_resolved[0], "resolved_after": effect.p_resolved[1]},
        "comparison": {"before": effect.c_before, "after": effect.c_after,
                       "n_before": effect.samples.get("c_before", 0), "n_after": effect.samples.get("c_after", 0)},
        "effect": effect.effect, "interval_90": [effect.low, effect.high] if effect.low is not None else None,
        "direction": metrics.METRICS[effect.code].direction,
    }


def pilot_json(pilot: Pilot, results: list[PhaseResult] | None = None) -> dict:
    out = {
        "id": pilot.id, "name": pilot.name, "pod": {"id": pilot.pod_id, "name": pilot.pod.name},
        "status": pilot.status, "start_date": pilot.start_date.isoformat(),
        "ended_on": pilot.ended_on.isoformat() if pilot.ended_on else None, "hypothesis": pilot.hypothesis,
        "metrics": pilot.metric_codes, "window_days": pilot.window_days,
        "phases": [{"number": phase.number, "start_date": phase.start_date.isoformat(),
                    "cells": [{"segment_id": c.segment_id, "segment": c.segment.name, "stage_id": c.stage_id,
                               "stage": c.stage.name} for c in phase.cells]} for phase in pilot.phases],
    }
    if results is not None:
        for phase_json, result in zip(out["phases"], results, strict=True):
            phase_json["effects"] = [effect_json(result.effects[code]) for code in pilot.metric_codes
                                     if code in result.effects]
    return out


def quarter_pilots(pod_id: int | None, start: date, end: date) -> list[dict]:
    """Pilots running at some point of start..end (of one pod, or every pod), as plain data (one query)."""
    stmt = (select(Pilot).options(selectinload(Pilot.pod))
            .where(Pilot.start_date <= end, (Pilot.ended_on.is_(None)) | (Pilot.ended_on >= start))
            .order_by(Pilot.start_date, Pilot.id))
    if pod_id is not None:
        stmt = stmt.where(Pilot.pod_id == pod_id)
    return [{"id": p.id, "name": p.name, "pod": p.pod.name, "status": p.status,
             "start_date": p.start_date.isoformat(), "ended_on": p.ended_on.isoformat() if p.ended_on else None,
             "metrics": p.metric_codes} for p in db.session.scalars(stmt)]
