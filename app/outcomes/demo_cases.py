"""Six months of helpdesk cases for the demo pods: deterministic, bulk-inserted, with trends to find."""

from __future__ import annotations

import hashlib
import math
import random
from bisect import bisect
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from itertools import accumulate
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import insert, select

from app.demo.org_data import CLOSURE, ENTERPRISE, IN_LIFE, ONBOARDING, PRE_SALE, RESIDENTIAL, SMALL_BUSINESS, WARRANTY
from app.extension_points import demo_step
from app.extensions import db
from app.org.models import Coverage, LifecycleStage, Membership, Pod, Segment, User
from app.org.services import get_organisation
from app.outcomes.models import Case

SEED = 42
CHUNK = 5000
FIRST_EXTERNAL_ID = 180_001
CLOSE_AFTER = timedelta(days=4)
RATED_SHARE = 0.35
GAP_GROUP = "Ventas general"
ESCALATED_SHARE = 0.035

Cell = tuple[str, str]

CELL_VOLUME: dict[Cell, float] = {
    (RESIDENTIAL, PRE_SALE): 12, (RESIDENTIAL, ONBOARDING): 20, (RESIDENTIAL, IN_LIFE): 42,
    (RESIDENTIAL, WARRANTY): 22, (RESIDENTIAL, CLOSURE): 16,
    (SMALL_BUSINESS, PRE_SALE): 7, (SMALL_BUSINESS, ONBOARDING): 9, (SMALL_BUSINESS, IN_LIFE): 20,
    (SMALL_BUSINESS, WARRANTY): 12, (SMALL_BUSINESS, CLOSURE): 5,
    (ENTERPRISE, PRE_SALE): 4, (ENTERPRISE, ONBOARDING): 4, (ENTERPRISE, IN_LIFE): 12,
    (ENTERPRISE, WARRANTY): 7, (ENTERPRISE, CLOSURE): 2,
}
WEEKDAY_FACTOR = {1: 1.22, 2: 1.08, 3: 1.0, 4: 0.97, 5: 0.88, 6: 0.32, 7: 0.14}
GROWTH = 0.08
BILLING_DAYS_FACTOR = 1.2

OVERLAP_SHARE = {"Residential Care": 0.55, "Residential Retention & Closure": 0.45}
CELL_HANDOFF = {("SMB Care", SMALL_BUSINESS, WARRANTY): 0.40}
OVERLAP_HANDOFF_EXTRA = 0.04

RAW_SEGMENT = {RESIDENTIAL: "Residencial", SMALL_BUSINESS: "Pymes", ENTERPRISE: "Grandes cuentas"}
RAW_STAGE = {PRE_SALE: "Preventa", ONBOARDING: "Venta y alta", IN_LIFE: "Servicio",
             WARRANTY: "Posventa y garantía", CLOSURE: "Baja"}
RAW_REQUEST_TYPE = {
    "information": "Información", "quote": "Presupuesto", "service_request": "Solicitud de servicio",
    "petition": "Petición", "complaint": "Queja", "claim": "Reclamación", "suggestion": "Sugerencia",
    "report": "Denuncia", "warranty": "Garantía", "compliment": "Felicitación",
}
CUSTOMERS = {RESIDENTIAL: 16_000, SMALL_BUSINESS: 3_200, ENTERPRISE: 240}

LIVE_CHANNELS = frozenset({"phone", "chat", "in_person"})
DUE_WORK_MINUTES = {"urgent": 240, "high": 630, "normal": 1260, "low": 2520}
PRIORITY_PACE = {"urgent": 0.3, "high": 0.6, "normal": 1.0, "low": 1.3}
WINDOWS = {1: (time(8, 30), time(19)), 2: (time(8, 30), time(19)), 3: (time(8, 30), time(19)),
           4: (time(8, 30), time(19)), 5: (time(8, 30), time(19)), 6: (time(9), time(14)),
           7: (time(10), time(14))}


