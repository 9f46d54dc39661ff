"""Per-day rollups of cases, so the organisation's, every pod's and a pod dashboard's figures stay fast at a
million cases.

`case_day_rollups`: one row per (time zone, local day, pod) holds the day's sums the engine needs (cases
created, escalated, resolved, first-contact resolved, handed off, handoffs, reopened, CSAT good / rated, SLA
met / due, cases done for the backlog) and the day's first-reply and resolution minutes as a sorted array of
integers, so percentiles stay exact (continuous, as METRICS.md) by merging the days of a period.
`case_day_breakdowns`: the same sums and minutes per (zone, day, pod, breakdown, key) for the breakdowns the
dashboards show — segment x stage cell, channel, request type, agent — without the backlog's "done", each pod's
in its own zone (a pod dashboard) and every pod's, cases of no pod included, in the organisation's zone (the
organisation's dashboard).
`case_day_types`: cases created per (zone, day, pod, request type), for complaint_share.
Rollups exist for the organisation's zone and every pod's zone ("built" zones, listed in `case_rollup_zones`).

Days are computed in SQL: a case's local day is found by comparing its moment with the days' UTC starts, drawn
from `local_day_bounds` itself (so DST days are exactly the engine's days), and each day's sums are GROUP BY
aggregates over index ranges of the cases; only the sums and the minutes, as text, travel to Python.

Kept in step with the cases automatically:
- ORM writes of cases (flush) and ORM-enabled bulk statements (`session.execute(insert(Case), rows)`,
  `session.execute(update(Case), rows)`) record the days they touch;
- writers that go around the ORM (the file import's raw cursor) call `touch(moments)` with the UTC
  moments (or dates) of the timestamps they wrote and of those they replaced;
- touched days are recomputed from the cases just before the session commits (`before_commit`) and before the
  engine reads rollups in the same transaction (`flush_pending()`), inside the same transaction; a rollback
  drops them with the cases. `refresh_days(days)` recomputes given days at once; `rebuild()` everything.
- a long writer (a file import) runs its batches inside `deferred()`: each batch's commit queues its touched
  days durably (`case_rollup_queue`, in the batch's own transaction) instead of recomputing them, and
  `refresh_queued()` at the end recomputes just those days once. While days are queued the engine answers
  periods that reach them from the cases table (the reference path), so figures are never stale.
- a file import that created cases adds their rows to the stored ones at its end (`new_case_rows`, `add_rows`:
  counts add, minutes merge) instead of recomputing their days from every case; the days of cases it updated,
  and those queued before it began, are recomputed. That is exact only if nobody else wrote rollups meanwhile:
  every write of rollups (and a deferred writer's queuing) moves its zones' stamp (`RollupZone.built_at`), and an
  import that finds a stamp moved since it began recomputes its days as before (`ingest.add_new_cases`).
A zone not built yet (a new pod time zone) is built at the next commit that touches cases, pods or the
organisation; until then the engine answers from the cases table (the reference path).
"""

from __future__ import annotations

import json
import sys
from array import array
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from itertools import repeat
from operator import itemgetter

import numpy as np
from sqlalchemy import (
    Date,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
    bindparam,
    case,
    delete,
    event,
    func,
    insert,
    select,
    text,
)
from sqlalchemy import inspect as sa_inspect
from sqlalchemy.orm import Mapped, Session, mapped_column

from app.extensions import db, dialect_insert
from app.org.models import Organisation, Pod
from app.outcomes.models import Case
from app.timeutil import local_day_bounds, utcnow

PENDING = "outcomes_rollup_days"
CHECK_ZONES = "outcomes_rollup_zones"
REBUILD = "outcomes_rollup_rebuild"
STATE = "outcomes_rollup_state"  # (built zones, earliest queued day) as read in this transaction
CACHE = "outcomes_engine_cache"  # the engine's per-transaction memo (zones of pods and the organisation)
DEFER = "outcomes_rollup_defer"
COUNTS = ("created", "escalated", "resolved", "fcr", "handed_off", "handoffs", "reopened", "csat_good",
          "csat_rated", "sla_met", "sla_due", "reworked", "done")
BREAKDOWN_COUNTS = COUNTS[:-1]  # a breakdown's backlog comes from the cases table
BREAKDOWNS = ("cell", "channel", "request_type", "agent")


class _DaySums:
    """The columns a day's rollup and a day's breakdown share: the counts of BREAKDOWN_COUNTS and the day's
    minutes, as sorted 32-bit little-endian integers (by creation / first resolution)."""

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
    reworked: Mapped[int] = mapped_column(Integer, default=0)  # resolved and handed off, reopened or escalated
    first_reply_minutes: Mapped[bytes | None] = mapped_column(LargeBinary, nullable=True)
    resolution_minutes: Mapped[bytes | None] = mapped_column(LargeBinary, nullable=True)


class _ZoneDayPod:
    """Whose day a row of a day table sums: the local `day` of one pod (pod_id NULL: cases of no pod), read in
    `zone`. The three day tables share these columns; each adds what it sums."""

    id: Mapped[int] = mapped_column(primary_key=True)
    zone: Mapped[str] = mapped_column(String(64))
    day: Mapped[date] = mapped_column(Date)
    pod_id: Mapped[int | None] = mapped_column(ForeignKey("pods.id", ondelete="SET NULL"), nullable=True)


class CaseDayRollup(_ZoneDayPod, _DaySums, db.Model):
    """The sums of one local day's cases of one pod (pod_id NULL: cases of no pod), read in `zone`."""

    __tablename__ = "case_day_rollups"
    __table_args__ = (Index("ix_case_day_rollups_zone_day", "zone", "day", "pod_id"),)

    done: Mapped[int] = mapped_column(Integer, default=0)


class CaseDayBreakdown(_ZoneDayPod, _DaySums, db.Model):
    """The sums of one local day's cases of one pod with one value of a breakdown (`dim`: "cell" keyed
    "<segment id>:<stage id>", "channel", "request_type", "agent" keyed by the assignee's id), read in the
    pod's own zone (what its dashboard reads) and in the organisation's zone (pod NULL: cases of no pod)."""

    __tablename__ = "case_day_breakdowns"
    __table_args__ = (Index("ix_case_day_breakdowns_read", "zone", "dim", "day", "pod_id"),)

    dim: Mapped[str] = mapped_column(String(16))
    key: Mapped[str] = mapped_column(String(40))


class CaseDayType(_ZoneDayPod, db.Model):
    """Cases created on one local day for one pod (pod_id NULL: of no pod) with one request type, read in `zone`
    (every built zone, like `case_day_rollups`): complaint_share counts the types an admin marks as complaints
    when it reads, so changing the marks needs no rebuild."""

    __tablename__ = "case_day_types"
    __table_args__ = (Index("ix_case_day_types_read", "zone", "day", "pod_id"),)

    request_type: Mapped[str] = mapped_column(String(40))
    created: Mapped[int] = mapped_column(Integer, default=0)


DAY_TABLES = (CaseDayRollup.__table__, CaseDayBreakdown.__table__, CaseDayType.__table__)


