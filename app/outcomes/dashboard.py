"""Dashboard presentation: the period picker, and the engine's figures shaped for scorecards, charts and tables."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any

from flask_babel import format_date, format_decimal
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from app.formatting import format_minutes
from app.outcomes.labels import CHANNEL_LABELS, PRIORITY_LABELS, REQUEST_TYPE_LABELS  # noqa: F401 (re-exported)
from app.outcomes.metrics import change_status, format_value, status
from app.outcomes.targets import quarter_bounds, quarter_of

PERIOD_CHOICES = (
    ("7d", _l("Last 7 days")),
    ("30d", _l("Last 30 days")),
    ("90d", _l("Last 90 days")),
    ("quarter", _l("This quarter")),
    ("last_quarter", _l("Last quarter")),
    ("custom", _l("Custom range")),
)
GRAIN_CHOICES = (("week", _l("By week")), ("month", _l("By month")))
DEFAULT_PERIOD = "30d"
MAX_RANGE_DAYS = 731
EARLIEST = date(2000, 1, 1)

def case_label(labels: dict, code: str | None) -> str:
    """A case field's code (request type, channel, priority) as people read it; "" for none."""
    if not code:
        return ""
    return str(labels.get(code, code.replace("_", " ")))

HOME_CODES = ("volume", "fcr", "csat", "handoff_rate", "sla_attainment")
BREAKDOWN_CODES = ("volume", "resolved", "fcr", "handoff_rate", "reopen_rate", "csat", "first_reply_p50",
                   "sla_attainment")
PEOPLE_CODES = ("resolved", "fcr", "handoff_rate", "reopen_rate", "csat", "first_reply_p50", "resolution_p50",
                "sla_attainment")
HEAT_CODE = "handoff_rate"
# Handoff-rate bands for the heat map: below 5 %, 10 %, 15 %, 20 %, 30 %, and above.
HEAT_BANDS = (0.05, 0.10, 0.15, 0.20, 0.30)
FEW_CASES = 10
CHARTS = (
    ("volume", "bar", ("volume", "resolved")),
    ("rates", "line", ("fcr", "handoff_rate", "reopen_rate", "csat", "sla_attainment", "escalation_rate")),
    ("times", "line", ("first_reply_p50", "first_reply_p90", "resolution_p50", "resolution_p90")),
)


class PeriodError(ValueError):
    """Period input that cannot be read; str() is the message for the person who typed it."""


@dataclass(frozen=True)
class Period:
    key: str
    start: date
    end: date
    grain: str

    @property
    def days(self) -> int:
        return (self.end - self.start).days + 1

    @property
    def previous(self) -> tuple[date, date]:
        """The period of the same length just before, as the engine's compare() takes it."""
        return self.start - timedelta(days=self.days), self.start - timedelta(days=1)

    def query(self) -> dict[str, str]:
        args = {"period": self.key, "grain": self.grain}
        if self.key == "custom":
            args.update({"from": self.start.isoformat(), "to": self.end.isoformat()})
        return args


def last_days(today: date, days: int) -> tuple[date, date]:
    """The `days` complete days before today."""
    end = today - timedelta(days=1)
    return end - timedelta(days=days - 1), end


def _parse_day(text: str) -> date:
    try:
        day = date.fromisoformat(text.strip())
    except ValueError:
        raise PeriodError(_("Write dates as YYYY-MM-DD, for example %(example)s.", example="2026-07-01")) from None
    if day < EARLIEST:
        raise PeriodError(_("Choose dates from the year 2000 on."))
    return day


def default_grain(start: date, end: date) -> str:
    return "week" if (end - start).days < 120 else "month"