class Weighted:
    """A weighted choice with cumulative weights computed once."""

    def __init__(self, weights: dict[Any, float]) -> None:
        self.values = list(weights)
        self.cumulative = list(accumulate(weights.values()))
        self.total = self.cumulative[-1]

    def pick(self, rng: random.Random) -> Any:
        return self.values[bisect(self.cumulative, rng.random() * self.total)]


REQUEST_TYPES_BY_STAGE = {
    PRE_SALE: Weighted({"information": 54, "quote": 36, "petition": 5, "suggestion": 3, "compliment": 2}),
    ONBOARDING: Weighted({"service_request": 40, "information": 19, "petition": 15, "complaint": 12, "claim": 5,
                          "quote": 5, "compliment": 3, "report": 0.3}),
    IN_LIFE: Weighted({"service_request": 30, "information": 20, "complaint": 18, "claim": 12, "petition": 10,
                       "suggestion": 4, "compliment": 4, "report": 0.5}),
    WARRANTY: Weighted({"warranty": 45, "claim": 20, "complaint": 15, "service_request": 12, "information": 6,
                        "compliment": 2, "report": 0.3}),
    CLOSURE: Weighted({"petition": 45, "complaint": 20, "information": 15, "claim": 12, "service_request": 6,
                       "suggestion": 2}),
}
CHANNELS_BY_SEGMENT = {
    RESIDENTIAL: {"phone": 34, "chat": 22, "email": 18, "web": 10, "app": 10, "social": 4, "in_person": 2},
    SMALL_BUSINESS: {"phone": 34, "email": 30, "chat": 16, "web": 10, "app": 6, "social": 2, "in_person": 2},
    ENTERPRISE: {"email": 50, "phone": 35, "web": 8, "chat": 5, "app": 2},
}
PRIORITIES_BY_SEGMENT = {
    RESIDENTIAL: Weighted({"low": 18, "normal": 62, "high": 16, "urgent": 4}),
    SMALL_BUSINESS: Weighted({"low": 12, "normal": 60, "high": 22, "urgent": 6}),
    ENTERPRISE: Weighted({"low": 5, "normal": 50, "high": 33, "urgent": 12}),
}
IN_HOURS = {1: Weighted({8: 2, 9: 7, 10: 10, 11: 10, 12: 9, 13: 6, 14: 6, 15: 8, 16: 9, 17: 8, 18: 5}),
            6: Weighted({9: 6, 10: 9, 11: 9, 12: 8, 13: 6}),
            7: Weighted({10: 6, 11: 8, 12: 7, 13: 5})}
OFF_HOURS = Weighted({0: 0.6, 1: 0.3, 2: 0.2, 3: 0.1, 4: 0.1, 5: 0.2, 6: 0.6, 7: 3, 19: 5, 20: 4, 21: 3,
                      22: 2, 23: 1})
DAYTIME = Weighted({h: w for h, w in zip(range(24), (0.3, 0.2, 0.1, 0.1, 0.1, 0.1, 0.3, 0.8, 2, 4, 6, 7, 7, 6,
                                                        5, 5, 5, 5, 5, 5, 4, 3, 2, 1), strict=True)})
OPEN_STATUS = Weighted({"open": 58, "pending": 35, "hold": 7})
REPLIES = Weighted({2: 35, 3: 30, 4: 18, 5: 10, 6: 5, 8: 2})
ASSIGNEE_STATIONS = Weighted({2: 70, 3: 25, 4: 5})
GOOD_SCORE = Weighted({5: 78, 4: 22})
BAD_SCORE = Weighted({1: 55, 2: 25, 3: 20})


@dataclass(frozen=True)
class Profile:
    """How a pod performs, each figure as (start, end) of the generated period."""

    fcr: tuple[float, float]
    handoff: tuple[float, float]
    csat: tuple[float, float]
    reply: tuple[float, float]
    work: tuple[float, float]
    reopen: tuple[float, float]


def _flat(fcr: float, handoff: float, csat: float, reply: float, work: float, reopen: float) -> Profile:
    return Profile((fcr, fcr), (handoff, handoff), (csat, csat), (reply, reply), (work, work), (reopen, reopen))


