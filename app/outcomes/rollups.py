"""Per-day rollups of cases, so the organisation's and every pod's figures stay fast at a million cases.

One row per (time zone, local day, pod) holds the day's sums the engine needs (cases created, escalated,
resolved, first-contact resolved, handed off, handoffs, reopened, CSAT good / rated, SLA met / due, cases
done for the backlog) and the day's first-reply and resolution minutes as a sorted array of integers, so
percentiles stay exact (continuous, as METRICS.md) by merging the days of a period. Rollups exist for the
organisation's zone and every pod's zone ("built" zones, listed in `case_rollup_zones`).

Kept in step with the cases automatically:
- ORM writes of cases (flush) and ORM-enabled bulk statements (`session.execute(insert(Case), rows)`,
  `session.execute(update(Case), rows)`) record the days they touch;
- writers that go around the ORM (the file import's raw cursor) call `touch(moments)` with the UTC
  moments (or dates) of the timestamps they wrote and of those they replaced;
- touched days are recomputed from the cases just before the session commits (`before_commit`) and before the
  engine reads rollups in the same transaction (`flush_pending()`), inside the same transaction; a rollback
  drops them with the cases. `refresh(days)` recomputes given days at once; `rebuild()` everything.
A zone not built yet (a new pod time zone) is built at the next commit that touches cases, pods or the
organisation; until then the engine answers from the cases table (the reference path).
"""

from __future__ import annotations

import sys
from array import array
from collections import defaultdict
from collections.abc import Iterable
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import (
    Date,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
    delete,
    event,
    func,
    insert,
    select,
    text,
)
from sqlalchemy.orm import Mapped, Session, mapped_column

from app.extensions import db
from app.outcomes.models import Case
from app.timeutil import local_day_bounds, utcnow

PENDING = "outcomes_rollup_days"
CHECK_ZONES = "outcomes_rollup_zones"
REBUILD = "outcomes_rollup_rebuild"
COUNTS = ("created", "escalated", "resolved", "fcr", "handed_off", "handoffs", "reopened", "csat_good",
          "csat_rated", "sla_met", "sla_due", "done")
_BIG_ENDIAN = sys.byteorder == "big"


