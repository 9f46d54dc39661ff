"""The one metric engine: every METRICS.md figure, in SQL aggregates, for any scope and period.

Every figure comes with its numerator and denominator so it can be re-aggregated and compared:
- counts (volume, resolved, backlog): value = numerator = the count, denominator None;
- rates and handoffs per case: value = numerator / denominator, None when the denominator is 0;
- times (percentiles, minutes): numerator None, denominator = the sample size, value None when it is 0.

Periods are inclusive local days, read in `tz` (default: the pod's zone when scoped to a pod, else the
organisation's). Percentiles are continuous (interpolated, so the median of an even sample is the mean of the
two middle values): PostgreSQL's percentile_cont, and on SQLite the same definition from ROW_NUMBER/COUNT
windows, so no case row is ever loaded into Python.

Metric meaning has one home, here: `METRICS` (a `MetricDef` per code) owns each metric's label, direction
("higher" / "lower" / None) and unit ("count" / "rate" / "minutes"), and every feature asks these helpers
instead of comparing directions or units itself:

- `better(code, a, b)`: True when value `a` is strictly better than `b` for the metric (False when worse,
  equal, either is None, or the metric has no direction).
- `status(code, value, target)`: "good" (meets the target), "bad" (misses it) or "neutral" (no value, no
  target, or a metric without direction). `STATUSES` lists the names; templates use them as CSS classes
  (`status-good`, `status-bad`, `status-neutral`, `status-flat`).
- `change_status(code, before, after)`: "good" / "bad" for a change by the metric's direction, "flat" for no
  change, "neutral" when there is nothing to judge.
- `format_value(code, value)`: the value as people read it (rates as percent, times as hours and minutes).
- `drilldown_url(code, scope, start, end, part=...)`: the case list behind a figure (see app.outcomes.cases).

Other features contribute metrics by registration (a lower floor never imports a higher one):
`register_rate_source(definition, source)` adds a MetricDef and a `RateSource` (flagged rows ÷ all rows of
another feature's table in the period); autonomy registers "autonomy_rate" this way.
"""

from __future__ import annotations

from array import array
from bisect import bisect_right
from collections import defaultdict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from flask import url_for
from flask_babel import format_decimal, format_percent
from flask_babel import lazy_gettext as _l
from sqlalchemy import Date, and_, case, func, literal, literal_column, null, or_, select, text, true
from sqlalchemy.sql.elements import ColumnElement

from app.extensions import db
from app.formatting import format_minutes
from app.org.models import Organisation, Pod
from app.outcomes import rollups
from app.outcomes.models import Case, PodTarget
from app.outcomes.request_types import complaint_codes, complaint_condition
from app.timeutil import local_day_bounds

__all__ = ["METRICS", "MetricDef", "Scope", "Figure", "Comparison", "DIMENSIONS", "GRAINS", "STATUSES", "compute",
           "compute_by", "series", "compare", "first_contact_resolved", "case_outcomes", "better", "status",
           "change_status", "format_value", "register_rate_source", "RateSource", "drilldown_url", "case_filter",
           "drillable", "PARTS"]


@dataclass(frozen=True)
class MetricDef:
    code: str
    label: object  # a lazy string
    direction: str | None  # "higher" | "lower" | None
    unit: str  # "count" | "rate" | "minutes"


METRICS: dict[str, MetricDef] = {m.code: m for m in (
    MetricDef("volume", _l("Cases"), None, "count"),
    MetricDef("resolved", _l("Resolved"), None, "count"),
    MetricDef("backlog", _l("Backlog"), "lower", "count"),
    MetricDef("fcr", _l("First-contact resolution"), "higher", "rate"),
    MetricDef("handoff_rate", _l("Handoff rate"), "lower", "rate"),
    MetricDef("handoffs_per_case", _l("Handoffs per case"), "lower", "count"),
    MetricDef("reopen_rate", _l("Reopen rate"), "lower", "rate"),
    MetricDef("csat", _l("CSAT"), "higher", "rate"),
    MetricDef("first_reply_p50", _l("First reply time (median)"), "lower", "minutes"),
    MetricDef("first_reply_p90", _l("First reply time (90th percentile)"), "lower", "minutes"),
    MetricDef("resolution_p50", _l("Time to resolution (median)"), "lower", "minutes"),
    MetricDef("resolution_p90", _l("Time to resolution (90th percentile)"), "lower", "minutes"),
    MetricDef("sla_attainment", _l("SLA attainment"), "higher", "rate"),
    MetricDef("escalation_rate", _l("Escalation rate"), "lower", "rate"),
    # Counted by autonomy's registered RateSource (app/autonomy/registration.py); defined here so every feature
    # sees the whole list however the packages are imported. Without a source its figure is empty.
    MetricDef("autonomy_rate", _l("Decisions within autonomy"), "higher", "rate"),
)}



def better(code: str, a: float | None, b: float | None) -> bool | None:
    """Is ``a`` better than ``b`` for this metric? None when either is missing, they are equal, or the metric has
    no direction (volume). The one answer to "did it improve" for every feature."""
    definition = METRICS.get(code)
    if definition is None or definition.direction is None or a is None or b is None or abs(a - b) < 1e-9:
        return None
    return (a > b) if definition.direction == "higher" else (a < b)


STATUS_GOOD, STATUS_BAD, STATUS_NEUTRAL = "good", "bad", "neutral"


def status(code: str, value: float | None, target: float | None) -> str:
    """A figure against its target (or a previous value): "good" when at or better, "bad" when worse, "neutral"
    without one. Templates use the CSS classes ``status-good``, ``status-bad``, ``status-neutral``."""
    if value is None or target is None or code not in METRICS or METRICS[code].direction is None:
        return STATUS_NEUTRAL
    return STATUS_GOOD if abs(value - target) < 1e-9 or better(code, value, target) else STATUS_BAD


STATUSES = (STATUS_GOOD, STATUS_BAD, STATUS_NEUTRAL, "flat")


def _direction(code: str) -> str | None:
    definition = METRICS.get(code)
    return definition.direction if definition is not None else None


def change_status(code: str, before: float | None, after: float | None) -> str:
    """"good" / "bad" for a change from `before` to `after`, "flat" for none, "neutral" when nothing to judge."""
    if before is None or after is None or _direction(code) is None:
        return "neutral"
    if abs(after - before) < 1e-9:
        return "flat"
    return "good" if better(code, after, before) else "bad"