PROFILES: dict[str | None, Profile] = {
    "Residential Onboarding": _flat(0.68, 0.12, 0.83, 90, 700, 0.18),
    "Residential Care": Profile(fcr=(0.55, 0.75), handoff=(0.16, 0.09), csat=(0.76, 0.86), reply=(130, 75),
                                work=(900, 600), reopen=(0.24, 0.14)),
    "Residential Retention & Closure": _flat(0.60, 0.13, 0.72, 150, 950, 0.2),
    "SMB Growth": _flat(0.70, 0.10, 0.88, 60, 500, 0.15),
    "SMB Care": _flat(0.60, 0.12, 0.79, 120, 1100, 0.2),
    "Enterprise Accounts": _flat(0.64, 0.11, 0.90, 45, 420, 0.12),
    None: _flat(0.45, 0.35, 0.68, 320, 1400, 0.25),
}
DEFAULT_PROFILE = _flat(0.62, 0.12, 0.80, 120, 800, 0.18)


def _lerp(pair: tuple[float, float], t: float) -> float:
    return pair[0] + (pair[1] - pair[0]) * t


@dataclass(eq=False)
class Owner:
    """Who answers a cell's cases: a pod, or nobody for a gap (members then come from a fallback pod)."""

    pod_id: int | None
    group: str
    tz: ZoneInfo
    working_days: str
    profile: Profile
    members: list[tuple[int, str, date, date | None]]
    _offsets: dict[date, timedelta] = field(default_factory=dict)
    _rosters: dict[date, list[tuple[int, str]]] = field(default_factory=dict)

    def works(self, day: date) -> bool:
        return str(day.isoweekday()) in self.working_days

    def utc(self, local: datetime) -> datetime:
        day = local.date()
        offset = self._offsets.get(day)
        if offset is None:
            offset = self.tz.utcoffset(datetime.combine(day, time(12))) or timedelta(0)
            self._offsets[day] = offset
        return (local - offset).replace(microsecond=0)

    def roster(self, day: date) -> list[tuple[int, str]]:
        found = self._rosters.get(day)
        if found is None:
            found = [(uid, name) for uid, name, start, end in self.members
                     if start <= day and (end is None or end >= day)]
            self._rosters[day] = found
        return found

    def add_work(self, start: datetime, minutes: float) -> datetime:
        """The moment `minutes` of working time after `start`, counting only the pod's opening hours."""
        moment = start
        remaining = minutes
        for _ in range(400):
            day = moment.date()
            if self.works(day):
                opens, closes = WINDOWS[day.isoweekday()]
                open_at, close_at = datetime.combine(day, opens), datetime.combine(day, closes)
                if moment < close_at:
                    moment = max(moment, open_at)
                    available = (close_at - moment).total_seconds() / 60
                    if remaining <= available:
                        return moment + timedelta(minutes=remaining)
                    remaining -= available
            moment = datetime.combine(day + timedelta(days=1), time.min)
        return moment


def _poisson(rng: random.Random, mean: float) -> int:
    if mean <= 0:
        return 0
    if mean > 30:
        return max(0, round(rng.gauss(mean, math.sqrt(mean))))
    limit, k, p = math.exp(-mean), 0, rng.random()
    while p > limit:
        k += 1
        p *= rng.random()
    return k


def _lognormal(rng: random.Random, median: float, sigma: float) -> float:
    return median * math.exp(rng.gauss(0, sigma))


def _minutes(later: datetime, earlier: datetime) -> int:
    return max(0, round((later - earlier).total_seconds() / 60))


@dataclass
class Plan:
    cells: dict[Cell, list[tuple[Owner, float]]]
    segment_ids: dict[str, int]
    stage_ids: dict[str, int]
    org_tz: ZoneInfo


def _members_by_pod() -> dict[int, list[tuple[int, str, date, date | None]]]:
    rows = db.session.execute(
        select(Membership.pod_id, User.id, User.display_name, Membership.start_date, Membership.end_date)
        .join(User, User.id == Membership.user_id)
        .order_by(Membership.pod_id, User.display_name, Membership.start_date)
    )
    result: dict[int, list[tuple[int, str, date, date | None]]] = {}
    for pod_id, user_id, name, start, end in rows:
        result.setdefault(pod_id, []).append((user_id, name, start, end))
    return result