def parse_period(args: Mapping[str, str], today: date) -> Period:
    """Read the period picker's query arguments; raise PeriodError with a message for bad input."""
    key = (args.get("period") or "").strip() or DEFAULT_PERIOD
    if key not in dict(PERIOD_CHOICES):
        raise PeriodError(_("Choose one of the periods offered."))
    if key.endswith("d"):
        start, end = last_days(today, int(key[:-1]))
    elif key == "quarter":
        start, end = quarter_bounds(*quarter_of(today))[0], today
    elif key == "last_quarter":
        year, quarter = quarter_of(today)
        start, end = quarter_bounds(*((year - 1, 4) if quarter == 1 else (year, quarter - 1)))
    else:
        first, last = args.get("from") or "", args.get("to") or ""
        if not first.strip() or not last.strip():
            raise PeriodError(_("Enter both the first and the last day of the custom range."))
        start, end = _parse_day(first), _parse_day(last)
        if start > end:
            raise PeriodError(_("The first day must be on or before the last day."))
        if start > today:
            raise PeriodError(_("The range must start today or earlier."))
        if (end - start).days + 1 > MAX_RANGE_DAYS:
            raise PeriodError(_("A custom range can cover at most two years."))
    grain = (args.get("grain") or "").strip() or default_grain(start, end)
    if grain not in dict(GRAIN_CHOICES):
        raise PeriodError(_("Show the trend by week or by month."))
    return Period(key, start, end, grain)


def default_period(today: date) -> Period:
    return parse_period({}, today)