class RollupZone(db.Model):
    """A time zone whose rollups are complete; `built_at`: when they were last written (`_stamp`)."""

    __tablename__ = "case_rollup_zones"

    zone: Mapped[str] = mapped_column(String(64), primary_key=True)
    built_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)


class RollupQueue(db.Model):
    """A UTC day whose cases changed under `deferred()` and whose rollups wait for `refresh_queued()`.
    `version` grows with every queuing, so a refresh removes only the queuings it has seen."""

    __tablename__ = "case_rollup_queue"

    day: Mapped[date] = mapped_column(Date, primary_key=True)
    version: Mapped[int] = mapped_column(Integer, default=1)


def dim_key(dim: str, values: tuple) -> str | None:
    """The stored key of a breakdown value (None: the case has no value for it and belongs to no group)."""
    if any(v is None for v in values):
        return None
    return f"{values[0]}:{values[1]}" if dim == "cell" else str(values[0])


def parse_key(dim: str, key: str):
    """The engine's group key for a stored key: (segment_id, stage_id), an agent id, or the text itself."""
    if dim == "cell":
        segment, _sep, stage = key.partition(":")
        return int(segment), int(stage)
    return int(key) if dim == "agent" else key


def _dim_columns(dim: str) -> tuple:
    return {"cell": (Case.segment_id, Case.stage_id), "channel": (Case.channel,),
            "request_type": (Case.request_type,), "agent": (Case.assignee_id,)}[dim]


# --- packing minutes ------------------------------------------------------------------------------

_BIG_ENDIAN = sys.byteorder == "big"


def pack(values: list[int]) -> bytes | None:
    """Minutes as sorted 32-bit little-endian integers."""
    if not values:
        return None
    packed = array("i", sorted(values))
    if _BIG_ENDIAN:  # pragma: no cover
        packed.byteswap()
    return packed.tobytes()


def unpack(blob: bytes | None) -> array:
    values = array("i")
    if blob:
        values.frombytes(bytes(blob))
        if _BIG_ENDIAN:  # pragma: no cover
            values.byteswap()
    return values


def minutes_of(blob: bytes | None) -> list[int]:
    return unpack(blob).tolist()


# --- local days -----------------------------------------------------------------------------------

def _ranges(days: Iterable[date], gap: int = 1) -> list[tuple[date, date]]:
    """Runs of days; days at most `gap` apart share a run (the days between are recomputed too)."""
    ordered = sorted(set(days))
    ranges: list[tuple[date, date]] = []
    for day in ordered:
        if ranges and (day - ranges[-1][1]).days <= gap:
            ranges[-1] = (ranges[-1][0], day)
        else:
            ranges.append((day, day))
    return ranges


def _day_starts(zone: str, first: date, last: date, as_text: bool) -> list:
    """The UTC starts of the local days first..last+1 (the last one ends `last`), exactly local_day_bounds'
    days, as the database returns moments (SQLite: its DateTime text, which sorts like the moments)."""
    starts = []
    day = first
    while day <= last + timedelta(days=1):
        moment = local_day_bounds(day, day, zone)[0]
        starts.append(moment.isoformat(" ", "microseconds") if as_text else moment)
        day += timedelta(days=1)
    return starts


# --- computing days -------------------------------------------------------------------------------

# A case's flags in the resolved family, as SQL over its columns (NULLs count as METRICS.md says: not met).
_HANDED_OFF = "(assignee_stations > 1 OR group_stations > 1)"
_RESOLVED_SUMS = (
    ("fcr", "CASE WHEN replies <= 1 AND reopens = 0 AND assignee_stations <= 1 THEN 1 ELSE 0 END"),
    ("handed_off", f"CASE WHEN {_HANDED_OFF} THEN 1 ELSE 0 END"),
    ("handoffs", "CASE WHEN group_stations > 1 THEN group_stations - 1 ELSE 0 END"),
    ("reopened", "CASE WHEN reopens > 0 THEN 1 ELSE 0 END"),
    ("csat_good", "CASE WHEN csat_score >= 4 THEN 1 ELSE 0 END"),
    ("csat_rated", "CASE WHEN csat_score IS NOT NULL THEN 1 ELSE 0 END"),
    ("sla_met", "CASE WHEN due_at IS NOT NULL AND first_resolved_at <= due_at THEN 1 ELSE 0 END"),
    ("sla_due", "CASE WHEN due_at IS NOT NULL THEN 1 ELSE 0 END"),
    ("reworked", f"CASE WHEN {_HANDED_OFF} OR reopens > 0 OR escalated THEN 1 ELSE 0 END"),  # metrics.reworked
)
# A breakdown's key as stored (dim_key) and the condition for a case to have one.
_DIM_KEYS = (
    ("cell", "CAST(segment_id AS TEXT) || ':' || CAST(stage_id AS TEXT)",
     "segment_id IS NOT NULL AND stage_id IS NOT NULL"),
    ("channel", "channel", "channel IS NOT NULL"),
    ("request_type", "request_type", "request_type IS NOT NULL"),
    ("agent", "CAST(assignee_id AS TEXT)", "assignee_id IS NOT NULL"),
)
# The moment a case is done for the backlog: the earlier of its first resolution and its closing, not before
# its creation.
_DONE_AT = ("CASE WHEN first_resolved_at IS NULL THEN closed_at "
            "WHEN closed_at IS NULL OR first_resolved_at < closed_at THEN first_resolved_at ELSE closed_at END")
_DONE_MOMENT = f"CASE WHEN ({_DONE_AT}) < created_at THEN created_at ELSE ({_DONE_AT}) END"


def _day_index(moment: str, starts: list[str]) -> str:
    """SQL for the index of the local day `moment` falls in, given the days' starts as SQL literals (the last one
    ends the last day); NULL outside them. A balanced tree of comparisons: exact, with no date arithmetic, and
    about log2(days) comparisons a case."""

    def tree(lo: int, hi: int) -> str:  # days lo..hi-1
        if hi - lo == 1:
            return str(lo)
        mid = (lo + hi) // 2
        return f"CASE WHEN {moment} < {starts[mid]} THEN {tree(lo, mid)} ELSE {tree(mid, hi)} END"

    return f"CASE WHEN {moment} >= {starts[0]} AND {moment} < {starts[-1]} THEN {tree(0, len(starts) - 1)} END"


def _minutes(text_values: str | None) -> bytes | None:
    """The day's minutes, aggregated by the database as comma-separated text, packed."""
    if not text_values:
        return None
    return pack([int(value) for value in text_values.split(",")])


class _Rows:
    """The rollup rows a computation fills in, made on first use: `main` by (zone, day, pod), `parts` (breakdown
    rows) by (zone, day, pod, dim, key); both computations, in SQL and with numpy, give rows of this shape."""

    def __init__(self) -> None:
        self.main: dict = {}
        self.parts: dict = {}

    def main_row(self, zone: str, day: date, pod_id) -> dict:
        row = self.main.get((zone, day, pod_id))
        if row is None:
            row = self.main[(zone, day, pod_id)] = {
                **dict.fromkeys(COUNTS, 0), "zone": zone, "day": day, "pod_id": pod_id,
                "first_reply_minutes": None, "resolution_minutes": None}
        return row

    def part_row(self, zone: str, day: date, pod_id, dim: str, key: str) -> dict:
        row = self.parts.get((zone, day, pod_id, dim, key))
        if row is None:
            row = self.parts[(zone, day, pod_id, dim, key)] = {
                **dict.fromkeys(BREAKDOWN_COUNTS, 0), "zone": zone, "day": day, "pod_id": pod_id, "dim": dim,
                "key": key, "first_reply_minutes": None, "resolution_minutes": None}
        return row