def format_value(code: str | None, value: float | None) -> str:
    """A metric's value by its unit: rates 0-1 as percent, times in minutes, counts as numbers."""
    if value is None or code is None:
        return "—"
    definition = METRICS.get(code)
    unit = definition.unit if definition else "count"
    if unit == "rate":
        return format_percent(value, "#,##0.0%")
    if unit == "minutes":
        return format_minutes(value)
    return format_decimal(round(value, 2))


@dataclass(frozen=True)
class RateSource:
    """A metric another feature contributes: rows where `flag` holds ÷ all rows, by the period column `at`.
    `columns` maps a dimension (and Scope attribute names via `scope_columns`) to the model's columns."""

    model: type
    at: object
    flag: Callable[[], ColumnElement[bool]]
    pod: object
    columns: dict[str, tuple]
    scope_columns: dict[str, object]


RATE_SOURCES: dict[str, RateSource] = {}


def register_rate_source(definition: MetricDef, source: RateSource) -> None:
    """Add a metric counted from another feature's table (idempotent: re-registering replaces it)."""
    METRICS[definition.code] = definition  # keeps its place when already listed
    RATE_SOURCES[definition.code] = source

DIMENSIONS = ("pod", "agent", "segment", "stage", "cell", "channel", "request_type", "agent_request_type",
              "agent_channel")
# Two-column dimensions a rate source answers from its one-column ones.
_COMPOSITE = {"agent_request_type": ("agent", "request_type"), "agent_channel": ("agent", "channel")}
GRAINS = ("day", "week", "month", "quarter")


@dataclass(frozen=True)
class Scope:
    pod_id: int | None = None
    agent_id: int | None = None
    segment_id: int | None = None
    stage_id: int | None = None
    channel: str | None = None
    request_type: str | None = None


@dataclass(frozen=True)
class Figure:
    code: str
    value: float | None
    numerator: float | None
    denominator: float | None


@dataclass(frozen=True)
class Comparison:
    figure: Figure
    previous: Figure
    target: float | None


# Which query family yields which codes.
_CREATED = ("volume", "escalation_rate")
_RESOLVED = ("resolved", "fcr", "handoff_rate", "handoffs_per_case", "reopen_rate", "csat", "sla_attainment")
_FIRST_REPLY = ("first_reply_p50", "first_reply_p90")
_RESOLUTION = ("resolution_p50", "resolution_p90")
_COUNTS = ("volume", "resolved", "backlog")
_TIMES = _FIRST_REPLY + _RESOLUTION


def first_contact_resolved() -> ColumnElement[bool]:
    """The FCR rule of METRICS.md on a resolved case: <= 1 agent reply, 0 reopens, <= 1 assignee station."""
    return and_(Case.replies <= 1, Case.reopens == 0, Case.assignee_stations <= 1)


def _handed_off() -> ColumnElement[bool]:
    return or_(Case.assignee_stations > 1, Case.group_stations > 1)


def case_outcomes(case_ids: Iterable[int]) -> dict[int, dict]:
    """Per-case facts for evidence (one query): {id: {"csat", "fcr", "resolution_minutes", "resolved"}}.
    `fcr` is None while the case is unresolved."""
    ids = list({i for i in case_ids if i is not None})
    if not ids:
        return {}
    rows = db.session.execute(
        select(Case.id, Case.csat_score, Case.first_resolved_at, Case.resolution_minutes,
               case((first_contact_resolved(), 1), else_=0))
        .where(Case.id.in_(ids))
    )
    return {cid: {"csat": csat, "resolved": resolved_at is not None,
                  "fcr": (bool(fcr) if resolved_at is not None else None),
                  "resolution_minutes": minutes if resolved_at is not None else None}
            for cid, csat, resolved_at, minutes, fcr in rows}


# ----------------------------------------------------------------------------------------------- scope & time

def _case_columns(dimension: str) -> tuple:
    return {
        "pod": (Case.pod_id,), "agent": (Case.assignee_id,), "segment": (Case.segment_id,),
        "stage": (Case.stage_id,), "cell": (Case.segment_id, Case.stage_id), "channel": (Case.channel,),
        "request_type": (Case.request_type,),
        # (assignee, request type) and (assignee, channel): who resolves what, e.g. a pod's mentors per skill.
        "agent_request_type": (Case.assignee_id, Case.request_type), "agent_channel": (Case.assignee_id, Case.channel),
    }[dimension]


def _case_filters(scope: Scope) -> list:
    filters = []
    if scope.pod_id is not None:
        filters.append(Case.pod_id == scope.pod_id)
    if scope.agent_id is not None:
        filters.append(Case.assignee_id == scope.agent_id)
    if scope.segment_id is not None:
        filters.append(Case.segment_id == scope.segment_id)
    if scope.stage_id is not None:
        filters.append(Case.stage_id == scope.stage_id)
    if scope.channel is not None:
        filters.append(Case.channel == scope.channel)
    if scope.request_type is not None:
        filters.append(Case.request_type == scope.request_type)
    return filters


def _memo() -> dict:
    """What the engine remembers for the rest of the transaction (pods' and the organisation's zones)."""
    return db.session.info.setdefault(rollups.CACHE, {})


def _org_timezone() -> str:
    memo = _memo()
    if "org" not in memo:
        memo["org"] = db.session.scalar(select(Organisation.timezone).order_by(Organisation.id).limit(1))
    return memo["org"] or "Europe/Madrid"


def _resolve_tz(scope: Scope, tz: str | None) -> str:
    if tz:
        return tz
    if scope.pod_id is not None:
        memo = _memo()
        key = ("pod", scope.pod_id)
        if key not in memo:
            memo[key] = db.session.scalar(select(Pod.timezone).where(Pod.id == scope.pod_id))
        if memo[key]:
            return memo[key]
    return _org_timezone()


@dataclass(frozen=True)
class _Window:
    """The UTC bounds of a period; `by_pod_tz` maps pod time zones to bounds when each pod reads the period
    in its own zone (compute_by("pod") without an explicit tz), and then the query joins pods."""

    lo: datetime
    hi: datetime
    by_pod_tz: tuple[tuple[str, datetime, datetime], ...] = ()

    def within(self, column) -> ColumnElement[bool]:
        if not self.by_pod_tz:
            return and_(column >= self.lo, column < self.hi)
        return or_(*(and_(Pod.timezone == name, column >= lo, column < hi) for name, lo, hi in self.by_pod_tz))

    def open_at_end(self) -> ColumnElement[bool]:
        def at(hi):
            return and_(Case.created_at < hi,
                        or_(Case.first_resolved_at.is_(None), Case.first_resolved_at >= hi),
                        or_(Case.closed_at.is_(None), Case.closed_at >= hi))

        if not self.by_pod_tz:
            return at(self.hi)
        return or_(*(and_(Pod.timezone == name, at(hi)) for name, _lo, hi in self.by_pod_tz))

    def join(self, stmt, pod_column):
        if not self.by_pod_tz:
            return stmt
        return stmt.join(Pod, Pod.id == pod_column)