def trend_window(period: Period) -> tuple[date, date]:
    """The span the trend charts cover: the period, widened to at least 13 weeks or 6 months, whole first bucket."""
    end = period.end
    if period.grain == "week":
        start = min(period.start, end - timedelta(weeks=12))
        return start - timedelta(days=start.weekday()), end
    month_index = end.year * 12 + end.month - 1 - 5
    start = min(period.start, date(month_index // 12, month_index % 12 + 1, 1))
    return start.replace(day=1), end


# --- figures as text ------------------------------------------------------------------------------


def _is_zero(delta: float) -> bool:
    return abs(delta) < 1e-9


def format_change(unit: str, delta: float | None) -> str:
    if delta is None:
        return "—"
    if _is_zero(delta):
        return _("no change")
    sign = "+" if delta > 0 else "−"
    if unit == "rate":
        return _("%(sign)s%(points)s pp", sign=sign, points=format_decimal(round(abs(delta) * 100, 1)))
    if unit == "minutes":
        return sign + format_minutes(abs(delta))
    return sign + format_decimal(round(abs(delta), 2))


def arrow(delta: float | None) -> str:
    """The change's sign as an arrow; the colour (metrics.change_status) says whether it is good."""
    if delta is None or _is_zero(delta):
        return ""
    return "▲" if delta > 0 else "▼"


def target_status(direction: str | None, value: float | None, target: float | None) -> str | None:
    """Kept for callers not yet on metrics.status (reviews): "met" / "missed", None when nothing to judge."""
    if value is None or target is None or direction is None:
        return None
    met = value >= target if direction == "higher" else value <= target
    return "met" if met else "missed"


def _count(value: float | int | None) -> str:
    return format_decimal(round(value, 2)) if value is not None else "—"


def figure_basis(unit: str, figure: Any) -> str:
    """What a figure rests on: numerator / denominator for rates, the sample size for times."""
    if figure is None or figure.denominator is None:
        return ""
    if unit == "minutes":
        return _("n = %(n)s", n=_count(figure.denominator))
    if figure.numerator is None:
        return ""
    return _("%(numerator)s / %(denominator)s", numerator=_count(figure.numerator),
             denominator=_count(figure.denominator))


@dataclass
class ScoreRow:
    code: str
    label: Any
    unit: str
    direction: str | None
    value: str
    basis: str
    target: str
    target_status: str | None
    previous: str
    change: str
    verdict: str
    arrow: str = ""
    url: str | None = None
    hit_url: str | None = None


def scorecard(comparisons: Mapping[str, Any], definitions: Mapping[str, Any], link=None) -> list[ScoreRow]:
    """One row per metric; `link(code, part)` gives the case list behind a figure (None: no links)."""
    rows = []
    for code, definition in definitions.items():
        comparison = comparisons.get(code)
        if comparison is None:
            continue
        current, previous = comparison.figure.value, comparison.previous.value
        delta = current - previous if current is not None and previous is not None else None
        rows.append(ScoreRow(
            code=code, label=definition.label, unit=definition.unit, direction=definition.direction,
            value=format_value(code, current), basis=figure_basis(definition.unit, comparison.figure),
            target=format_value(code, comparison.target), previous=format_value(code, previous),
            target_status=status(code, current, comparison.target) if comparison.target is not None else None,
            change=format_change(definition.unit, delta), verdict=change_status(code, previous, current),
            arrow=arrow(delta), url=link(code, "all") if link else None,
            hit_url=link(code, "hit") if link else None,
        ))
    return rows


@dataclass
class Headline:
    code: str
    label: Any
    value: str
    change: str
    verdict: str
    arrow: str = ""


def headlines(current: Mapping[str, Any], previous: Mapping[str, Any], definitions: Mapping[str, Any],
              codes: Iterable[str] = HOME_CODES) -> list[Headline]:
    """A few figures with their change against the previous period, for "My day"."""
    rows = []
    for code in codes:
        definition = definitions[code]
        now_figure, before = current.get(code), previous.get(code)
        value = now_figure.value if now_figure else None
        earlier = before.value if before else None
        delta = value - earlier if value is not None and earlier is not None else None
        rows.append(Headline(code, definition.label, format_value(code, value),
                             format_change(definition.unit, delta), change_status(code, earlier, value),
                             arrow(delta)))
    return rows


# --- charts ---------------------------------------------------------------------------------------


def _bucket_end(day: date, grain: str) -> date:
    if grain == "week":
        return day + timedelta(days=6 - day.weekday())
    following = date(day.year + 1, 1, 1) if day.month == 12 else date(day.year, day.month + 1, 1)
    return following - timedelta(days=1)


def _bucket_label(day: date, grain: str, last_day: date | None) -> str:
    label = format_date(day, "d MMM") if grain == "week" else format_date(day, "MMM yyyy")
    if last_day is not None and _bucket_end(day, grain) > last_day:
        return _("%(period)s (so far)", period=label)
    return label


def _chart_value(unit: str, value: float | None) -> float | None:
    if value is None:
        return None
    if unit == "rate":
        return round(value * 100, 1)
    if unit == "minutes":
        return round(value / 60, 2)
    return round(value, 2)


def chart_specs(points: list[tuple[date, Mapping[str, Any]]], grain: str, definitions: Mapping[str, Any],
                last_day: date | None = None) -> list[dict]:
    """The trend charts as data for static/js/charts.js: labels, one dataset per metric, the y axis' unit.

    A week or month that goes on after `last_day` is labelled as such, so a short last bar reads right.
    """
    labels = [_bucket_label(day, grain, last_day) for day, _figures in points]
    titles = {"volume": _("Cases"), "rates": _("Rates"), "times": _("Response and resolution times")}
    axes = {"volume": _("cases"), "rates": _("percent"), "times": _("hours")}
    suffix = {"volume": "", "rates": " %", "times": " h"}
    specs = []
    for key, kind, codes in CHARTS:
        datasets = []
        for code in codes:
            definition = definitions.get(code)
            if definition is None:
                continue
            data = [_chart_value(definition.unit, figures[code].value if code in figures else None)
                    for _day, figures in points]
            datasets.append({"code": code, "label": str(definition.label), "data": data})
        specs.append({"id": f"outcomes-chart-{key}", "key": key, "type": kind, "title": titles[key],
                      "axis": axes[key], "suffix": suffix[key], "labels": labels, "datasets": datasets})
    return specs


# --- heat map and tables --------------------------------------------------------------------------


@dataclass
class HeatCell:
    value: str
    sample: int
    band: str
    few: bool
    covered: bool = False
    url: str | None = None
    sample_url: str | None = None


@dataclass
class HeatMap:
    rows: list[tuple[Any, list[HeatCell]]] = field(default_factory=list)
    columns: list[Any] = field(default_factory=list)

    @property
    def empty(self) -> bool:
        return all(cell.band == "empty" for _row, cells in self.rows for cell in cells)


def heat_band(value: float | None) -> str:
    if value is None:
        return "empty"
    return str(sum(1 for limit in HEAT_BANDS if value >= limit))


def heat_map(cells: Mapping[tuple, Mapping[str, Any]], segments: list, stages: list,
             covered: Iterable[tuple[int, int]] = (), link=None) -> HeatMap:
    """Segments by lifecycle stages with the handoff rate per cell; cells without resolved cases are marked.

    Rows and columns are the active segments and stages plus any that still hold cases, and a "not
    mapped" row or column when cases lack a segment or stage.
    """
    with_data = {key for key, figures in cells.items() if figures.get(HEAT_CODE) is not None}
    seg_ids = {key[0] for key in with_data}
    stage_ids = {key[1] for key in with_data}
    row_items: list[tuple[int | None, Any]] = [(s.id, s.name) for s in segments if s.active or s.id in seg_ids]
    col_items: list[tuple[int | None, Any]] = [(s.id, s.name) for s in stages if s.active or s.id in stage_ids]
    if None in seg_ids:
        row_items.append((None, _l("Not mapped")))
    if None in stage_ids:
        col_items.append((None, _l("Not mapped")))
    covered = set(covered)
    result = HeatMap(columns=[name for _id, name in col_items])
    for seg_id, seg_name in row_items:
        row = []
        for stage_id, _name in col_items:
            figure = cells.get((seg_id, stage_id), {}).get(HEAT_CODE)
            value = figure.value if figure is not None else None
            sample = int(figure.denominator or 0) if figure is not None else 0
            linked = link is not None and value is not None and seg_id is not None and stage_id is not None
            row.append(HeatCell(value=format_value(HEAT_CODE, value), sample=sample, band=heat_band(value),
                                few=value is not None and sample < FEW_CASES,
                                covered=(seg_id, stage_id) in covered,
                                url=link(seg_id, stage_id, "hit") if linked else None,
                                sample_url=link(seg_id, stage_id, "all") if linked else None))
        result.rows.append((seg_name, row))
    return result


@dataclass
class TableRow:
    key: Any
    label: Any
    cells: list[str]
    url: str | None = None
    volume: float = 0
    cell_urls: list[str | None] = field(default_factory=list)


def figure_table(by_key: Mapping[Any, Mapping[str, Any]], labels: Mapping[Any, Any], codes: Iterable[str],
                 keys: Iterable[Any] = (), unknown: Any = None, urls: Mapping[Any, str] | None = None,
                 sort_by: str | None = None, link=None) -> list[TableRow]:
    """One row per key (those given, then any others with figures), one formatted cell per metric code."""
    codes = list(codes)
    ordered = list(dict.fromkeys([*keys, *by_key.keys()]))
    rows = []
    for key in ordered:
        figures = by_key.get(key, {})
        label = labels.get(key) if key is not None else (unknown or _l("Not set"))
        cells = [format_value(code, figures[code].value if code in figures else None) for code in codes]
        weight = figures[sort_by].value if sort_by and sort_by in figures and figures[sort_by].value else 0
        cell_urls = [link(key, code) if link is not None and key is not None and code in figures else None
                     for code in codes]
        rows.append(TableRow(key, label if label is not None else str(key), cells,
                             (urls or {}).get(key), weight, cell_urls))
    if sort_by:
        rows.sort(key=lambda row: (-row.volume, str(row.label)))
    return rows