def _compute(session: Session, zones: list[str], first: date, last: date, full: bool,
             pod_zones: dict, org_zone: str | None = None) -> tuple[list[dict], list[dict], list[dict]]:
    """Rollup rows and request-type rows (every zone) and breakdown rows (each pod in its own zone, every pod's
    in the organisation's) of the local days first..last, aggregated by the database: GROUP BY local day (a
    comparison tree over the zone's day starts), pod and breakdown key, over index ranges of the cases
    (creation, first resolution, done moment), or the whole table when `full`. Only the sums and the minutes,
    as text, travel to Python."""
    conn = session.connection()
    postgres = conn.dialect.name == "postgresql"
    text_agg = ("string_agg(CAST({0} AS TEXT), ',')" if postgres else "group_concat({0}, ',')").format
    # Keeps a subquery from being merged into the query around it, which would compute its day once per use.
    kept = " OFFSET 0" if postgres else " LIMIT -1"
    table = Case.__table__.name
    made = _Rows()
    main_row, part_row = made.main_row, made.part_row
    types: list[dict] = []
    cursor = conn.connection.cursor()
    if postgres:  # room to aggregate in memory (hashing) rather than sort every case of the range
        cursor.execute("SET LOCAL work_mem = '64MB'")

    def run(sql: str) -> list:
        cursor.execute(sql)
        return cursor.fetchall()

    try:
        for zone in zones:
            starts = _day_starts(zone, first, last, not postgres)
            literals = [f"'{moment}'" if not postgres else f"TIMESTAMP '{moment.isoformat(' ', 'microseconds')}'"
                        for moment in starts]
            days = [first + timedelta(days=d) for d in range(len(starts) - 1)]

            def within(column: str, lo: str = literals[0], hi: str = literals[-1]) -> str:
                return "" if full else f" AND {column} >= {lo} AND {column} < {hi}"

            if zone == org_zone:
                of_zone = ""
            else:
                pods = sorted(pod for pod, pod_zone in pod_zones.items() if pod_zone == zone)
                of_zone = f" AND pod_id IN ({', '.join(str(int(pod)) for pod in pods)})" if pods else None
            if full:  # every case: the table itself, scanned once per family and breakdown
                source = table
                created_day, resolved_day = _day_index("created_at", literals), _day_index("first_resolved_at", literals)
                escalated, first_reply, resolution = "CASE WHEN escalated THEN 1 ELSE 0 END", "first_reply_minutes", \
                    "resolution_minutes"
                flags = [expression for _name, expression in _RESOLVED_SUMS]
                created_rows = "created_at IS NOT NULL"
                resolved_rows = "first_resolved_at IS NOT NULL"
                done = (f"(SELECT {_day_index('m', literals)} AS d, pod_id FROM (SELECT {_DONE_MOMENT} AS m, pod_id "
                        f"FROM {table} WHERE first_resolved_at IS NOT NULL OR closed_at IS NOT NULL{kept}) t{kept})")
            else:
                # The cases of the range, found once through the three moments' indexes, each with its local days and
                # flags computed once, into a temporary table the queries below scan: not an index range per query,
                # each looking every case up in the table again and computing its day again (11 of them).
                span = "rollup_span"
                cursor.execute(f"DROP TABLE IF EXISTS {span}")
                moments = " OR ".join(f"({within(column)[5:]})" for column in ("created_at", "first_resolved_at",
                                                                                "closed_at"))
                cursor.execute(
                    f"CREATE TEMPORARY TABLE {span} AS SELECT pod_id, {_day_index('created_at', literals)} AS cd, "
                    f"{_day_index('first_resolved_at', literals)} AS rd, {_day_index('m', literals)} AS dd, "
                    f"CASE WHEN escalated THEN 1 ELSE 0 END AS e, first_reply_minutes AS fm, resolution_minutes AS rm, "
                    f"{', '.join(f'{expression} AS f_{name}' for name, expression in _RESOLVED_SUMS)}, "
                    f"segment_id, stage_id, channel, request_type, assignee_id FROM (SELECT *, {_DONE_MOMENT} AS m "
                    f"FROM {table} WHERE {moments}{kept}) t")
                source = span
                created_day, resolved_day = "cd", "rd"
                escalated, first_reply, resolution = "e", "fm", "rm"
                flags = [f"f_{name}" for name, _expression in _RESOLVED_SUMS]
                created_rows = "cd IS NOT NULL"
                resolved_rows = "rd IS NOT NULL"
                done = f"(SELECT dd AS d, pod_id FROM {span})"
            resolved_flags = ", ".join(f"{flag} AS {name}" for flag, (name, _e) in zip(flags, _RESOLVED_SUMS, strict=True))
            # Created: the day's cases, escalations and first-reply minutes; request types.
            for d, pod, count, escalated_sum, minutes in run(
                    f"SELECT d, pod_id, COUNT(*), SUM(e), {text_agg('m')} FROM (SELECT {created_day} AS d, pod_id, "
                    f"{escalated} AS e, {first_reply} AS m FROM {source} "
                    f"WHERE {created_rows}{kept}) s WHERE d IS NOT NULL GROUP BY d, pod_id"):
                row = main_row(zone, days[d], pod)
                row["created"], row["escalated"], row["first_reply_minutes"] = count, escalated_sum, _minutes(minutes)
            if of_zone != "":  # in the organisation's zone they come with the request-type breakdown, below
                for d, pod, request_type, count in run(
                        f"SELECT d, pod_id, request_type, COUNT(*) FROM (SELECT {created_day} AS d, pod_id, "
                        f"request_type FROM {source} WHERE request_type IS NOT NULL AND {created_rows}{kept}) s "
                        f"WHERE d IS NOT NULL GROUP BY d, pod_id, request_type"):
                    types.append({"zone": zone, "day": days[d], "pod_id": pod, "request_type": request_type,
                                  "created": count})
            # Resolved: the flags' sums and resolution minutes, on the day of the first resolution.
            for d, pod, count, *sums, minutes in run(
                    f"SELECT d, pod_id, COUNT(*), {', '.join(f'SUM({name})' for name, _e in _RESOLVED_SUMS)}, "
                    f"{text_agg('m')} FROM (SELECT {resolved_day} AS d, pod_id, {resolved_flags}, "
                    f"{resolution} AS m FROM {source} WHERE {resolved_rows}{kept}) s WHERE d IS NOT NULL "
                    f"GROUP BY d, pod_id"):
                row = main_row(zone, days[d], pod)
                row["resolved"], row["resolution_minutes"] = count, _minutes(minutes)
                for (name, _expression), total in zip(_RESOLVED_SUMS, sums, strict=True):
                    row[name] = total
            # Done, for the backlog: on the day of the done moment (the earlier of first resolution and closing).
            for d, pod, count in run(f"SELECT d, pod_id, COUNT(*) FROM {done} s WHERE d IS NOT NULL GROUP BY d, pod_id"):
                main_row(zone, days[d], pod)["done"] = count
            if of_zone is not None:
                # Breakdowns, in this zone for the pods whose zone it is (every pod's in the organisation's zone).
                for dim, key, has_key in _DIM_KEYS:
                    for d, pod, value, count, escalated_sum, minutes in run(
                            f"SELECT d, pod_id, k, COUNT(*), SUM(e), {text_agg('m')} FROM (SELECT {created_day} AS d, "
                            f"pod_id, {key} AS k, {escalated} AS e, {first_reply} AS m FROM {source} WHERE {has_key}"
                            f"{of_zone} AND {created_rows}{kept}) s WHERE d IS NOT NULL GROUP BY d, pod_id, k"):
                        row = part_row(zone, days[d], pod, dim, value)
                        row["created"], row["escalated"] = count, escalated_sum
                        row["first_reply_minutes"] = _minutes(minutes)
                        if dim == "request_type" and of_zone == "":  # every pod's cases: the day's request types
                            types.append({"zone": zone, "day": days[d], "pod_id": pod, "request_type": value,
                                          "created": count})
                    for d, pod, value, count, *sums, minutes in run(
                            f"SELECT d, pod_id, k, COUNT(*), {', '.join(f'SUM({name})' for name, _e in _RESOLVED_SUMS)}, "
                            f"{text_agg('m')} FROM (SELECT {resolved_day} AS d, pod_id, {key} AS k, {resolved_flags}, "
                            f"{resolution} AS m FROM {source} WHERE {resolved_rows} AND {has_key}{of_zone}{kept}) s "
                            f"WHERE d IS NOT NULL GROUP BY d, pod_id, k"):
                        row = part_row(zone, days[d], pod, dim, value)
                        row["resolved"], row["resolution_minutes"] = count, _minutes(minutes)
                        for (name, _expression), total in zip(_RESOLVED_SUMS, sums, strict=True):
                            row[name] = total
            if not full:
                cursor.execute(f"DROP TABLE {span}")
    finally:
        cursor.close()
    return list(made.main.values()), list(made.parts.values()), types