def _window(start: date, end: date, tz: str) -> _Window:
    if end < start:
        raise ValueError("the period ends before it starts")
    lo, hi = local_day_bounds(start, end, tz)
    return _Window(lo, hi)


def _pod_window(start: date, end: date) -> _Window | None:
    """Bounds per pod time zone, or None when every pod shares one zone (then a plain window does)."""
    zones = sorted(z for z in db.session.scalars(select(Pod.timezone).distinct()) if z)
    if len(zones) <= 1:
        return None
    lo, hi = local_day_bounds(start, end, zones[0])
    return _Window(lo, hi, tuple((z, *local_day_bounds(start, end, z)) for z in zones))


# ------------------------------------------------------------------------------------------------ the queries

def _ratio(num, den) -> float | None:
    return None if not den else num / den


def _int(value) -> int:
    return int(value or 0)


def _key(row: Sequence, width: int):
    if width == 0:
        return None
    return row[0] if width == 1 else tuple(row[:width])


def _select(groups: tuple, *columns):
    """select(groups..., columns...) so row[:len(groups)] is the key."""
    return select(*groups, *columns)


def _with_bucket(groups: tuple, bucket, column) -> tuple:
    return groups if bucket is None else (*groups, bucket(column))


def _group_filters(groups: tuple) -> list:
    return [g.is_not(None) for g in groups]


def _created(window: _Window, filters: list, groups: tuple, out: dict, bucket=None) -> None:
    groups = _with_bucket(groups, bucket, Case.created_at)
    stmt = _select(groups, func.count(), func.sum(case((Case.escalated == true(), 1), else_=0)))
    stmt = window.join(stmt.select_from(Case), Case.pod_id)
    stmt = stmt.where(window.within(Case.created_at), *filters, *_group_filters(groups))
    if groups:
        stmt = stmt.group_by(*groups)
    for row in db.session.execute(stmt):
        key = _key(row, len(groups))
        total, escalated = _int(row[len(groups)]), _int(row[len(groups) + 1])
        out[key]["volume"] = Figure("volume", total, total, None)
        out[key]["escalation_rate"] = Figure("escalation_rate", _ratio(escalated, total), escalated, total)


def _flag(condition) -> ColumnElement:
    return func.sum(case((condition, 1), else_=0))


def _resolved(window: _Window, filters: list, groups: tuple, out: dict, bucket=None) -> None:
    groups = _with_bucket(groups, bucket, Case.first_resolved_at)
    rated = Case.csat_score.is_not(None)
    with_due = Case.due_at.is_not(None)
    stmt = _select(
        groups,
        func.count(),
        _flag(first_contact_resolved()),
        _flag(_handed_off()),
        func.sum(case((Case.group_stations > 1, Case.group_stations - 1), else_=0)),
        _flag(Case.reopens > 0),
        _flag(and_(rated, Case.csat_score >= 4)),
        _flag(rated),
        _flag(and_(with_due, Case.first_resolved_at <= Case.due_at)),
        _flag(with_due),
    )
    stmt = window.join(stmt.select_from(Case), Case.pod_id)
    stmt = stmt.where(window.within(Case.first_resolved_at), *filters, *_group_filters(groups))
    if groups:
        stmt = stmt.group_by(*groups)
    width = len(groups)
    for row in db.session.execute(stmt):
        key = _key(row, width)
        _resolved_figures(out[key], *(_int(v) for v in row[width:]))


def _resolved_figures(out: dict, resolved: int, fcr: int, handed: int, handoffs: int, reopened: int, good: int,
                      rated: int, in_time: int, due: int) -> None:
    """The figures of the cases resolved in a period from their counts, whether the counts come from the cases
    (`_resolved`) or from the day rollups (`_figures_of`): the one place each of these rates is defined."""
    out["resolved"] = Figure("resolved", resolved, resolved, None)
    out["fcr"] = Figure("fcr", _ratio(fcr, resolved), fcr, resolved)
    out["handoff_rate"] = Figure("handoff_rate", _ratio(handed, resolved), handed, resolved)
    out["handoffs_per_case"] = Figure("handoffs_per_case", _ratio(handoffs, resolved), handoffs, resolved)
    out["reopen_rate"] = Figure("reopen_rate", _ratio(reopened, resolved), reopened, resolved)
    out["csat"] = Figure("csat", _ratio(good, rated), good, rated)
    out["sla_attainment"] = Figure("sla_attainment", _ratio(in_time, due), in_time, due)


def _backlog(window: _Window, filters: list, groups: tuple, out: dict) -> None:
    stmt = window.join(_select(groups, func.count()).select_from(Case), Case.pod_id)
    stmt = stmt.where(window.open_at_end(), *filters, *_group_filters(groups))
    if groups:
        stmt = stmt.group_by(*groups)
    for row in db.session.execute(stmt):
        count = _int(row[len(groups)])
        out[_key(row, len(groups))]["backlog"] = Figure("backlog", count, count, None)


_PERCENTS = (50, 90)