def _plan() -> Plan:
    """Read who owns which cell from the database, so cases follow the coverage the demo created."""
    org_tz = ZoneInfo(get_organisation().timezone)
    segment_ids = {name: sid for sid, name in db.session.execute(select(Segment.id, Segment.name))}
    stage_ids = {name: sid for sid, name in db.session.execute(select(LifecycleStage.id, LifecycleStage.name))}
    members = _members_by_pod()
    owners: dict[int, Owner] = {}
    cells: dict[Cell, list[tuple[Owner, float]]] = {}
    rows = db.session.execute(
        select(Pod, Segment.name, LifecycleStage.name)
        .join(Coverage, Coverage.pod_id == Pod.id)
        .join(Segment, Segment.id == Coverage.segment_id)
        .join(LifecycleStage, LifecycleStage.id == Coverage.stage_id)
        .where(Coverage.valid_to.is_(None), Pod.active)
        .order_by(Pod.name, Segment.name, LifecycleStage.name)  # a total order: the same draws on every database
    )
    for pod, segment_name, stage_name in rows:
        owner = owners.get(pod.id)
        if owner is None:
            owner = Owner(pod.id, pod.name, ZoneInfo(pod.timezone), pod.working_days,
                          PROFILES.get(pod.name, DEFAULT_PROFILE), members.get(pod.id, []))
            owners[pod.id] = owner
        cells.setdefault((segment_name, stage_name), []).append((owner, OVERLAP_SHARE.get(pod.name, 1.0)))
    for cell in CELL_VOLUME:
        if cell in cells or cell[0] not in segment_ids or cell[1] not in stage_ids:
            continue
        neighbours = [o for (segment_name, _stage), pairs in cells.items() if segment_name == cell[0]
                      for o, _share in pairs]
        pool = max(neighbours, key=neighbours.count).members if neighbours else []
        cells[cell] = [(Owner(None, GAP_GROUP, org_tz, "12345", PROFILES[None], pool), 1.0)]
    return Plan(cells, segment_ids, stage_ids, org_tz)


