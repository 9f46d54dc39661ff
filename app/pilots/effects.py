"""A pilot's effect on a metric: difference in differences with a 90 % bootstrap interval (METRICS.md, "Pilot
effect").

For a phase starting on day S over cells P, with every cell outside the pilot as comparison C:
effect = (P after − P before) − (C after − C before), "before" the days S−n..S−1 and "after" S..S+n−1, n the
window length (default 8 weeks) clipped to the days observed so far (yesterday at the latest, or the pilot's end).
Rates are compared as rates (Σ numerator ÷ Σ denominator over the window's days), from the engine's own
conditions (`metrics.rate_parts`). The interval resamples days with replacement within each window, 1,000 times,
from a fixed seed, so the same data gives the same interval on every run; the 5th and 95th percentiles of the
resampled effects bound it. "Not enough data yet" while either window has fewer than 14 days or the pilot cells
fewer than 100 resolved cases in it.

Counting is in SQL: one query per period column (created / first resolved) grouped by local day and by pilot
vs comparison, however many cases; the bootstrap works on those per-day sums.
"""

from __future__ import annotations

import random
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta

from sqlalchemy import and_, case, func, literal, not_, select

from app.extensions import db
from app.outcomes import metrics
from app.outcomes.models import Case
from app.outcomes.opportunities import cell_condition
from app.timeutil import local_day_bounds

DEFAULT_WINDOW_DAYS = 56
MIN_DAYS = 14
MIN_RESOLVED = 100
RESAMPLES = 1000
SEED = 20261202
LEVEL = 0.90


def measurable(code: str) -> bool:
    """Can a pilot aim at this metric: a rate counted from cases (asked without building its SQL)."""
    definition = metrics.METRICS.get(code)
    return definition is not None and definition.unit == "rate" and metrics.drillable(code, "hit")


def measurable_codes() -> list[str]:
    """The metrics a pilot can aim at."""
    return [code for code in metrics.METRICS if measurable(code)]


@dataclass
class Days:
    """Per-day sums of one metric: index 0..n-1 before, n..2n-1 after."""

    p_num: list[int]
    p_den: list[int]
    c_num: list[int]
    c_den: list[int]


@dataclass
class Effect:
    code: str
    days: int  # the length of each window
    before: date | None
    after_end: date | None
    p_before: float | None = None
    p_after: float | None = None
    c_before: float | None = None
    c_after: float | None = None
    effect: float | None = None
    low: float | None = None
    high: float | None = None
    samples: dict[str, int] = field(default_factory=dict)  # denominators: p_before, p_after, c_before, c_after
    p_resolved: tuple[int, int] = (0, 0)
    enough: bool = False
    weekly: list[tuple[date, float | None, float | None]] = field(default_factory=list)  # (week start, P, C)

    @property
    def covers_zero(self) -> bool | None:
        if self.low is None or self.high is None:
            return None
        return self.low <= 0 <= self.high


def _ratio(num: int, den: int) -> float | None:
    return num / den if den else None


def _did(pb, pa, cb, ca) -> float | None:
    if None in (pb, pa, cb, ca):
        return None
    return (pa - pb) - (ca - cb)


def _window_rates(days: Days, indices: Iterable[int]) -> tuple[float | None, float | None]:
    pn = pd = cn = cd = 0
    for i in indices:
        pn += days.p_num[i]
        pd += days.p_den[i]
        cn += days.c_num[i]
        cd += days.c_den[i]
    return _ratio(pn, pd), _ratio(cn, cd)


def resamples(n: int, count: int = RESAMPLES, seed: int = SEED) -> list[tuple[list[int], list[int]]]:
    """`count` pairs of (before day indices, after day indices), each drawn with replacement, from a fixed seed."""
    rng = random.Random(seed)
    return [([rng.randrange(n) for _ in range(n)], [n + rng.randrange(n) for _ in range(n)]) for _ in range(count)]


def did_interval(days: Days, n: int, draws: Sequence[tuple[list[int], list[int]]] | None = None
                 ) -> tuple[float | None, float | None, float | None]:
    """(effect, low, high) for per-day sums over n days before and n after (the interval is 90 %)."""
    pb, cb = _window_rates(days, range(n))
    pa, ca = _window_rates(days, range(n, 2 * n))
    effect = _did(pb, pa, cb, ca)
    if effect is None:
        return None, None, None
    effects = []
    for before, after in draws if draws is not None else resamples(n):
        rpb, rcb = _window_rates(days, before)
        rpa, rca = _window_rates(days, after)
        value = _did(rpb, rpa, rcb, rca)
        if value is not None:
            effects.append(value)
    if not effects:
        return effect, None, None
    effects.sort()
    tail = (1 - LEVEL) / 2
    low = effects[int(tail * (len(effects) - 1))]
    high = effects[int(round((1 - tail) * (len(effects) - 1)))]
    return effect, low, high