# --- computing days from one read of the cases, with numpy ----------------------------------------

# From this many days on, a range is counted by `_compute_streamed`; shorter ones (an API write's days) by `_compute`.
STREAM_MIN_DAYS = 10
STREAM_FETCH = 20_000
_FLAG_NAMES = tuple(name for name, _expression in _RESOLVED_SUMS)
# The values a case adds that are 0 or 1, each one bit of a single column of the stream (one column, not eleven,
# to fetch and convert per case); handoffs, a count, comes on its own.
_BITS = (("escalated", "CASE WHEN escalated THEN 1 ELSE 0 END"),
         ("has_reply", "CASE WHEN first_reply_minutes IS NULL THEN 0 ELSE 1 END"),
         ("has_resolution", "CASE WHEN resolution_minutes IS NULL THEN 0 ELSE 1 END"),
         *((name, expression) for name, expression in _RESOLVED_SUMS if name != "handoffs"))
_BIT_OF = {name: bit for bit, (name, _expression) in enumerate(_BITS)}


def _stream_sql(postgres: bool) -> str:
    """One row per case: its pod, its three moments (the done moment as _DONE_MOMENT), its 0-or-1 values as the bits
    of one integer (_BITS), its minutes and handoffs, computed by the same SQL expressions as `_compute`'s (NULLs read
    alike), and its breakdown values; NULL ids as -1 (ids are >= 1)."""
    moment = "{0}" if postgres else "COALESCE({0}, '')"  # SQLite: text, and '' sorts before every day
    bits = " + ".join(f"({expression}) * {1 << bit}" for bit, (_name, expression) in enumerate(_BITS))
    handoffs = dict(_RESOLVED_SUMS)["handoffs"]
    return ("SELECT COALESCE(pod_id, -1), " + ", ".join(moment.format(m) for m in (
                "created_at", "first_resolved_at", f"({_DONE_MOMENT})")) +
            f", {bits}, COALESCE(first_reply_minutes, 0), COALESCE(resolution_minutes, 0), {handoffs}, "
            "COALESCE(segment_id, -1), COALESCE(stage_id, -1), channel, request_type, COALESCE(assignee_id, -1) "
            f"FROM {Case.__table__.name}")


def _codes(values: tuple, table: dict) -> list[int]:
    """Text values as dense codes (NULL: -1), the same code for the same text in every chunk."""
    setdefault = table.setdefault
    return [-1 if value is None else setdefault(value, len(table)) for value in values]