class CaseDayRollup(db.Model):
    """The sums of one local day's cases of one pod (pod_id NULL: cases of no pod), read in `zone`."""

    __tablename__ = "case_day_rollups"
    __table_args__ = (Index("ix_case_day_rollups_zone_day", "zone", "day", "pod_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    zone: Mapped[str] = mapped_column(String(64))
    day: Mapped[date] = mapped_column(Date)
    pod_id: Mapped[int | None] = mapped_column(ForeignKey("pods.id", ondelete="SET NULL"), nullable=True)
    created: Mapped[int] = mapped_column(Integer, default=0)
    escalated: Mapped[int] = mapped_column(Integer, default=0)
    resolved: Mapped[int] = mapped_column(Integer, default=0)
    fcr: Mapped[int] = mapped_column(Integer, default=0)
    handed_off: Mapped[int] = mapped_column(Integer, default=0)
    handoffs: Mapped[int] = mapped_column(Integer, default=0)
    reopened: Mapped[int] = mapped_column(Integer, default=0)
    csat_good: Mapped[int] = mapped_column(Integer, default=0)
    csat_rated: Mapped[int] = mapped_column(Integer, default=0)
    sla_met: Mapped[int] = mapped_column(Integer, default=0)
    sla_due: Mapped[int] = mapped_column(Integer, default=0)
    done: Mapped[int] = mapped_column(Integer, default=0)
    # Sorted 32-bit little-endian integers: the minutes of the day's cases (by creation / first resolution).
    first_reply_minutes: Mapped[bytes | None] = mapped_column(LargeBinary, nullable=True)
    resolution_minutes: Mapped[bytes | None] = mapped_column(LargeBinary, nullable=True)


class RollupZone(db.Model):
    """A time zone whose rollups are complete."""

    __tablename__ = "case_rollup_zones"

    zone: Mapped[str] = mapped_column(String(64), primary_key=True)
    built_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)


# --- packing minutes ------------------------------------------------------------------------------

def pack(values: list[int]) -> bytes | None:
    if not values:
        return None
    packed = array("i", sorted(values))
    if _BIG_ENDIAN:  # pragma: no cover
        packed.byteswap()
    return packed.tobytes()


def unpack_into(target: array, blob: bytes | None) -> None:
    if not blob:
        return
    if _BIG_ENDIAN:  # pragma: no cover
        extra = array("i")
        extra.frombytes(blob)
        extra.byteswap()
        target.extend(extra)
    else:
        target.frombytes(bytes(blob))


# --- local days -----------------------------------------------------------------------------------

class _DayOf:
    """The local day (in `zone`) a naive UTC moment falls in, exactly as local_day_bounds draws days."""

    def __init__(self, zone: str) -> None:
        self.zone = zone
        self.info = ZoneInfo(zone)
        self.cache: dict[datetime, date] = {}

    def __call__(self, moment: datetime) -> date:
        key = moment.replace(minute=moment.minute - moment.minute % 15, second=0, microsecond=0)
        day = self.cache.get(key)
        if day is None:
            day = key.replace(tzinfo=ZoneInfo("UTC")).astimezone(self.info).date()
            start, end = local_day_bounds(day, day, self.zone)
            if key < start:
                day -= timedelta(days=1)
            elif key >= end:
                day += timedelta(days=1)
            self.cache[key] = day
        return day


def _ranges(days: Iterable[date]) -> list[tuple[date, date]]:
    ordered = sorted(set(days))
    ranges: list[tuple[date, date]] = []
    for day in ordered:
        if ranges and (day - ranges[-1][1]).days == 1:
            ranges[-1] = (ranges[-1][0], day)
        else:
            ranges.append((day, day))
    return ranges


def _earliest(resolved: datetime | None, closed: datetime | None) -> datetime | None:
    if resolved is None:
        return closed
    return resolved if closed is None or resolved < closed else closed


# --- computing days -------------------------------------------------------------------------------

_COLUMNS = (Case.pod_id, Case.created_at, Case.escalated, Case.first_reply_minutes, Case.first_resolved_at,
            Case.closed_at, Case.replies, Case.reopens, Case.assignee_stations, Case.group_stations, Case.csat_score,
            Case.due_at, Case.resolution_minutes)


def _compute(session: Session, zones: list[str], first: date, last: date, full: bool = False) -> list[dict]:
    """Rollup rows of the local days first..last in each zone, from the cases: one table scan when `full`,
    else three index ranges (by creation, first resolution and closing)."""
    bounds = [(zone, *local_day_bounds(first, last, zone), _DayOf(zone)) for zone in zones]
    lo = min(b[1] for b in bounds)
    hi = max(b[2] for b in bounds)
    sums: dict[tuple, list[int]] = defaultdict(lambda: [0] * len(COUNTS))
    replies: dict[tuple, list[int]] = defaultdict(list)
    resolutions: dict[tuple, list[int]] = defaultdict(list)

    # Done (for the backlog) = the earlier of first resolution and closing, but not before creation: each case
    # counts as done on the day of exactly one of its timestamps.
    def on_created(row) -> None:
        pod_id, created_at, escalated, minutes, resolved_at, closed_at = row[:6]
        earliest = _earliest(resolved_at, closed_at)
        for zone, z_lo, z_hi, day_of in bounds:
            if z_lo <= created_at < z_hi:
                key = (zone, day_of(created_at), pod_id)
                counts = sums[key]
                counts[0] += 1
                counts[1] += 1 if escalated else 0
                if minutes is not None:
                    replies[key].append(minutes)
                if earliest is not None and earliest < created_at:
                    counts[11] += 1

    def on_resolved(row) -> None:
        (pod_id, created_at, _esc, _fr, resolved_at, closed_at, replies_n, reopens, assignee_st, group_st, csat,
         due_at, minutes) = row
        for zone, z_lo, z_hi, day_of in bounds:
            if not z_lo <= resolved_at < z_hi:
                continue
            key = (zone, day_of(resolved_at), pod_id)
            counts = sums[key]
            counts[2] += 1
            if replies_n is not None and reopens is not None and assignee_st is not None and \
                    replies_n <= 1 and reopens == 0 and assignee_st <= 1:
                counts[3] += 1
            if (assignee_st is not None and assignee_st > 1) or (group_st is not None and group_st > 1):
                counts[4] += 1
            if group_st is not None and group_st > 1:
                counts[5] += group_st - 1
            if reopens is not None and reopens > 0:
                counts[6] += 1
            if csat is not None:
                counts[8] += 1
                counts[7] += 1 if csat >= 4 else 0
            if due_at is not None:
                counts[10] += 1
                counts[9] += 1 if resolved_at <= due_at else 0
            if minutes is not None:
                resolutions[key].append(minutes)
            if resolved_at >= created_at and (closed_at is None or resolved_at <= closed_at):
                counts[11] += 1

    def on_closed(row) -> None:
        pod_id, created_at, resolved_at, closed_at = row[0], row[1], row[4], row[5]
        if closed_at >= created_at and (resolved_at is None or closed_at < resolved_at):
            for zone, z_lo, z_hi, day_of in bounds:
                if z_lo <= closed_at < z_hi:
                    sums[(zone, day_of(closed_at), pod_id)][11] += 1

    conn = session.connection()
    if full:
        for row in conn.execute(select(*_COLUMNS)):
            on_created(row)
            if row[4] is not None:
                on_resolved(row)
            if row[5] is not None:
                on_closed(row)
    else:
        for column, handle in ((Case.created_at, on_created), (Case.first_resolved_at, on_resolved),
                               (Case.closed_at, on_closed)):
            for row in conn.execute(select(*_COLUMNS).where(column >= lo, column < hi)):
                handle(row)
    rows = []
    for key in sums.keys() | replies.keys() | resolutions.keys():
        zone, day, pod_id = key
        counts = sums.get(key) or [0] * len(COUNTS)
        rows.append({"zone": zone, "day": day, "pod_id": pod_id, **dict(zip(COUNTS, counts, strict=True)),
                     "first_reply_minutes": pack(replies.get(key, [])),
                     "resolution_minutes": pack(resolutions.get(key, []))})
    return rows


def _lock(session: Session) -> None:
    """One refresh at a time (two would each delete, then both insert, the same day on PostgreSQL)."""
    if session.get_bind().dialect.name == "postgresql":
        session.connection().execute(text("SELECT pg_advisory_xact_lock(7140001)"))


def _write(session: Session, zones: list[str], first: date, last: date, full: bool = False) -> None:
    conn = session.connection()
    conn.execute(delete(CaseDayRollup.__table__).where(
        CaseDayRollup.zone.in_(zones), CaseDayRollup.day >= first, CaseDayRollup.day <= last))
    rows = _compute(session, zones, first, last, full)
    for start in range(0, len(rows), 5000):
        conn.execute(insert(CaseDayRollup.__table__), rows[start:start + 5000])


def wanted_zones(session: Session) -> list[str]:
    from app.org.models import Organisation, Pod

    conn = session.connection()
    zones = set(z for z in conn.execute(select(Pod.timezone).distinct()).scalars() if z)
    org = conn.execute(select(Organisation.timezone).order_by(Organisation.id).limit(1)).scalar()
    zones.add(org or "Europe/Madrid")
    return sorted(zones)


def built_zones(session: Session) -> set[str]:
    return set(session.connection().execute(select(RollupZone.zone)).scalars())


def _build_zones(session: Session, zones: list[str]) -> None:
    """Every day of these zones from scratch, in one scan of the cases."""
    if not zones:
        return
    conn = session.connection()
    lo, hi = conn.execute(select(func.min(Case.created_at), func.max(Case.created_at))).one()
    last_resolved, last_closed = conn.execute(select(func.max(Case.first_resolved_at), func.max(Case.closed_at))).one()
    conn.execute(delete(CaseDayRollup.__table__).where(CaseDayRollup.zone.in_(zones)))
    if lo is not None:
        latest = max(m for m in (hi, last_resolved, last_closed) if m is not None)
        _write(session, zones, lo.date() - timedelta(days=1), latest.date() + timedelta(days=1), full=True)
    conn.execute(delete(RollupZone.__table__).where(RollupZone.zone.in_(zones)))
    conn.execute(insert(RollupZone.__table__), [{"zone": zone, "built_at": utcnow()} for zone in zones])


def ensure_zones(session: Session | None = None) -> None:
    """Build the rollups of zones now in use that have none; forget zones no longer in use."""
    session = session or db.session
    wanted, built = set(wanted_zones(session)), built_zones(session)
    if wanted == built:
        return
    _lock(session)
    conn = session.connection()
    for zone in built - wanted:
        conn.execute(delete(CaseDayRollup.__table__).where(CaseDayRollup.zone == zone))
        conn.execute(delete(RollupZone.__table__).where(RollupZone.zone == zone))
    _build_zones(session, sorted(wanted - built))


def refresh(days: Iterable[date | datetime], session: Session | None = None) -> None:
    """Recompute the rollups of the days given (UTC dates, or UTC moments) in every built zone, now.

    The import path and the API call this (through `touch` and the commit) after writing a batch; a local day
    may differ from the UTC date by one, so the neighbours are recomputed too."""
    session = session or db.session
    utc_days = {d.date() if isinstance(d, datetime) else d for d in days if d is not None}
    ensure_zones(session)
    if not utc_days:
        return
    _lock(session)
    local = {d + timedelta(days=shift) for d in utc_days for shift in (-1, 0, 1)}
    zones = sorted(built_zones(session))
    ranges = _ranges(local)
    if zones and len(local) > 60:  # most of the history: one scan beats many index ranges
        _write(session, zones, ranges[0][0], ranges[-1][1], full=True)
        return
    for first, last in ranges:
        if zones:
            _write(session, zones, first, last)


def rebuild(session: Session | None = None) -> None:
    """Every zone's rollups from scratch (`flask outcomes rollups`)."""
    session = session or db.session
    _lock(session)
    conn = session.connection()
    conn.execute(delete(RollupZone.__table__))
    conn.execute(delete(CaseDayRollup.__table__))
    _build_zones(session, wanted_zones(session))


# --- keeping in step ------------------------------------------------------------------------------

def touch(moments: Iterable[date | datetime | str | None], session: Session | None = None) -> None:
    """Note days whose cases changed (UTC moments, dates, or SQLite's datetime text); recomputed at commit."""
    session = session or db.session
    pending = session.info.setdefault(PENDING, set())
    for moment in moments:
        if moment is None:
            continue
        if isinstance(moment, str):
            moment = date.fromisoformat(moment[:10])
        pending.add(moment.date() if isinstance(moment, datetime) else moment)


def flush_pending(session: Session | None = None) -> None:
    """Recompute the days touched so far in this transaction (the engine calls this before reading)."""
    session = session or db.session
    days = session.info.pop(PENDING, None)
    check = session.info.pop(CHECK_ZONES, False)
    if session.info.pop(REBUILD, False):
        rebuild(session)
    elif days:
        refresh(days, session)
    elif check:
        ensure_zones(session)


def ready(session: Session, zones: Iterable[str]) -> bool:
    """May the engine read rollups for these zones (after recomputing what this transaction touched)?"""
    flush_pending(session)
    return set(zones) <= built_zones(session)


TIMESTAMPS = ("created_at", "first_resolved_at", "closed_at")


def _case_moments(obj: Case) -> list:
    from sqlalchemy import inspect as sa_inspect

    state = sa_inspect(obj)
    moments = []
    for name in TIMESTAMPS:
        history = state.attrs[name].history
        moments.extend(history.added or ())
        moments.extend(history.deleted or ())
        moments.extend(history.unchanged or ())
    return moments


@event.listens_for(Session, "after_flush")
def _after_flush(session: Session, _context) -> None:
    from app.org.models import Organisation, Pod

    moments: list = []
    for obj in (*session.new, *session.dirty, *session.deleted):
        if isinstance(obj, Case):
            moments.extend(_case_moments(obj))
        elif isinstance(obj, Pod | Organisation):
            session.info[CHECK_ZONES] = True
    if moments:
        touch(moments, session)


@event.listens_for(Session, "do_orm_execute")
def _bulk_statement(state) -> None:
    """ORM-enabled bulk INSERT / UPDATE / DELETE of cases: note the days they touch."""
    if not (state.is_insert or state.is_update or state.is_delete):
        return
    mapper = state.bind_mapper
    if mapper is None or mapper.class_ is not Case:
        return
    session = state.session
    params = state.parameters
    rows = params if isinstance(params, list) else [params] if isinstance(params, dict) else []
    moments = [row.get(name) for row in rows for name in TIMESTAMPS]
    ids = [row["id"] for row in rows if "id" in row]
    if ids:
        for start in range(0, len(ids), 500):
            for found in session.connection().execute(
                    select(Case.created_at, Case.first_resolved_at, Case.closed_at)
                    .where(Case.id.in_(ids[start:start + 500]))):
                moments.extend(found)
    if (state.is_update or state.is_delete) and not rows:  # a criteria statement: anything may change
        session.info[REBUILD] = True
    touch(moments, session)


@event.listens_for(Session, "before_commit")
def _before_commit(session: Session) -> None:
    session.flush()  # the commit's own flush comes after this hook: note its days first
    if session.info.get(PENDING) or session.info.get(CHECK_ZONES) or session.info.get(REBUILD):
        flush_pending(session)


@event.listens_for(Session, "after_rollback")
def _after_rollback(session: Session) -> None:
    for key in (PENDING, CHECK_ZONES, REBUILD):
        session.info.pop(key, None)
