"""Demo pilots: one started ten weeks ago on the worst cell (its cases improve from the start: fewer handoffs),
and one with no effect; each written in its pod's language (its coach's)."""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import or_, select, update

from app.demo.language import say
from app.demo.org_data import LEADER_EMAIL
from app.extension_points import demo_step
from app.extensions import db
from app.org.models import LifecycleStage, Segment, User, pod_coaches
from app.org.services import get_organisation
from app.outcomes import opportunities
from app.outcomes.models import Case
from app.pilots import services
from app.timeutil import local_day_bounds

FIRST_WEEKS_AGO = 10
SECOND_WEEKS_AGO = 9
IMPROVED_SHARE = 11  # of 20: the share of the pilot cell's handoffs that no longer happen after the start

FIRST = {
    "name": say("Piloto: la posventa de principio a fin en un solo equipo",
                "Pilota: il post-vendita dall'inizio alla fine in un solo team",
                "Pilot: post-sale end to end in one team"),
    "hypothesis": say("Si el mismo equipo resuelve las reparaciones y garantías sin pasarlas a otro grupo, bajarán "
                      "los traspasos y el retrabajo, y los clientes lo notarán en la satisfacción.",
                      "Se lo stesso team risolve riparazioni e garanzie senza passarle a un altro gruppo, "
                      "diminuiranno i passaggi di mano e le rilavorazioni, e i clienti lo noteranno nella "
                      "soddisfazione.",
                      "If one team resolves repairs and warranty claims without passing them on, handoffs and "
                      "rework will fall, and customers will notice it in satisfaction."),
}
SECOND = {
    "name": say("Piloto: un único interlocutor para las bajas",
                "Pilota: un unico referente per le disdette",
                "Pilot: one contact for closures"),
    "hypothesis": say("Con un único interlocutor para cada baja habrá menos quejas y menos casos reabiertos.",
                      "Con un unico referente per ogni disdetta ci saranno meno reclami e meno casi riaperti.",
                      "With one contact for each closure there will be fewer complaints and fewer reopened cases."),
}
SECOND_CELL = ("Residential", "Account closure")


def _coach_locale(pod_id: int) -> str | None:
    return db.session.scalar(select(User.locale).join(pod_coaches, pod_coaches.c.user_id == User.id)
                             .where(pod_coaches.c.pod_id == pod_id).order_by(User.id).limit(1))


def _improve(cell: tuple[int, int], start_utc: datetime) -> None:
    """From the start, most of the pilot cell's handoffs do not happen any more (a deterministic share by id)."""
    ids = list(db.session.scalars(
        select(Case.id).where(Case.segment_id == cell[0], Case.stage_id == cell[1], Case.created_at >= start_utc,
                              or_(Case.assignee_stations > 1, Case.group_stations > 1))))
    rows = [{"id": case_id, "assignee_stations": 1, "group_stations": 1, "row_hash": None} for case_id in ids
            if case_id % 20 < IMPROVED_SHARE]
    if rows:
        db.session.execute(update(Case), rows)


@demo_step(75, "pilots")
def load_demo_pilots(now: datetime) -> None:
    leader = db.session.scalar(select(User).where(User.email == LEADER_EMAIL))
    tz = get_organisation().timezone
    today = now.replace(tzinfo=ZoneInfo("UTC")).astimezone(ZoneInfo(tz)).date()
    first_start = today - timedelta(weeks=FIRST_WEEKS_AGO)
    # The worst cell as the cases stand before the pilot's effect is written into them (the last twelve weeks).
    ranking = opportunities.rank(today - timedelta(weeks=12), today - timedelta(days=1), tz)
    worst = next((cell for cell in ranking.ranked if cell.pods), None)
    if worst is None:
        return
    pod_id = worst.pods[0][0]
    locale = _coach_locale(pod_id)
    services.start_pilot(
        leader, name=FIRST["name"].in_locale(locale), cells=[(worst.segment_id, worst.stage_id)],
        start=first_start, metric_codes=["rework_rate", "handoff_rate", "csat"],
        hypothesis=FIRST["hypothesis"].in_locale(locale), pod_id=pod_id, now=now)
    _improve((worst.segment_id, worst.stage_id), local_day_bounds(first_start, first_start, tz)[0])

    segment_id = db.session.scalar(select(Segment.id).where(Segment.name == SECOND_CELL[0]))
    stage_id = db.session.scalar(select(LifecycleStage.id).where(LifecycleStage.name == SECOND_CELL[1]))
    found = ranking.find(segment_id, stage_id) if segment_id and stage_id else None
    if found is None or not found.pods or (segment_id, stage_id) == (worst.segment_id, worst.stage_id):
        return
    second_pod = found.pods[-1][0]
    locale = _coach_locale(second_pod)
    services.start_pilot(
        leader, name=SECOND["name"].in_locale(locale), cells=[(segment_id, stage_id)],
        start=today - timedelta(weeks=SECOND_WEEKS_AGO), metric_codes=["complaint_share", "reopen_rate"],
        hypothesis=SECOND["hypothesis"].in_locale(locale), pod_id=second_pod, now=now)