def _compute_streamed(session: Session, zones: list[str], first: date, last: date, full: bool,
                      pod_zones: dict, org_zone: str | None = None,
                      only: tuple[int, int] | None = None) -> tuple[list[dict], list[dict], list[dict]]:
    """`_compute`'s rows from one read of the cases (the whole table when `full`, else those with a moment in the
    range), grouped by numpy: each case's local days by a sorted search of the zone's day starts (the starts and the
    comparisons of `_compute`'s SQL: text on SQLite, timestamps on PostgreSQL), its flags by `_compute`'s SQL, then
    per group the counts, the sums and the sorted minutes. A million cases: eleven GROUP BY scans took 67 s on
    SQLite and 109 s on PostgreSQL. `only` (an id, an import's id): just the cases above that id of that import."""
    conn = session.connection()
    postgres = conn.dialect.name == "postgresql"
    plans = []
    for zone in zones:
        starts = _day_starts(zone, first, last, not postgres)
        plans.append((zone, np.array(starts, dtype="datetime64[us]" if postgres else str), zone == org_zone,
                      None if zone == org_zone else frozenset(p for p, z in pod_zones.items() if z == zone)))
    count = (last - first).days + 1  # days first..last; each zone's starts end the last one
    sql = _stream_sql(postgres)
    params: tuple = ()
    if not full:
        marker = "%s" if postgres else "?"
        lo = min(_day_starts(zone, first, last, not postgres)[0] for zone in zones)
        hi = max(_day_starts(zone, first, last, not postgres)[-1] for zone in zones)
        ranges = [f"{column} >= {marker} AND {column} < {marker}"
                  for column in ("created_at", "first_resolved_at", "closed_at")]
        if postgres:  # three index scans OR-ed into one bitmap: the table's pages are read in their order
            sql += " WHERE " + " OR ".join(f"({condition})" for condition in ranges)
        else:  # the ids from the three indexes, sorted, then the cases in that order: not one seek per case in
            # moment order all over the table (a multi-index OR), which read a 2,000,000-case table 26 times over
            sql += " WHERE id IN (" + " UNION ALL ".join(f"SELECT id FROM {Case.__table__.name} WHERE {condition}"
                                                         for condition in ranges) + ")"
        params = (lo, hi) * 3
    if only is not None:
        marker = "%s" if postgres else "?"
        sql += f" WHERE id > {marker} AND import_id = {marker}"
        params = tuple(only)
    channel_codes: dict = {}
    type_codes: dict = {}
    chunks: list[list] = []
    days: list[list] = [[] for _plan in plans]  # per zone, per chunk: (created, resolved, done) day indexes
    if postgres:  # a server-side cursor: the cases stream in, they are not held whole by the driver
        cursor = conn.connection.dbapi_connection.cursor(name="rollup_stream")
    else:
        cursor = conn.connection.cursor()
    try:
        cursor.execute(sql, params)
        while rows := cursor.fetchmany(STREAM_FETCH):
            columns = list(zip(*rows, strict=True))
            del rows
            moments = [np.array(columns[i], dtype="datetime64[us]" if postgres else str) for i in (1, 2, 3)]
            for n, (_zone, starts, _org, _pods) in enumerate(plans):
                found = []
                for values in moments:
                    index = np.searchsorted(starts, values, side="right").astype(np.int32) - 1
                    index[index >= count] = -1  # at or after the last start: outside the days, as NULL in SQL
                    found.append(index)
                days[n].append(found)
            chunk = [np.array(columns[i], dtype=np.int64) for i in (0, 4, 5, 6, 7, 8, 9)]
            chunk += [np.array(_codes(columns[10], channel_codes), dtype=np.int64),
                      np.array(_codes(columns[11], type_codes), dtype=np.int64),
                      np.array(columns[12], dtype=np.int64)]
            chunks.append(chunk)
    finally:
        cursor.close()
    if not chunks:
        return [], [], []
    width = len(chunks[0])
    merged = [np.concatenate([chunk[i] for chunk in chunks]) for i in range(width)]
    del chunks
    pod, bits, reply, resolution, handoffs, segment, stage, channel, request_type, agent = merged
    del merged
    flag = {name: (bits >> shift) & 1 for name, shift in _BIT_OF.items()}
    del bits
    escalated, has_reply, has_resolution = flag["escalated"], flag["has_reply"], flag["has_resolution"]
    flags = [handoffs if name == "handoffs" else flag[name] for name in _FLAG_NAMES]
    # A breakdown's value as one integer per case (-1: the case has none): a cell is (segment, stage).
    stages = int(stage.max()) + 2
    cell = np.where((segment >= 0) & (stage >= 0), segment * stages + stage, -1)
    channel_names = {code: name for name, code in channel_codes.items()}
    type_names = {code: name for name, code in type_codes.items()}
    keys_of = {"cell": lambda v: f"{v // stages}:{v % stages}", "channel": channel_names.__getitem__,
               "request_type": type_names.__getitem__, "agent": str}
    dims = {"cell": cell, "channel": channel, "request_type": request_type, "agent": agent}
    day_list = [first + timedelta(days=d) for d in range(count)]
    made = _Rows()
    main_row, part_row = made.main_row, made.part_row
    types: list[dict] = []

    for n, (zone, _starts, is_org, zone_pods) in enumerate(plans):
        created_day, resolved_day, done_day = (np.concatenate([found[i] for found in days[n]]) for i in range(3))
        if is_org:
            broken = np.ones(len(pod), dtype=bool)
        elif zone_pods:
            broken = np.isin(pod, np.array(sorted(zone_pods), dtype=np.int64))
        else:
            broken = None
        families = (
            ("created", created_day, (("escalated", escalated),), has_reply, reply, "first_reply_minutes"),
            ("resolved", resolved_day, tuple(zip(_FLAG_NAMES, flags, strict=True)), has_resolution, resolution,
             "resolution_minutes"),
        )
        for family, day, sums, has_minutes, minutes, minutes_name in families:
            names = tuple(name for name, _column in sums)
            for group in _groups(day >= 0, day, pod, None, sums, has_minutes, minutes):
                d, pod_id, _value, size, totals, blob = group
                row = main_row(zone, day_list[d], pod_id)
                row[family] = size
                row.update(zip(names, totals, strict=True))
                row[minutes_name] = blob
            if broken is None:
                continue
            for dim, values in dims.items():
                for group in _groups((day >= 0) & broken & (values >= 0), day, pod, values, sums, has_minutes,
                                     minutes):
                    d, pod_id, value, size, totals, blob = group
                    row = part_row(zone, day_list[d], pod_id, dim, keys_of[dim](value))
                    row[family] = size
                    row.update(zip(names, totals, strict=True))
                    row[minutes_name] = blob
        for d, pod_id, _value, size, _totals, _blob in _groups(done_day >= 0, done_day, pod, None, (), None,
                                                               None):
            main_row(zone, day_list[d], pod_id)["done"] = size
        for d, pod_id, value, size, _totals, _blob in _groups((created_day >= 0) & (request_type >= 0),
                                                              created_day, pod, request_type, (), None, None):
            types.append({"zone": zone, "day": day_list[d], "pod_id": pod_id, "request_type": type_names[value],
                          "created": size})
    return list(made.main.values()), list(made.parts.values()), types


def _sort_order(keys: tuple) -> np.ndarray:
    """`np.lexsort(keys)`'s order of the cases, by one sort of a single integer made of all the keys when it fits in
    63 bits (it does unless ids or minutes are huge): for a million cases 0.05 s of CPU, a lexsort of five keys 0.5 s."""
    spans, lows = [], []
    for key in keys:
        low, high = int(key.min()), int(key.max())
        spans.append(high - low + 1)
        lows.append(low)
    total = 1
    for span in spans:
        total *= span
    if total >= 1 << 63:
        return np.lexsort(keys)
    combined = np.zeros(len(keys[0]), dtype=np.int64)
    for key, low, span in zip(reversed(keys), reversed(lows), reversed(spans), strict=True):  # the first-sorting first
        combined *= span
        combined += key.astype(np.int64) - low
    return np.argsort(combined)


def _groups(chosen, day, pod, values, sums: tuple, has_minutes, minutes) -> Iterator[tuple]:
    """The groups (day, pod[, value]) of the chosen cases: (day index, pod id or None, value, cases, the sums in the
    order of `sums`, the sorted minutes packed as `pack` packs them, None when no case has one)."""
    where = np.flatnonzero(chosen)
    if not len(where):
        return
    day, pod = day[where], pod[where]
    value = values[where] if values is not None else np.zeros(len(where), dtype=np.int64)
    sort_keys: tuple = (value, pod, day)  # lexsort: the last key sorts first
    if minutes is not None:
        present, minutes = has_minutes[where], minutes[where]
        sort_keys = (minutes, present, *sort_keys)  # within a group: the cases without minutes first, then ascending
    order = _sort_order(sort_keys)
    day, pod, value = day[order], pod[order], value[order]
    change = np.flatnonzero((day[1:] != day[:-1]) | (pod[1:] != pod[:-1]) | (value[1:] != value[:-1])) + 1
    bounds = np.concatenate(([0], change))
    ends = np.concatenate((change, [len(order)]))
    sizes = ends - bounds
    totals = {name: np.add.reduceat(column[where][order], bounds, dtype=np.int64).tolist() for name, column in sums}
    if minutes is not None:
        present = present[order]
        packed = minutes[order].astype("<i4")
        missing = sizes - np.add.reduceat(present, bounds, dtype=np.int64)
    # Per group: the totals in the order of `sums`, the minutes as a slice of one packed string (not a numpy slice
    # each; a year of a million cases is 250,000 groups).
    group_totals = zip(*totals.values(), strict=True) if totals else repeat((), len(sizes))
    if minutes is not None:
        data = packed.tobytes()
        lows, highs = ((bounds + missing) * 4).tolist(), (ends * 4).tolist()
    else:
        data, lows, highs = b"", repeat(0, len(sizes)), repeat(0, len(sizes))
    for low, high, d, pod_id, v, size, sums_of in zip(lows, highs, day[bounds].tolist(), pod[bounds].tolist(),
                                                      value[bounds].tolist(), sizes.tolist(), group_totals,
                                                      strict=True):
        yield d, None if pod_id < 0 else pod_id, v, size, sums_of, data[low:high] if low < high else None