def _bucket(column, edges):
    return case(*((column < edge, index) for index, edge in enumerate(edges[1:-1])), else_=len(edges) - 2)


def _period_key(column) -> str:
    return getattr(column, "key", None) or str(column)


def measure(cells: Sequence[tuple[int, int]], pilot_cells: Sequence[tuple[int, int]], start: date, today: date,
            codes: Sequence[str], tz: str, window_days: int = DEFAULT_WINDOW_DAYS, ended_on: date | None = None,
            draws_cache: dict | None = None) -> dict[str, Effect]:
    """Each metric's effect for a phase starting on `start` over `cells`; the comparison excludes every cell of
    the pilot (`pilot_cells`). Days are local days in `tz`; the after window ends yesterday at the latest."""
    last = today - timedelta(days=1)
    if ended_on is not None:
        last = min(last, ended_on)
    n = max(0, min(window_days, (last - start).days + 1))
    wanted = [code for code in codes if measurable(code)]
    if n == 0:
        return {code: Effect(code, 0, None, None) for code in wanted}
    first = start - timedelta(days=n)
    day_list = [first + timedelta(days=i) for i in range(2 * n)]
    edges = [local_day_bounds(day, day, tz)[0] for day in day_list] + [local_day_bounds(last, last, tz)[1]]
    in_p = cell_condition(cells)
    in_pilot = cell_condition(pilot_cells)
    scope = and_(Case.segment_id.is_not(None), Case.stage_id.is_not(None))

    families: dict[str, tuple] = {}
    for code in wanted:
        period, denominator, numerator = metrics.rate_parts(code)
        families.setdefault(_period_key(period), (period, []))[1].append((code, denominator, numerator))
    resolved_column = Case.first_resolved_at
    families.setdefault(_period_key(resolved_column), (resolved_column, []))

    sums: dict[str, Days] = {code: Days([0] * 2 * n, [0] * 2 * n, [0] * 2 * n, [0] * 2 * n) for code in wanted}
    p_resolved = [0] * 2 * n
    for key, (period, members) in families.items():
        bucket = _bucket(period, edges) if len(edges) > 2 else literal(0)
        group = case((in_p, 1), else_=0)
        columns = [func.count()]
        for _code, denominator, numerator in members:
            den = denominator if denominator is not None else literal(True)
            columns.append(func.sum(case((den, 1), else_=0)))
            columns.append(func.sum(case((and_(den, numerator), 1), else_=0)))
        stmt = (select(bucket, group, *columns)
                .where(period >= edges[0], period < edges[-1], scope, in_p | not_(in_pilot))
                .group_by(bucket, group))
        for row in db.session.execute(stmt):
            index, pilot, total = int(row[0]), int(row[1]), int(row[2] or 0)
            if key == _period_key(resolved_column) and pilot:
                p_resolved[index] += total
            for position, (code, _d, _n) in enumerate(members):
                den, num = int(row[3 + 2 * position] or 0), int(row[4 + 2 * position] or 0)
                target = sums[code]
                if pilot:
                    target.p_den[index] += den
                    target.p_num[index] += num
                else:
                    target.c_den[index] += den
                    target.c_num[index] += num

    resolved = (sum(p_resolved[:n]), sum(p_resolved[n:]))
    enough = n >= MIN_DAYS and min(resolved) >= MIN_RESOLVED
    cache = draws_cache if draws_cache is not None else {}
    if enough and n not in cache:
        cache[n] = resamples(n)
    out = {}
    for code in wanted:
        days = sums[code]
        effect = Effect(code, n, first, start + timedelta(days=n - 1), p_resolved=resolved, enough=enough)
        effect.p_before, effect.c_before = _window_rates(days, range(n))
        effect.p_after, effect.c_after = _window_rates(days, range(n, 2 * n))
        effect.samples = {"p_before": sum(days.p_den[:n]), "p_after": sum(days.p_den[n:]),
                          "c_before": sum(days.c_den[:n]), "c_after": sum(days.c_den[n:])}
        if enough:
            effect.effect, effect.low, effect.high = did_interval(days, n, cache[n])
        for week in range(0, 2 * n, 7):
            p, c = _window_rates(days, range(week, min(week + 7, 2 * n)))
            effect.weekly.append((day_list[week], p, c))
        out[code] = effect
    return out