def _percentiles(window: _Window, filters: list, groups: tuple, value_column, period_column,
                 codes: tuple[str, str], out: dict, bucket=None) -> None:
    """p50 and p90 (continuous) of `value_column` over the cases whose `period_column` falls in the window."""
    groups = _with_bucket(groups, bucket, period_column)
    conditions = [window.within(period_column), value_column.is_not(None), *filters, *_group_filters(groups)]
    width = len(groups)
    if db.session.get_bind().dialect.name == "postgresql":
        stmt = _select(groups, func.count(), *(func.percentile_cont(p / 100).within_group(value_column)
                                               for p in _PERCENTS))
        stmt = window.join(stmt.select_from(Case), Case.pod_id).where(*conditions)
        if groups:
            stmt = stmt.group_by(*groups)
        for row in db.session.execute(stmt):
            n = _int(row[width])
            for code, value in zip(codes, row[width + 1:], strict=True):
                out[_key(row, width)][code] = Figure(code, float(value) if n else None, None, n)
        return

    # SQLite (and any database without percentile_cont): rank the values per group with window functions,
    # keep the (at most four) ranks the interpolation needs, and aggregate them per group.
    labels = [f"g{i}" for i in range(width)]
    ranked = window.join(
        select(*(g.label(name) for g, name in zip(groups, labels, strict=True)),
               value_column.label("v"),
               func.row_number().over(partition_by=groups or None, order_by=value_column).label("rn"),
               func.count().over(partition_by=groups or None).label("n"))
        .select_from(Case), Case.pod_id,
    ).where(*conditions).subquery()
    keys = tuple(ranked.c[name] for name in labels)
    # Continuous percentile p over n sorted values: position 1 + p(n-1) (1-based), interpolated between the
    # rank floor and the next; integer arithmetic in percent keeps the floor exact.
    lows = [literal(1) + (p * (ranked.c.n - 1)) // 100 for p in _PERCENTS]
    picks = []
    for low in lows:
        picks.append(func.max(case((ranked.c.rn == low, ranked.c.v))))
        picks.append(func.max(case((ranked.c.rn == low + 1, ranked.c.v))))
    stmt = select(*keys, func.max(ranked.c.n), *picks).where(
        or_(*(ranked.c.rn == low for low in lows), *(ranked.c.rn == low + 1 for low in lows)))
    if keys:
        stmt = stmt.group_by(*keys)
    for row in db.session.execute(stmt):
        n = _int(row[width])
        values = row[width + 1:]
        for i, (code, p) in enumerate(zip(codes, _PERCENTS, strict=True)):
            below, above = values[2 * i], values[2 * i + 1]
            if not n or below is None:
                out[_key(row, width)][code] = Figure(code, None, None, n)
                continue
            fraction = ((p * (n - 1)) % 100) / 100
            value = float(below) if above is None or not fraction else below + fraction * (above - below)
            out[_key(row, width)][code] = Figure(code, float(value), None, n)


def _rate_source(code: str, source: RateSource, window: _Window, scope: Scope, dimension: str | None, out: dict,
                 bucket=None) -> None:
    filters = []
    for attr in ("pod_id", "agent_id", "segment_id", "stage_id", "channel", "request_type"):
        wanted = getattr(scope, attr)
        if wanted is None:
            continue
        column = source.scope_columns.get(attr)
        if column is None:  # the scope cannot apply to this source (e.g. decisions have no channel)
            return
        filters.append(column == wanted)
    groups: tuple = ()
    if dimension is not None:
        groups = source.columns.get(dimension)
        if groups is None and dimension in _COMPOSITE and all(part in source.columns for part in _COMPOSITE[dimension]):
            groups = tuple(column for part in _COMPOSITE[dimension] for column in source.columns[part])
        if groups is None:
            return
    groups = _with_bucket(groups, bucket, source.at)
    stmt = _select(groups, func.count(), func.sum(case((source.flag(), 1), else_=0)))
    stmt = window.join(stmt.select_from(source.model), source.pod)
    stmt = stmt.where(window.within(source.at), *filters, *_group_filters(groups))
    if groups:
        stmt = stmt.group_by(*groups)
    for row in db.session.execute(stmt):
        total, flagged = _int(row[len(groups)]), _int(row[len(groups) + 1])
        out[_key(row, len(groups))][code] = Figure(code, _ratio(flagged, total), flagged, total)


def _codes(codes: Iterable[str] | None) -> list[str]:
    if codes is None:
        return list(METRICS)
    wanted = list(dict.fromkeys(codes))
    unknown = [c for c in wanted if c not in METRICS]
    if unknown:
        raise ValueError(f"unknown metric code(s): {', '.join(unknown)}")
    return wanted


def _empty(code: str) -> Figure:
    if code in _COUNTS:
        return Figure(code, 0, 0, None)
    if code in _TIMES:
        return Figure(code, None, None, 0)
    return Figure(code, None, 0, 0)


def _run(window: _Window, scope: Scope, wanted: list[str], dimension: str | None,
         edges: Sequence[datetime] | None = None) -> dict:
    """Figures keyed by group (None without a dimension); with `edges` (UTC period bounds, a plain window
    from edges[0] to edges[-1]) keyed by period index instead."""
    out: dict = defaultdict(dict)
    groups = _case_columns(dimension) if dimension else ()
    filters = _case_filters(scope)
    codes = set(wanted)
    bucket = None if edges is None else _bucketer(edges)
    if codes & set(_CREATED):
        _created(window, filters, groups, out, bucket)
    if codes & set(_RESOLVED):
        _resolved(window, filters, groups, out, bucket)
    if "backlog" in codes:
        if edges is None:
            _backlog(window, filters, groups, out)
        else:
            _backlog_at_each_end(edges, filters, out)
    if codes & set(_TIMES) and db.session.get_bind().dialect.name == "postgresql":
        # Percentiles sort their sample: give this transaction room to sort a quarter of a million values in
        # memory instead of spilling to disk (the default is 4 MB).
        db.session.execute(text("SET LOCAL work_mem = '64MB'"))
    if codes & set(_FIRST_REPLY):
        _percentiles(window, filters, groups, Case.first_reply_minutes, Case.created_at, _FIRST_REPLY, out, bucket)
    if codes & set(_RESOLUTION):
        _percentiles(window, filters, groups, Case.resolution_minutes, Case.first_resolved_at, _RESOLUTION, out,
                     bucket)
    for code in codes & set(RATE_SOURCES):
        _rate_source(code, RATE_SOURCES[code], window, scope, dimension, out, bucket)
    return out


def _bucketer(edges: Sequence[datetime]):
    """column -> the index of the period [edges[i], edges[i + 1]) it falls in (rows outside are filtered)."""
    def bucket(column):
        if len(edges) == 2:
            return literal(0)
        return case(*((column < edge, index) for index, edge in enumerate(edges[1:-1])), else_=len(edges) - 2)
    return bucket


def _done_at() -> ColumnElement:
    """When a case stopped being open: its first resolution or its closing, whichever came first (not before
    its creation); NULL while neither happened."""
    done = case((Case.first_resolved_at.is_(None), Case.closed_at), (Case.closed_at.is_(None), Case.first_resolved_at),
                (Case.first_resolved_at < Case.closed_at, Case.first_resolved_at), else_=Case.closed_at)
    return case((done < Case.created_at, Case.created_at), else_=done)


def _backlog_at_each_end(edges: Sequence[datetime], filters: list, out: dict) -> None:
    """Backlog at the end of every period in two queries: open at t = created before t - done before t,
    both counted cumulatively by period (bucket -1 holds everything before the first period)."""
    bucket = _bucketer(edges)
    counts = [[0] * (len(edges) - 1), [0] * (len(edges) - 1)]
    before = [0, 0]
    for slot, column in enumerate((Case.created_at, _done_at())):
        key = case((column < edges[0], -1), else_=bucket(column))
        stmt = select(key, func.count()).where(column < edges[-1], *filters).group_by(key)
        for index, count in db.session.execute(stmt):
            if index < 0:
                before[slot] += count
            else:
                counts[slot][index] += count
    created, done = before
    for index in range(len(edges) - 1):
        created += counts[0][index]
        done += counts[1][index]
        out[index]["backlog"] = Figure("backlog", created - done, created - done, None)


def _complete(found: dict[str, Figure], wanted: list[str]) -> dict[str, Figure]:
    return {code: found.get(code) or _empty(code) for code in wanted}


# ------------------------------------------------------------------------------------------------ drill-down
# The cases behind a figure: the same predicates the queries above count with. "all" is the figure's
# denominator (its sample for times, the count itself for counts), "hit" its numerator, "miss" the rest.

PARTS = ("all", "hit", "miss")


def _rated() -> ColumnElement[bool]:
    return Case.csat_score.is_not(None)


def _with_due() -> ColumnElement[bool]:
    return Case.due_at.is_not(None)


# code -> (period column, the denominator's extra condition or None, the numerator's condition or None)
_DRILL: dict[str, tuple] = {
    "volume": (lambda: Case.created_at, None, None),
    "escalation_rate": (lambda: Case.created_at, None, lambda: Case.escalated == true()),
    "resolved": (lambda: Case.first_resolved_at, None, None),
    "fcr": (lambda: Case.first_resolved_at, None, first_contact_resolved),
    "handoff_rate": (lambda: Case.first_resolved_at, None, _handed_off),
    "handoffs_per_case": (lambda: Case.first_resolved_at, None, lambda: Case.group_stations > 1),
    "reopen_rate": (lambda: Case.first_resolved_at, None, lambda: Case.reopens > 0),
    "csat": (lambda: Case.first_resolved_at, _rated, lambda: Case.csat_score >= 4),
    "sla_attainment": (lambda: Case.first_resolved_at, _with_due, lambda: Case.first_resolved_at <= Case.due_at),
    "first_reply_p50": (lambda: Case.created_at, lambda: Case.first_reply_minutes.is_not(None), None),
    "first_reply_p90": (lambda: Case.created_at, lambda: Case.first_reply_minutes.is_not(None), None),
    "resolution_p50": (lambda: Case.first_resolved_at, lambda: Case.resolution_minutes.is_not(None), None),
    "resolution_p90": (lambda: Case.first_resolved_at, lambda: Case.resolution_minutes.is_not(None), None),
    "backlog": (None, None, None),
}


def drillable(code: str, part: str = "all") -> bool:
    """Does this figure (and part of it) have a case list? Counts and times have only "all"."""
    found = _DRILL.get(code)
    return found is not None and part in PARTS and (part == "all" or found[2] is not None)


def case_filter(code: str, scope: Scope | None, start: date, end: date, part: str = "all",
                tz: str | None = None) -> list[ColumnElement[bool]]:
    """WHERE clauses selecting exactly the cases the engine counts for (code, scope, period, part);
    ValueError for a figure without a case list."""
    if not drillable(code, part):
        raise ValueError(f"no case list for {code} / {part}")
    scope = scope or Scope()
    window = _window(start, end, _resolve_tz(scope, tz))
    period, denominator, numerator = _DRILL[code]
    clauses = [*_case_filters(scope)]
    clauses.append(window.open_at_end() if period is None else window.within(period()))
    if denominator is not None:
        clauses.append(denominator())
    if part != "all":
        clauses.append(numerator() if part == "hit" else ~numerator())
    return clauses


def drilldown_url(code: str, scope: Scope | None, start: date, end: date, part: str = "all") -> str | None:
    """The case list behind a figure (None when the figure has none), for any page to link to."""
    if not drillable(code, part):
        return None
    scope = scope or Scope()
    args = {name: value for name in ("pod_id", "agent_id", "segment_id", "stage_id", "channel", "request_type")
            if (value := getattr(scope, name)) is not None}
    return url_for("outcomes.case_list", metric=code, part=part, start=start.isoformat(), end=end.isoformat(),
                   **args)


# ------------------------------------------------------------------------------------------ the rollup path
# The organisation's and pods' figures (no other scope, no other dimension) come from per-day rollups
# (app.outcomes.rollups) when the zones asked for are built: the same figures as the queries above, exact
# percentiles included, read from a few thousand rows instead of a quarter of a million cases.

_ROLLUP_CODES = frozenset(_CREATED + _RESOLVED + _TIMES + ("backlog", "rework_rate", "complaint_share"))
# A breakdown's backlog and complaint share come from the cases table.
_BREAKDOWN_CODES = _ROLLUP_CODES - {"backlog", "complaint_share"}


class _Minutes:
    """The minutes of many rollup rows, each a sorted array: exact order statistics by binary search over the
    values (integers), counting with bisect in every array, so nothing is merged or sorted."""

    __slots__ = ("days", "n", "blobs")
    SORTED = 60_000  # up to this many values, merge and sort

    def __init__(self) -> None:
        self.days: list = []
        self.n = 0
        self.blobs: list = []  # packed, not yet unpacked: a small sample is unpacked in one go

    def add(self, blob: bytes | None) -> None:
        if blob:
            self.blobs.append(blob)
            self.n += len(blob) // 4

    def _unpack(self) -> None:
        if not self.blobs:
            return
        if self.n <= self.SORTED:
            merged = rollups.unpack(b"".join(self.blobs))
            for values in self.days:
                merged.extend(values)
            self.days = [array("i", sorted(merged))]
        else:
            self.days.extend(rollups.unpack(blob) for blob in self.blobs)
        self.blobs = []

    def kth(self, k: int) -> int:
        """The k-th smallest value (0-based): a binary search between two bounds every array gives — no more
        than k values lie below the least of the arrays' own quantiles at k/n, at least k + 1 at or below the
        greatest of their quantiles at (k + 1)/n."""
        n, days = self.n, self.days
        lo = min(values[k * len(values) // n] for values in days)
        hi = max(values[max(0, -(-(k + 1) * len(values) // n) - 1)] for values in days)
        while lo < hi:
            middle = (lo + hi) // 2
            if sum(bisect_right(values, middle) for values in days) > k:
                hi = middle
            else:
                lo = middle + 1
        return lo

    def following(self, k: int, value: int) -> int:
        """The (k+1)-th smallest value, given that the k-th is `value`."""
        if sum(bisect_right(values, value) for values in self.days) > k + 1:
            return value
        return min(values[i] for values in self.days if (i := bisect_right(values, value)) < len(values))

    def percentile(self, p: int) -> float | None:
        """Continuous percentile: position p(n-1)/100, interpolated between its two neighbours. A small sample
        is merged and sorted once (cheaper than searching); a large one is searched."""
        if not self.n:
            return None
        self._unpack()
        index, rest = divmod(p * (self.n - 1), 100)
        if self.n <= self.SORTED:
            if len(self.days) > 1:
                merged = array("i")
                for values in self.days:
                    merged.extend(values)
                self.days = [array("i", sorted(merged))]
            values = self.days[0]
            below, above = values[index], values[min(index + 1, self.n - 1)]
        else:
            below = self.kth(index)
            above = self.following(index, below) if rest else below
        if not rest:
            return float(below)
        return float(below + (rest / 100) * (above - below))


class _Sums:
    __slots__ = ("counts", "replies", "resolutions", "complaints")

    def __init__(self) -> None:
        self.counts = [0] * len(rollups.COUNTS)
        self.complaints = 0
        self.replies = _Minutes()
        self.resolutions = _Minutes()

    def add(self, counts: Sequence[int], replies: bytes | None, resolutions: bytes | None,
            times: tuple[bool, bool]) -> None:
        mine = self.counts
        for i, value in enumerate(counts):
            if value:
                mine[i] += value
        if times[0]:
            self.replies.add(replies)
        if times[1]:
            self.resolutions.add(resolutions)


def _figures_of(sums: _Sums, wanted: set, out: dict) -> None:
    (created, escalated, resolved, fcr, handed, handoffs, reopened, good, rated, in_time, due, reworked,
     _done) = sums.counts
    if wanted & set(_CREATED):
        out["volume"] = Figure("volume", created, created, None)
        out["escalation_rate"] = Figure("escalation_rate", _ratio(escalated, created), escalated, created)
    if wanted & set(_RESOLVED):
        _resolved_figures(out, resolved, fcr, handed, handoffs, reopened, good, rated, in_time, due)
    if "rework_rate" in wanted:
        out["rework_rate"] = Figure("rework_rate", _ratio(reworked, resolved), reworked, resolved)
    if "complaint_share" in wanted:
        flagged = sums.complaints
        out["complaint_share"] = Figure("complaint_share", _ratio(flagged, created), flagged, created)
    for codes, values in ((_FIRST_REPLY, sums.replies), (_RESOLUTION, sums.resolutions)):
        if not wanted & set(codes):
            continue
        for code, p in zip(codes, _PERCENTS, strict=True):
            out[code] = Figure(code, values.percentile(p), None, values.n)


def _rollup_stmt(columns, zone: str | list[str], pod_id: int | None, pods_only: bool, R=rollups.CaseDayRollup):
    stmt = select(*columns).where(R.zone.in_(zone) if isinstance(zone, list) else R.zone == zone)
    if pod_id is not None:
        stmt = stmt.where(R.pod_id == pod_id)
    elif pods_only:
        stmt = stmt.where(R.pod_id.is_not(None))
    return stmt


def _from_rollups(zones: dict[str, set | None], start: date, end: date, wanted: list[str], by_pod: bool,
                  pod_id: int | None, edges: Sequence[date] | None = None, plan: tuple = (None, None)) -> dict:
    """Figures from rollups. `zones` maps each zone to read to the pods read in it (None: every pod).
    Keyed by pod id (by_pod; by the breakdown's value when `plan` names a breakdown), by period index (edges:
    the first day of each period), else None. `plan` is (breakdown or None, the breakdown's key or None)."""
    dim, wanted_key = plan
    codes = set(wanted)
    out: dict = defaultdict(dict)
    sums: dict = defaultdict(_Sums)
    times = (bool(codes & set(_FIRST_REPLY)), bool(codes & set(_RESOLUTION)))
    if dim is not None and edges is None:
        _from_breakdowns(list(zones), start, end, codes, by_pod, pod_id, dim, wanted_key, times, sums)
        for key, found in sums.items():
            _figures_of(found, codes, out[key])
        return out
    backlog = "backlog" in codes and dim is None
    if dim is None:
        R = rollups.CaseDayRollup
        counts_columns = [getattr(R, name) for name in rollups.COUNTS]
        stmt = _rollup_stmt([R.zone, R.day, R.pod_id, *counts_columns, R.first_reply_minutes,
                             R.resolution_minutes], list(zones), pod_id, by_pod)
    else:
        R = rollups.CaseDayBreakdown
        counts_columns = [getattr(R, name) for name in rollups.BREAKDOWN_COUNTS]
        stmt = _rollup_stmt([R.zone, R.day, R.key if by_pod else R.pod_id, *counts_columns,
                             R.first_reply_minutes if times[0] else literal(None),
                             R.resolution_minutes if times[1] else literal(None)], list(zones), pod_id, False, R)
        stmt = stmt.where(R.dim == dim)
        if wanted_key is not None:
            stmt = stmt.where(R.key == wanted_key)
    stmt = stmt.where(R.day >= start, R.day <= end)
    if backlog:
        # The backlog at the end = everything created minus everything done up to then: the days before the
        # period summed per zone and pod, in the same statement.
        earlier = _rollup_stmt([R.zone, literal(None, Date), R.pod_id, func.sum(R.created),
                                *(literal(0) for _c in counts_columns[1:-1]), func.sum(R.done), literal(None),
                                literal(None)], list(zones), pod_id, by_pod)
        stmt = stmt.union_all(earlier.where(R.day < start).group_by(R.zone, R.pod_id))
    width = len(counts_columns)
    before: dict = defaultdict(int)

    def key_of(zone: str, day: date | None, group) -> tuple[bool, object]:
        """(is the row wanted, its key)."""
        pods = zones[zone]
        if pods is not None and group not in pods:
            return False, None
        if by_pod:
            return True, group if dim is None else rollups.parse_key(dim, group)
        if day is None or edges is None:
            return True, None
        return True, bisect_right(edges, day) - 1

    for zone_row in db.session.execute(stmt):
        day = zone_row[1]
        wanted_row, key = key_of(zone_row[0], day, zone_row[2])
        if not wanted_row:
            continue
        if day is None:
            before[key] += _int(zone_row[3]) - _int(zone_row[3 + width - 1])
            continue
        sums[key].add(zone_row[3:3 + width], zone_row[-2], zone_row[-1], times)
    if "complaint_share" in codes and dim is None and (marked := complaint_codes()):
        T = rollups.CaseDayType
        typed = _rollup_stmt([T.zone, T.day, T.pod_id, func.sum(T.created)], list(zones), pod_id, by_pod, T)
        typed = typed.where(T.day >= start, T.day <= end, T.request_type.in_(marked))
        for zone, day, group, count in db.session.execute(typed.group_by(T.zone, T.day, T.pod_id)):
            wanted_row, key = key_of(zone, day, group)
            if wanted_row and key in sums:  # a day with complaints created has a rollup row too
                sums[key].complaints += _int(count)
    for key, found in sums.items():
        _figures_of(found, codes, out[key])
    if backlog:
        def net(key) -> int:
            found = sums.get(key)
            return found.counts[0] - found.counts[-1] if found is not None else 0

        if edges is None:
            for key in before.keys() | sums.keys():
                count = before.get(key, 0) + net(key)
                out[key]["backlog"] = Figure("backlog", count, count, None)
        else:
            running = before.get(None, 0)
            for index in range(len(edges)):
                running += net(index)
                out[index]["backlog"] = Figure("backlog", running, running, None)
    return out


def _from_breakdowns(zones: list[str], start: date, end: date, codes: set, by_pod: bool, pod_id: int | None,
                     dim: str, wanted_key: str | None, times: tuple[bool, bool], sums: dict) -> None:
    """A breakdown's sums per value (by_pod) or in all, summed by the database (the organisation's quarter is
    tens of thousands of day rows); only the days' minutes, when a time is wanted, travel to Python."""
    R = rollups.CaseDayBreakdown
    where = [R.zone.in_(zones), R.dim == dim, R.day >= start, R.day <= end]
    if pod_id is not None:
        where.append(R.pod_id == pod_id)
    if wanted_key is not None:
        where.append(R.key == wanted_key)

    key = R.key if by_pod else null()
    counts = [getattr(R, name) for name in rollups.BREAKDOWN_COUNTS]
    # One statement: the sums per value (marked 0), then, when a time is wanted, the days' minutes (marked 1).
    stmt = select(literal_column("0"), key, *(func.sum(c) for c in counts), null(),
                  null()).where(*where)
    if by_pod:
        stmt = stmt.group_by(R.key)
    if times[0] or times[1]:
        blobs = [R.first_reply_minutes if times[0] else null(),
                 R.resolution_minutes if times[1] else null()]
        present = [blob.is_not(None) for blob, wanted in zip(blobs, times, strict=True) if wanted]
        stmt = stmt.union_all(select(literal_column("1"), key, *(null() for _c in counts), *blobs)
                              .where(*where, or_(*present)))
    for row in db.session.execute(stmt):
        if row[2] is None and row[0] == 0:  # no day rows at all
            continue
        found = sums[rollups.parse_key(dim, row[1]) if by_pod else None]
        if row[0] == 0:
            found.add(row[2:-2], None, None, (False, False))
        else:
            found.add((), row[-2], row[-1], times)


def _rollup_plan(scope: Scope, dimension: str | None) -> tuple | None:
    """Which rollups answer this scope and grouping: (None, None) the per-day rollups; (breakdown, key or None)
    a breakdown's rollups (a group of it, or one of its values); None the cases table."""
    used = {name: rollups.dim_key(name, (value,)) for name, value in
            (("agent", scope.agent_id), ("channel", scope.channel), ("request_type", scope.request_type))
            if value is not None}
    if scope.segment_id is not None or scope.stage_id is not None:
        if scope.segment_id is None or scope.stage_id is None:
            return None
        used["cell"] = rollups.dim_key("cell", (scope.segment_id, scope.stage_id))
    if dimension in (None, "pod") and not used:
        return None, None
    # Breakdowns are kept per pod in the pod's own zone, and for every pod in the organisation's zone.
    if dimension is None and len(used) == 1:
        return next(iter(used.items()))
    if dimension in rollups.BREAKDOWNS and set(used) <= {dimension}:
        return dimension, used.get(dimension)
    return None


def _rollup_ready(scope: Scope, zones: Iterable[str], dimension: str | None, end: date | None = None) -> bool:
    plan = _rollup_plan(scope, dimension)
    if plan is None:
        return False
    if plan[0] is not None and list(zones) != [_resolve_tz(scope, None)]:
        return False
    return rollups.ready(db.session, zones, end)


def _fast_codes(wanted: list[str], scope: Scope, dimension: str | None) -> list[str]:
    """The wanted codes rollups can answer for this scope and grouping."""
    plan = _rollup_plan(scope, dimension)
    if plan is None:
        return []
    codes = _ROLLUP_CODES if plan[0] is None else _BREAKDOWN_CODES
    return [c for c in wanted if c in codes]


def _merge(into: dict, extra: dict) -> dict:
    for key, figures in extra.items():
        into.setdefault(key, {}).update(figures)
    return into


# ------------------------------------------------------------------------------------------------- public API

def compute(start: date, end: date, scope: Scope | None = None, codes: Iterable[str] | None = None,
            tz: str | None = None) -> dict[str, Figure]:
    """Every requested figure for the local days start..end (inclusive) in `scope`."""
    scope = scope or Scope()
    wanted = _codes(codes)
    zone = _resolve_tz(scope, tz)
    window = _window(start, end, zone)
    fast = _fast_codes(wanted, scope, None)
    if fast and _rollup_ready(scope, [zone], None, end):
        found = _from_rollups({zone: None}, start, end, fast, False, scope.pod_id,
                              plan=_rollup_plan(scope, None))
        rest = [c for c in wanted if c not in fast]
        if rest:
            _merge(found, _run(window, scope, rest, None))
    else:
        found = _run(window, scope, wanted, None)
    return _complete(found.get(None, {}), wanted)


def compute_by(dimension: str, start: date, end: date, scope: Scope | None = None,
               codes: Iterable[str] | None = None, tz: str | None = None) -> dict:
    """Figures per group of `dimension` ("cell" keys are (segment_id, stage_id)) in a fixed number of queries.
    Only groups with data are returned; cases without a value for the dimension belong to no group. Grouped by
    pod without `tz`, each pod's period is read in its own time zone."""
    if dimension not in DIMENSIONS:
        raise ValueError(f"unknown dimension: {dimension}")
    scope = scope or Scope()
    wanted = _codes(codes)
    window = None
    zones: dict[str, set | None] = {}
    if dimension == "pod" and tz is None and scope.pod_id is None:
        zones = _pods_by_zone()
        if len(zones) > 1:
            names = sorted(zones)
            window = _Window(*local_day_bounds(start, end, names[0]),
                             tuple((z, *local_day_bounds(start, end, z)) for z in names))
    if window is None:
        zone = _resolve_tz(scope, tz)
        window = _window(start, end, zone)
        zones = {zone: None}
    fast = _fast_codes(wanted, scope, dimension)
    if fast and _rollup_ready(scope, zones, dimension, end):
        found = _from_rollups(zones, start, end, fast, True, scope.pod_id, plan=_rollup_plan(scope, dimension))
        rest = [c for c in wanted if c not in fast]
        if rest:
            _merge(found, _run(window, scope, rest, dimension))
    else:
        found = _run(window, scope, wanted, dimension)
    return {key: _complete(figures, wanted) for key, figures in found.items()}


def _pods_by_zone() -> dict[str, set | None]:
    zones: dict[str, set | None] = {}
    for pod_id, zone in db.session.execute(select(Pod.id, Pod.timezone)):
        if zone:
            zones.setdefault(zone, set()).add(pod_id)
    return zones


def _periods(start: date, end: date, grain: str) -> list[tuple[date, date, date]]:
    """(label, first, last) per period of `grain` overlapping start..end, clipped to it."""
    if grain not in GRAINS:
        raise ValueError(f"unknown grain: {grain}")
    periods = []
    if grain == "day":
        label = start
    elif grain == "week":
        label = start - timedelta(days=start.weekday())
    elif grain == "month":
        label = start.replace(day=1)
    else:
        label = start.replace(month=3 * ((start.month - 1) // 3) + 1, day=1)
    while label <= end:
        if grain == "day":
            following = label + timedelta(days=1)
        elif grain == "week":
            following = label + timedelta(days=7)
        else:
            months = 1 if grain == "month" else 3
            year, month = divmod(label.month - 1 + months, 12)
            following = date(label.year + year, month + 1, 1)
        periods.append((label, max(label, start), min(following - timedelta(days=1), end)))
        label = following
    return periods


def series(start: date, end: date, grain: str, scope: Scope | None = None, codes: Iterable[str] | None = None,
           tz: str | None = None) -> list[tuple[date, dict[str, Figure]]]:
    """One entry per period of `grain` (labelled by its first day; the first and last periods are clipped to
    start..end), periods without data included."""
    scope = scope or Scope()
    wanted = _codes(codes)
    zone = _resolve_tz(scope, tz)
    periods = _periods(start, end, grain)
    edges = [local_day_bounds(first, first, zone)[0] for _label, first, _last in periods]
    edges.append(local_day_bounds(end, end, zone)[1])
    fast = _fast_codes(wanted, scope, None)
    if fast and _rollup_ready(scope, [zone], None, end):
        found = _from_rollups({zone: None}, start, end, fast, False, scope.pod_id,
                              [first for _label, first, _last in periods], plan=_rollup_plan(scope, None))
        rest = [c for c in wanted if c not in fast]
        if rest:
            _merge(found, _run(_Window(edges[0], edges[-1]), scope, rest, None, edges))
    else:
        found = _run(_Window(edges[0], edges[-1]), scope, wanted, None, edges)
    return [(label, _complete(found.get(index, {}), wanted)) for index, (label, _f, _l) in enumerate(periods)]


def _quarter(day: date) -> tuple[int, int]:
    return day.year, (day.month - 1) // 3 + 1


def compare(start: date, end: date, scope: Scope | None = None, codes: Iterable[str] | None = None,
            tz: str | None = None) -> dict[str, Comparison]:
    """Each figure with the previous period of the same length and the pod's target for the quarter of `end`."""
    scope = scope or Scope()
    wanted = _codes(codes)
    zone = _resolve_tz(scope, tz)
    length = (end - start).days + 1
    current = compute(start, end, scope, wanted, zone)
    previous = compute(start - timedelta(days=length), start - timedelta(days=1), scope, wanted, zone)
    targets: dict[str, float] = {}
    if scope.pod_id is not None:
        year, quarter = _quarter(end)
        targets = dict(db.session.execute(
            select(PodTarget.metric, PodTarget.value).where(
                PodTarget.pod_id == scope.pod_id, PodTarget.year == year, PodTarget.quarter == quarter,
                PodTarget.metric.in_(wanted))).all())
    return {code: Comparison(current[code], previous[code], targets.get(code)) for code in wanted}



# ------------------------------------------------------------------------------- version 2: rework, complaints
# METRICS.md "Version 2 additions". The organisation's and pods' figures come from the rollups (a day's reworked
# count; complaint_share from per-request-type day counts, the admin's complaint flags applied when read); other
# scopes from the cases table through the rate-source path: flagged rows ÷ all rows in the period, grouped by any
# dimension, with drill-down conditions below.

def reworked() -> ColumnElement[bool]:
    """Rework on a resolved case: handed off (the handoff rule), reopened, or escalated."""
    return or_(_handed_off(), Case.reopens > 0, Case.escalated == true())


def _complaint() -> ColumnElement[bool]:
    return complaint_condition()


_CASE_COLUMNS = {name: _case_columns(name) for name in DIMENSIONS}
_CASE_SCOPE = {"pod_id": Case.pod_id, "agent_id": Case.assignee_id, "segment_id": Case.segment_id,
               "stage_id": Case.stage_id, "channel": Case.channel, "request_type": Case.request_type}
register_rate_source(MetricDef("rework_rate", _l("Rework rate"), "lower", "rate"),
                     RateSource(Case, Case.first_resolved_at, reworked, Case.pod_id, _CASE_COLUMNS, _CASE_SCOPE))
register_rate_source(MetricDef("complaint_share", _l("Complaint share"), "lower", "rate"),
                     RateSource(Case, Case.created_at, _complaint, Case.pod_id, _CASE_COLUMNS, _CASE_SCOPE))
_DRILL["rework_rate"] = (lambda: Case.first_resolved_at, None, reworked)
_DRILL["complaint_share"] = (lambda: Case.created_at, None, _complaint)


def rate_parts(code: str) -> tuple | None:
    """(period column, the denominator's extra condition or None, the numerator's condition) of a rate counted
    from cases, for features that count the same figure by their own groups (pilots); None for other metrics."""
    found = _DRILL.get(code)
    if found is None or found[0] is None or found[2] is None or METRICS[code].unit != "rate":
        return None
    period, denominator, numerator = found
    return period(), (denominator() if denominator is not None else None), numerator()