def _pod_zones(session: Session) -> dict:
    return dict(session.connection().execute(select(Pod.id, Pod.timezone).where(Pod.timezone.is_not(None))).all())


def _lock(session: Session) -> None:
    """One refresh at a time (two would each delete, then both insert, the same day on PostgreSQL)."""
    if session.get_bind().dialect.name == "postgresql":
        session.connection().execute(text("SELECT pg_advisory_xact_lock(7140001)"))


def _write(session: Session, zones: list[str], first: date, last: date, full: bool = False) -> None:
    forget(session)
    conn = session.connection()
    for table in DAY_TABLES:
        conn.execute(delete(table).where(table.c.zone.in_(zones), table.c.day >= first, table.c.day <= last))
    compute = _compute_streamed if full or (last - first).days >= STREAM_MIN_DAYS else _compute
    _insert_rows(conn, compute(session, zones, first, last, full, _pod_zones(session), org_zone(session)))
    _stamp(conn, zones)


def _insert_rows(conn, computed) -> None:
    """Rows of the three day tables (DAY_TABLES' order), each list's rows with the same keys in the same order."""
    # Through the driver, as plain tuples: SQLAlchemy's per-row parameter processing cost as much as the counting.
    # On PostgreSQL with COPY: a year of breakdown rows (100,000+) took 8 s as an executemany, under 1 s copied.
    postgres = conn.dialect.name == "postgresql"
    cursor = conn.connection.cursor()
    try:
        for table, rows in zip(DAY_TABLES, computed, strict=True):
            if rows:
                names = list(rows[0])  # every row of a table has the same keys, in the same order
                values = itemgetter(*names)
                if postgres:
                    with cursor.copy(f"COPY {table.name} ({', '.join(names)}) FROM STDIN") as copy:
                        for row in rows:
                            copy.write_row(values(row))
                else:
                    cursor.executemany(f"INSERT INTO {table.name} ({', '.join(names)}) "
                                       f"VALUES ({', '.join('?' for _name in names)})", [values(row) for row in rows])
    finally:
        cursor.close()


def org_zone(session: Session) -> str:
    conn = session.connection()
    return conn.execute(select(Organisation.timezone).order_by(Organisation.id).limit(1)).scalar() or "Europe/Madrid"


def wanted_zones(session: Session) -> list[str]:
    conn = session.connection()
    zones = set(z for z in conn.execute(select(Pod.timezone).distinct()).scalars() if z)
    zones.add(org_zone(session))
    return sorted(zones)


def built_zones(session: Session) -> set[str]:
    return set(session.connection().execute(select(RollupZone.zone)).scalars())


def _build_zones(session: Session, zones: list[str], stamp: datetime | None = None) -> None:
    forget(session)
    """Every day of these zones from scratch, one scan of the cases per breakdown and family."""
    if not zones:
        return
    conn = session.connection()
    stamp = stamp or _next_stamp(conn)
    lo, hi = conn.execute(select(func.min(Case.created_at), func.max(Case.created_at))).one()
    last_resolved, last_closed = conn.execute(select(func.max(Case.first_resolved_at), func.max(Case.closed_at))).one()
    for table in DAY_TABLES:
        conn.execute(delete(table).where(table.c.zone.in_(zones)))
    if lo is not None:
        latest = max(m for m in (hi, last_resolved, last_closed) if m is not None)
        _write(session, zones, lo.date() - timedelta(days=1), latest.date() + timedelta(days=1), full=True)
    conn.execute(delete(RollupZone.__table__).where(RollupZone.zone.in_(zones)))
    conn.execute(insert(RollupZone.__table__), [{"zone": zone, "built_at": stamp} for zone in zones])


def ensure_zones(session: Session | None = None) -> None:
    """Build the rollups of zones now in use that have none; forget zones no longer in use."""
    session = session or db.session
    wanted, built = set(wanted_zones(session)), built_zones(session)
    if wanted == built:
        return
    _lock(session)
    conn = session.connection()
    for zone in built - wanted:
        for table in DAY_TABLES:
            conn.execute(delete(table).where(table.c.zone == zone))
        conn.execute(delete(RollupZone.__table__).where(RollupZone.zone == zone))
    _build_zones(session, sorted(wanted - built))


def _utc_days(days: Iterable[date | datetime | str | None]) -> set[date]:
    found = set()
    for moment in days:
        if moment is None:
            continue
        if isinstance(moment, str):
            moment = date.fromisoformat(moment[:10])
        found.add(moment.date() if isinstance(moment, datetime) else moment)
    return found


def refresh_days(days: Iterable[date | datetime | str | None], session: Session | None = None) -> None:
    """Recompute, now and in the session's transaction, the rollups of the days given (UTC dates, or UTC moments
    of the timestamps written and replaced) in every built zone: the work is proportional to the cases of those
    days, not to the table. A local day may differ from the UTC date by one, so the neighbours come too."""
    session = session or db.session
    utc_days = _utc_days(days)
    ensure_zones(session)
    if not utc_days:
        return
    _lock(session)
    zones = sorted(built_zones(session))
    if not zones:
        return
    ranges = _ranges({d + timedelta(days=shift) for d in utc_days for shift in (-1, 0, 1)}, gap=7)
    if len(ranges) > 12:  # scattered over the history: one pass over the span beats many small ones
        ranges = [(ranges[0][0], ranges[-1][1])]
    for first, last in ranges:
        _write(session, zones, first, last)


refresh = refresh_days  # the earlier name


def rebuild(session: Session | None = None) -> None:
    """Every zone's rollups from scratch (`flask outcomes rollups`); the queue is then empty."""
    session = session or db.session
    _lock(session)
    conn = session.connection()
    stamp = _next_stamp(conn)
    conn.execute(delete(RollupZone.__table__))
    for table in DAY_TABLES:
        conn.execute(delete(table))
    conn.execute(delete(RollupQueue.__table__))
    forget(session)
    _build_zones(session, wanted_zones(session), stamp)


# --- stamps: has anyone written rollups since? ----------------------------------------------------

def _next_stamp(conn) -> datetime:
    """A moment later than every zone's stamp (RollupZone.built_at: when its rollups were last written)."""
    latest = conn.execute(select(func.max(RollupZone.built_at))).scalar()
    now = utcnow()
    return now if latest is None or now > latest else latest + timedelta(microseconds=1)