class Generator:
    """Draws cases one at a time; every random choice comes from one seeded stream."""

    def __init__(self, plan: Plan, now: datetime, rng: random.Random) -> None:
        self.plan = plan
        self.now = now
        self.rng = rng
        self.channels = {segment: (Weighted(weights),
                                   Weighted({c: w for c, w in weights.items() if c not in LIVE_CHANNELS}))
                         for segment, weights in CHANNELS_BY_SEGMENT.items()}
        self.customer_refs: dict[tuple[str, int], str] = {}

    def run(self, first: date, last: date, scale: float) -> list[dict[str, Any]]:
        rows: list[dict[str, Any]] = []
        span = max(1, (last - first).days)
        shares = {cell: Weighted({owner: share for owner, share in owners}) for cell, owners in self.plan.cells.items()}
        day = first
        while day <= last:
            t = (day - first).days / span
            for cell, owners in self.plan.cells.items():
                mean = CELL_VOLUME.get(cell, 0) * scale * WEEKDAY_FACTOR[day.isoweekday()] * (1 + GROWTH * t)
                if cell[1] == IN_LIFE and day.day <= 5:
                    mean *= BILLING_DAYS_FACTOR
                for _ in range(_poisson(self.rng, mean)):
                    owner = shares[cell].pick(self.rng)
                    row = self.case(owner, cell, day, t, overlap=len(owners) > 1)
                    if row is not None:
                        rows.append(row)
            day += timedelta(days=1)
        return rows

    def _created(self, owner: Owner, day: date) -> tuple[datetime, bool]:
        rng = self.rng
        in_hours = owner.works(day) and rng.random() < 0.9
        if in_hours:
            weekday = day.isoweekday()
            hour = IN_HOURS[weekday if weekday in IN_HOURS else 1].pick(rng)
            opens = WINDOWS[weekday][0]
            minute = rng.randrange(opens.minute if hour == opens.hour else 0, 60)
        else:
            hour = (OFF_HOURS if owner.works(day) else DAYTIME).pick(rng)
            minute = rng.randrange(60)
        return datetime.combine(day, time(hour, minute, rng.randrange(60))), in_hours

    def _customer(self, segment: str) -> str:
        key = (segment, self.rng.randrange(CUSTOMERS[segment]))
        ref = self.customer_refs.get(key)
        if ref is None:
            ref = hashlib.blake2b(f"{key[0]}:{key[1]}".encode(), digest_size=8, person=b"podium-demo").hexdigest()
            self.customer_refs[key] = ref
        return ref

    def case(self, owner: Owner, cell: Cell, day: date, t: float, overlap: bool) -> dict[str, Any] | None:
        rng, now = self.rng, self.now
        segment, stage = cell
        profile = owner.profile
        created_local, in_hours = self._created(owner, day)
        created = owner.utc(created_local)
        if created >= now:
            return None

        any_channel, written = self.channels[segment]
        channel = (any_channel if in_hours else written).pick(rng)
        live = channel in LIVE_CHANNELS
        request_type = REQUEST_TYPES_BY_STAGE[stage].pick(rng)
        priority = PRIORITIES_BY_SEGMENT[segment].pick(rng)
        if request_type in ("complaint", "claim") and priority in ("low", "normal") and rng.random() < 0.3:
            priority = "high"
        escalation = 0.015 + (0.05 if request_type in ("complaint", "claim") else 0) + (
            0.04 if priority == "urgent" else 0)
        escalated = rng.random() < escalation * (1.5 if segment == ENTERPRISE else 1.0)

        handoff_rate = CELL_HANDOFF.get((owner.group, segment, stage), _lerp(profile.handoff, t))
        if overlap:
            handoff_rate += OVERLAP_HANDOFF_EXTRA
        handoff = rng.random() < handoff_rate
        first_contact = False
        if not handoff and not escalated:
            chance = _lerp(profile.fcr, t) / (1 - handoff_rate) / (1 - ESCALATED_SHARE) * (1.08 if live else 0.93)
            first_contact = rng.random() < min(0.97, chance)
        reopened = not first_contact and rng.random() < _lerp(profile.reopen, t) * (1.4 if handoff else 1.0)

        if first_contact:
            replies = 1
        else:
            replies = REPLIES.pick(rng) + (1 if handoff else 0) + (1 if reopened else 0)
        if handoff:
            assignee_stations = ASSIGNEE_STATIONS.pick(rng)
            problem = (owner.group, segment, stage) in CELL_HANDOFF
            group_stations = (3 if rng.random() < 0.25 else 2) if rng.random() < (0.7 if problem else 0.4) else 1
        else:
            assignee_stations = group_stations = 1

        if live:
            first_reply_local = created_local + timedelta(minutes=rng.uniform(0.2, 4))
            assigned_local = created_local + (first_reply_local - created_local) / 2
        else:
            reply_work = _lognormal(rng, _lerp(profile.reply, t), 0.8)
            first_reply_local = owner.add_work(created_local, reply_work)
            assigned_local = owner.add_work(created_local, reply_work * rng.uniform(0.2, 0.9))
        if first_contact:
            handling = rng.uniform(4, 25) if live else rng.uniform(1, 15)
            first_resolved_local = first_reply_local + timedelta(minutes=handling)
        else:
            median = _lerp(profile.work, t) * PRIORITY_PACE[priority]
            median *= (1.6 if escalated else 1.0) * (1.4 if handoff else 1.0)
            first_resolved_local = owner.add_work(first_reply_local, max(20.0, _lognormal(rng, median, 0.95)))
        solved_local = first_resolved_local
        if reopened:
            back = first_resolved_local + timedelta(days=rng.uniform(0.3, 4))
            solved_local = owner.add_work(back, _lognormal(rng, 240, 0.8))
        due = owner.utc(owner.add_work(created_local, DUE_WORK_MINUTES[priority]))

        first_reply: datetime | None = owner.utc(first_reply_local)
        assigned: datetime | None = owner.utc(assigned_local)
        first_resolved: datetime | None = owner.utc(first_resolved_local)
        solved: datetime | None = owner.utc(solved_local)

        roster = owner.roster(day)
        assignee: tuple[int, str] | None = rng.choice(roster) if roster else None
        closed: datetime | None = None
        csat: int | None = None
        resolution: int | None = None
        reopens = 1 if reopened else 0
        if solved is not None and solved <= now:
            status = "solved"
            resolution = _minutes(solved, created)
            if solved + CLOSE_AFTER <= now:
                status, closed = "closed", solved + CLOSE_AFTER
            if rng.random() < RATED_SHARE:
                good = _lerp(profile.csat, t) + (0.05 if first_contact else -0.10 if handoff else -0.07)
                good -= 0.15 if escalated else 0.0
                csat = (GOOD_SCORE if rng.random() < good else BAD_SCORE).pick(rng)
        elif first_resolved is not None and first_resolved <= now:
            status, solved = "open", None
        else:
            first_resolved = solved = None
            reopens = 0
            if first_reply is not None and first_reply <= now:
                status = OPEN_STATUS.pick(rng)
                replies = max(1, replies - 2)
            elif assigned is not None and assigned <= now:
                status, first_reply, replies = "open", None, 0
            else:
                status, first_reply, assigned, assignee, replies = "new", None, None, None, 0
                assignee_stations = group_stations = 0
        events = [moment for moment in (created, assigned, first_reply, first_resolved, solved, closed)
                  if moment is not None]

        return {
            "source": "zendesk",
            "external_id": "",
            "customer_ref": self._customer(segment),
            "segment_id": self.plan.segment_ids[segment],
            "stage_id": self.plan.stage_ids[stage],
            "pod_id": owner.pod_id,
            "assignee_id": assignee[0] if assignee else None,
            "request_type": request_type,
            "raw_segment": RAW_SEGMENT[segment],
            "raw_stage": RAW_STAGE[stage],
            "raw_request_type": RAW_REQUEST_TYPE[request_type],
            "raw_group": owner.group,
            "raw_assignee": assignee[1] if assignee else None,
            "channel": channel,
            "priority": priority,
            "status": status,
            "created_at": created,
            "first_reply_at": first_reply,
            "assigned_at": assigned,
            "first_resolved_at": first_resolved,
            "solved_at": solved,
            "closed_at": closed,
            "due_at": due,
            "updated_at": max(events),
            "first_reply_minutes": _minutes(first_reply, created) if first_reply else None,
            "resolution_minutes": resolution,
            "replies": replies,
            "reopens": reopens,
            "group_stations": group_stations,
            "assignee_stations": assignee_stations,
            "csat_score": csat,
            "nps_score": None,
            "ces_score": None,
            "escalated": escalated,
            "import_id": None,
            "imported_at": now,
        }


def generate_cases(now: datetime, weeks: int = 26, scale: float = 1.0, seed: int = SEED) -> list[dict[str, Any]]:
    """Case rows for the `weeks` up to `now`, ordered by creation with sequential Zendesk ids."""
    plan = _plan()
    today = now.replace(tzinfo=ZoneInfo("UTC")).astimezone(plan.org_tz).date()
    first = today - timedelta(days=weeks * 7 - 1)
    rows = Generator(plan, now, random.Random(seed)).run(first, today, scale)
    rows.sort(key=lambda row: row["created_at"])
    for number, row in enumerate(rows, start=FIRST_EXTERNAL_ID):
        row["external_id"] = str(number)
    return rows


def insert_cases(rows: Sequence[dict[str, Any]]) -> None:
    for start in range(0, len(rows), CHUNK):
        db.session.execute(insert(Case), list(rows[start:start + CHUNK]))


@demo_step(10, "cases")
def load_demo_cases(now: datetime, weeks: int = 26, scale: float = 1.0) -> int:
    """Generate and insert the demo cases; return how many there are."""
    rows = generate_cases(now, weeks=weeks, scale=scale)
    insert_cases(rows)
    return len(rows)
