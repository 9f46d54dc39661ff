"""Where to start: every segment × lifecycle-stage cell of a period ranked by avoidable rework (METRICS.md,
"Version 2 additions").

avoidable rework = resolved × rework_rate (the number of rework cases), ties broken by rework_rate, then by
complaint_share. Every figure comes from the one engine grouped by cell (the same figure as asking the engine
for that segment and stage); cells with fewer than MIN_RESOLVED resolved cases are listed apart. Each cell names
the pod covering it at the end of the period (or none: a gap) and how many of its cases have a request type
unexpected for its stage. A fixed number of queries whatever the number of cases or cells.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date

from sqlalchemy import and_, func, or_, select

from app.extensions import db
from app.org.models import Coverage, LifecycleStage, Pod, Segment
from app.outcomes import metrics
from app.outcomes.models import Case
from app.outcomes.request_types import unexpected_condition
from app.timeutil import local_day_bounds

MIN_RESOLVED = 30
CODES = ("volume", "resolved", "rework_rate", "handoff_rate", "reopen_rate", "escalation_rate", "complaint_share",
         "sla_attainment", "csat")


@dataclass
class Opportunity:
    segment_id: int
    segment: str
    stage_id: int
    stage: str
    figures: dict[str, metrics.Figure]
    pods: list[tuple[int, str]] = field(default_factory=list)  # covering pods at the period's end
    unexpected: int = 0  # cases created in the period whose request type is unexpected at the stage
    rank: int | None = None

    @property
    def rework(self) -> int:
        """Avoidable rework: the number of rework cases (resolved × rework_rate)."""
        return int(self.figures["rework_rate"].numerator or 0)

    @property
    def resolved(self) -> int:
        return int(self.figures["resolved"].value or 0)

    @property
    def gap(self) -> bool:
        return not self.pods

    def sort_key(self) -> tuple:
        rework = self.figures["rework_rate"].value or 0.0
        complaints = self.figures["complaint_share"].value or 0.0
        return (-self.rework, -rework, -complaints, self.segment_id, self.stage_id)


@dataclass
class Ranking:
    start: date
    end: date
    ranked: list[Opportunity]
    too_few: list[Opportunity]

    def find(self, segment_id: int, stage_id: int) -> Opportunity | None:
        for cell in (*self.ranked, *self.too_few):
            if cell.segment_id == segment_id and cell.stage_id == stage_id:
                return cell
        return None


def _covering(at) -> dict[tuple[int, int], list[tuple[int, str]]]:
    """(segment, stage) -> pods covering it at the moment `at` (one query)."""
    rows = db.session.execute(
        select(Coverage.segment_id, Coverage.stage_id, Pod.id, Pod.name).join(Pod, Pod.id == Coverage.pod_id)
        .where(Coverage.valid_from < at, or_(Coverage.valid_to.is_(None), Coverage.valid_to >= at))
        .order_by(Pod.name))
    found: dict[tuple[int, int], list[tuple[int, str]]] = {}
    for segment_id, stage_id, pod_id, name in rows:
        found.setdefault((segment_id, stage_id), []).append((pod_id, name))
    return found


def _unexpected(lo, hi) -> dict[tuple[int, int], int]:
    """Cases created in [lo, hi) per cell whose request type is unexpected for their stage (one query)."""
    condition = unexpected_condition()
    stmt = (select(Case.segment_id, Case.stage_id, func.count())
            .where(Case.created_at >= lo, Case.created_at < hi, Case.segment_id.is_not(None),
                   Case.stage_id.is_not(None), condition)
            .group_by(Case.segment_id, Case.stage_id))
    return {(s, t): int(n) for s, t, n in db.session.execute(stmt)}


def unexpected_counts(start: date, end: date, tz: str | None = None) -> dict[tuple[int, int], int]:
    """Cases created on local days start..end per cell whose request type is unexpected at the stage."""
    lo, hi = local_day_bounds(start, end, tz or metrics._org_timezone())
    return _unexpected(lo, hi)


def rank(start: date, end: date, tz: str | None = None) -> Ranking:
    """Every active segment × stage cell for local days start..end (in the organisation's zone), ranked."""
    zone = tz or metrics._org_timezone()
    figures = metrics.compute_by("cell", start, end, codes=CODES, tz=zone)
    lo, hi = local_day_bounds(start, end, zone)
    pods = _covering(hi)
    unexpected = _unexpected(lo, hi)
    segments = db.session.execute(select(Segment.id, Segment.name).where(Segment.active)
                                  .order_by(Segment.position, Segment.name)).all()
    stages = db.session.execute(select(LifecycleStage.id, LifecycleStage.name).where(LifecycleStage.active)
                                .order_by(LifecycleStage.position, LifecycleStage.name)).all()
    empty = {code: metrics._empty(code) for code in CODES}
    ranked, too_few = [], []
    for segment_id, segment in segments:
        for stage_id, stage in stages:
            cell = Opportunity(segment_id, segment, stage_id, stage, figures.get((segment_id, stage_id), empty),
                               pods.get((segment_id, stage_id), []), unexpected.get((segment_id, stage_id), 0))
            (ranked if cell.resolved >= MIN_RESOLVED else too_few).append(cell)
    ranked.sort(key=Opportunity.sort_key)
    too_few.sort(key=Opportunity.sort_key)
    for index, cell in enumerate(ranked, start=1):
        cell.rank = index
    return Ranking(start, end, ranked, too_few)


def cell_condition(cells) -> object:
    """SQL: the case is in one of the (segment_id, stage_id) cells."""
    from sqlalchemy import false

    pairs = sorted(set(cells))
    if not pairs:
        return false()
    return or_(*(and_(Case.segment_id == s, Case.stage_id == t) for s, t in pairs))