def _stamp(conn, zones: Iterable[str]) -> None:
    """Note that these zones' rollups were just written, or that cases changed under them without their rollups
    (a deferred writer): an import adding its new cases to the rollups at its end (`add_new_cases`) then knows
    that it is not alone any more."""
    table = RollupZone.__table__
    now = utcnow()  # one statement (an API write's queries are counted); never the value it had, even if the clock
    # stood still or went back to it
    conn.execute(table.update().where(table.c.zone.in_(list(zones))).values(
        built_at=case((table.c.built_at == now, now + timedelta(microseconds=1)), else_=now)))


def stamps(session: Session) -> dict:
    """Every built zone's stamp: unchanged as long as nobody wrote rollups nor queued days as a deferred writer."""
    return dict(session.connection().execute(select(RollupZone.zone, RollupZone.built_at)).all())


# --- adding an import's new cases to the rollups --------------------------------------------------

@dataclass(frozen=True)
class Before:
    """The rollups when an import began: the zones' stamps, the UTC days then queued (their rollups may be stale)
    and the largest case id (the import's new cases come after it)."""

    stamps: dict
    queued: frozenset
    max_id: int


def before_import(session: Session | None = None) -> Before:
    """Read before an import's first batch. The caller ends the transaction."""
    session = session or db.session
    conn = session.connection()
    queued = frozenset(conn.execute(select(RollupQueue.day)).scalars())
    return Before(stamps(session), queued, conn.execute(select(func.max(Case.id))).scalar() or 0)


def split_days(utc_days: Iterable, unsafe: Iterable) -> tuple[list[date], set[date]]:
    """The local days an import touched (its UTC days and their neighbours, as `refresh_days` recomputes them), in
    order, and those of them to recompute from the cases: near an `unsafe` UTC day (one whose cases the import
    updated, or whose rollups were queued when it began). The others may take the new cases' rows added."""
    local = sorted({d + timedelta(days=shift) for d in _utc_days(utc_days) for shift in (-1, 0, 1)})
    near = {d + timedelta(days=shift) for d in _utc_days(unsafe) for shift in (-1, 0, 1)}
    return local, near.intersection(local)


def new_case_rows(session: Session, zones: list[str], first: date, last: date, after_id: int,
                  import_id: int) -> tuple[dict, dict, dict]:
    """The rollup rows of the local days first..last of just the cases this import created (ids above `after_id`
    with its import_id), as `_write` computes rows from all cases: for each day table, day → its rows."""
    computed = _compute_streamed(session, zones, first, last, True, _pod_zones(session), org_zone(session),
                                 only=(after_id, import_id))
    by_day: tuple[dict, dict, dict] = ({}, {}, {})
    for rows, days in zip(computed, by_day, strict=True):
        for row in rows:
            days.setdefault(row["day"], []).append(row)
    return by_day


# A day table's key columns, its counts (added) and its minutes (merged).
_MERGED = (
    (("zone", "day", "pod_id"), COUNTS, ("first_reply_minutes", "resolution_minutes")),
    (("zone", "day", "pod_id", "dim", "key"), BREAKDOWN_COUNTS, ("first_reply_minutes", "resolution_minutes")),
    (("zone", "day", "pod_id", "request_type"), ("created",), ()),
)


def _merged_minutes(stored: bytes | None, added: bytes | None) -> bytes | None:
    """One row's minutes: its stored ones and the added ones, as one sorted array (`pack`)."""
    return _merge_minutes([(stored, added)])[0]


def _merge_minutes(pairs: list[tuple]) -> list[bytes | None]:
    """Many rows' minutes at once (stored, added: each sorted, packed or None): the merged sorted arrays. Each value is
    keyed by its row's position and its own value; the added keys find their places among the stored ones by one
    sorted search, as a merge would (a row at a time, numpy's calls cost more than the merging)."""
    merged: list = [None] * len(pairs)
    both = []
    for n, (stored, added) in enumerate(pairs):
        if stored and added:
            both.append(n)
        else:
            merged[n] = bytes(added or stored) if (added or stored) else None
    if not both:
        return merged
    old = [bytes(pairs[n][0]) for n in both]
    new = [pairs[n][1] for n in both]
    old_sizes = np.fromiter((len(blob) // 4 for blob in old), dtype=np.int64, count=len(both))
    new_sizes = np.fromiter((len(blob) // 4 for blob in new), dtype=np.int64, count=len(both))
    old_values = np.frombuffer(b"".join(old), dtype="<i4")
    new_values = np.frombuffer(b"".join(new), dtype="<i4")
    groups = np.arange(len(both), dtype=np.int64)
    old_keys = np.repeat(groups, old_sizes) * (1 << 32) + old_values.astype(np.int64)
    new_keys = np.repeat(groups, new_sizes) * (1 << 32) + new_values.astype(np.int64)
    at = np.searchsorted(old_keys, new_keys, side="right") + np.arange(len(new_keys))
    out = np.empty(len(old_keys) + len(new_keys), dtype="<i4")
    taken = np.zeros(len(out), dtype=bool)
    taken[at] = True
    out[at] = new_values
    out[~taken] = old_values
    data = out.tobytes()
    ends = (np.cumsum(old_sizes + new_sizes) * 4).tolist()
    start = 0
    for n, end in zip(both, ends, strict=True):
        merged[n] = data[start:end]
        start = end
    return merged


def add_rows(session: Session, zones: list[str], days: Iterable[date], rows: tuple[dict, dict, dict]) -> None:
    """Add new cases' rows (`new_case_rows`: day → rows, per table) of these local days to the stored ones: counts add up, minutes merge
    into one sorted array, a group new to a day gets its row. Exactly the rows a recomputation from all the cases
    gives, provided the stored rows count every case but these. The caller holds the lock (`_lock`) and commits."""
    days = set(days)
    if not days:
        return
    forget(session)
    conn = session.connection()
    postgres = conn.dialect.name == "postgresql"
    marker = "%s" if postgres else "?"
    first, last = min(days), max(days)
    as_day = {} if postgres else {day.isoformat(): day for day in days}
    merged_rows = []
    stale: list[tuple] = []
    cursor = conn.connection.cursor()
    try:
        for table, added, (keys, counts, blobs) in zip(DAY_TABLES, rows, _MERGED, strict=True):
            added = [row for day in sorted(days) for row in added.get(day, ()) if row["zone"] in zones]
            merged_rows.append(added)
            if not added:
                continue
            cursor.execute(f"SELECT id, {', '.join((*keys, *counts, *blobs))} FROM {table.name} WHERE zone IN "
                           f"({', '.join(marker for _zone in zones)}) AND day >= {marker} AND day <= {marker}",
                           (*zones, *((first, last) if postgres else (first.isoformat(), last.isoformat()))))
            width = len(keys)
            stored = {}
            for found in cursor.fetchall():
                key = list(found[1:1 + width])
                if not postgres:
                    key[1] = as_day.get(key[1])
                stored[tuple(key)] = found
            ids = []
            pairs = []
            for row in added:
                found = stored.get(tuple([row[name] for name in keys]))
                if found is None:
                    continue
                ids.append(found[0])
                for n, name in enumerate(counts, start=1 + width):
                    row[name] += found[n] or 0
                for n, name in enumerate(blobs, start=1 + width + len(counts)):
                    pairs.append((row, name, found[n]))
            for (row, name, _blob), blob in zip(pairs, _merge_minutes([(blob, row[name]) for row, name, blob in pairs]),
                                                strict=True):
                row[name] = blob
            stale.append((table, ids))
        for table, ids in stale:
            for start in range(0, len(ids), 10_000):
                chunk = ids[start:start + 10_000]
                if postgres:
                    cursor.execute(f"DELETE FROM {table.name} WHERE id = ANY(%s)", (chunk,))
                else:
                    cursor.execute(f"DELETE FROM {table.name} WHERE id IN (SELECT value FROM json_each(?))",
                                   (json.dumps(chunk),))
    finally:
        cursor.close()
    _insert_rows(conn, merged_rows)
    _stamp(conn, zones)


def rewrite_days(session: Session, zones: list[str], days: Iterable[date]) -> None:
    """Recompute these local days from the cases (runs of consecutive days at once)."""
    for first, last in _ranges(days):
        _write(session, zones, first, last)


# --- deferring: long writers ----------------------------------------------------------------------

@contextmanager
def deferred(session: Session | None = None) -> Iterator[None]:
    """Inside, a commit queues the days its cases touched (durably, in its own transaction) instead of
    recomputing them; call `refresh_queued()` and commit when the writing is over (an import's end)."""
    session = session or db.session
    session.info[DEFER] = session.info.get(DEFER, 0) + 1
    try:
        yield
    finally:
        session.info[DEFER] -= 1
        if not session.info[DEFER]:
            session.info.pop(DEFER)


def queue_days(days: Iterable[date | datetime | str | None], session: Session | None = None) -> None:
    """Queue UTC days for `refresh_queued()` (in the session's transaction)."""
    session = session or db.session
    found = sorted(_utc_days(days))  # one order for every writer: no deadlock on the queue's rows
    if not found:
        return
    table = RollupQueue.__table__
    forget(session)
    conn = session.connection()
    if conn.dialect.name == "postgresql":  # one statement, not a row each: an import queues a year's days a batch
        conn.execute(text(f"INSERT INTO {table.name} (day, version) SELECT day, 1 FROM unnest(CAST(:days AS date[])) "
                          f"AS day ON CONFLICT (day) DO UPDATE SET version = {table.name}.version + 1"),
                     {"days": found})
        return
    stmt = dialect_insert(table, session)
    stmt = stmt.on_conflict_do_update(index_elements=[table.c.day], set_={"version": table.c.version + 1})
    for start in range(0, len(found), 1000):
        conn.execute(stmt, [{"day": day, "version": 1} for day in found[start:start + 1000]])


def dequeue(days: Iterable[date | datetime | str | None], session: Session | None = None) -> None:
    """Take UTC days off the queue once their rollups were recomputed (an import refreshing its own days in
    short transactions, `app.outcomes.ingest.refresh_rollups`). The caller commits."""
    session = session or db.session
    found = sorted(_utc_days(days))
    table = RollupQueue.__table__
    conn = session.connection()
    for start in range(0, len(found), 500):
        conn.execute(delete(table).where(table.c.day.in_(found[start:start + 500])))
    forget(session)


def refresh_queued(session: Session | None = None) -> int:
    """Recompute the rollups of the queued days — only those — and empty the queue of what it saw. Returns
    the number of UTC days refreshed. The caller commits."""
    session = session or db.session
    flush_pending(session)
    _lock(session)
    conn = session.connection()
    queued = conn.execute(select(RollupQueue.day, RollupQueue.version)).all()
    if not queued:
        return 0
    refresh_days([day for day, _version in queued], session)
    table = RollupQueue.__table__
    conn.execute(delete(table).where(table.c.day == bindparam("d"), table.c.version == bindparam("v")),
                 [{"d": day, "v": version} for day, version in queued])
    forget(session)
    return len(queued)


# --- keeping in step ------------------------------------------------------------------------------

def touch(moments: Iterable[date | datetime | str | None], session: Session | None = None) -> None:
    """Note days whose cases changed (UTC moments, dates, or SQLite's datetime text); recomputed at commit
    (queued instead inside `deferred()`)."""
    session = session or db.session
    session.info.setdefault(PENDING, set()).update(_utc_days(moments))


def flush_pending(session: Session | None = None) -> None:
    """Recompute the days touched so far in this transaction (the engine calls this before reading)."""
    session = session or db.session
    days = session.info.pop(PENDING, None)
    check = session.info.pop(CHECK_ZONES, False)
    if session.info.pop(REBUILD, False):
        rebuild(session)
    elif days:
        refresh_days(days, session)
    elif check:
        ensure_zones(session)


def ready(session: Session, zones: Iterable[str], end: date | None = None) -> bool:
    """May the engine read rollups for these zones, for periods ending on `end` (after recomputing what this
    transaction touched)? Not while a day the period (or its backlog) reaches waits in the queue. Read once per
    transaction (one query), forgotten when it ends or this session writes rollups."""
    flush_pending(session)
    state = session.info.get(STATE)
    if state is None:
        earliest = select(func.min(RollupQueue.day)).scalar_subquery()
        rows = session.connection().execute(select(RollupZone.zone, earliest)).all()
        state = session.info[STATE] = ({zone for zone, _day in rows}, rows[0][1] if rows else None)
    built, queued = state
    if not built:
        return False
    if queued is not None and (end is None or queued <= end + timedelta(days=1)):
        return False
    return set(zones) <= built


TIMESTAMPS = ("created_at", "first_resolved_at", "closed_at")


def _zone_changed(pod) -> bool:
    history = sa_inspect(pod).attrs["timezone"].history
    return bool(history.deleted) and list(history.deleted) != list(history.added)


def _case_moments(obj: Case) -> list:
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
    moments: list = []
    for obj in (*session.new, *session.dirty, *session.deleted):
        if isinstance(obj, Case):
            moments.extend(_case_moments(obj))
        elif isinstance(obj, Pod | Organisation):
            session.info[CHECK_ZONES] = True
            session.info.pop(CACHE, None)
            if obj in session.dirty and _zone_changed(obj):
                # A pod's breakdowns are read in its own zone, every pod's in the organisation's.
                session.info[REBUILD] = True
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
    if session.info.get(DEFER) and session.info.get(PENDING):
        queue_days(session.info.pop(PENDING), session)
        _stamp(session.connection(), built_zones(session))  # cases changed, their rollups did not (yet)
    if session.info.get(PENDING) or session.info.get(CHECK_ZONES) or session.info.get(REBUILD):
        flush_pending(session)


@event.listens_for(Session, "after_rollback")
def _after_rollback(session: Session) -> None:
    for key in (PENDING, CHECK_ZONES, REBUILD, STATE, CACHE):
        session.info.pop(key, None)


@event.listens_for(Session, "after_commit")
def _after_commit(session: Session) -> None:
    for key in (STATE, CACHE):
        session.info.pop(key, None)


def forget(session: Session) -> None:
    """Drop what this transaction remembered of the rollups' state (it just changed them)."""
    session.info.pop(STATE, None)
