"""Metric figures for retros, always from the one metric engine (app.outcomes.metrics).

Card chips, action baselines and results are all `metrics.compute` over a window; names and
directions come from the engine's registry and values are formatted by app.outcomes.metrics.format_value.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

from app.outcomes import metrics
from app.outcomes.metrics import format_value as format_metric

# Baseline and result windows: the 28 full days (four weeks) before the day the figure is taken.
WINDOW_DAYS = 28


@dataclass(frozen=True)
class Measure:
    value: float | None
    numerator: float | None
    denominator: float | None
    start: date
    end: date


def metric_choices() -> list[tuple[str, str, str]]:
    """(code, name, direction) of every metric with a direction, for cards and expected effects."""
    return [(code, str(m.label), m.direction) for code, m in metrics.METRICS.items()
            if m.direction in ("higher", "lower")]


def metric_codes() -> set[str]:
    return {code for code, _name, _direction in metric_choices()}


def metric_name(code: str | None) -> str:
    definition = metrics.METRICS.get(code or "")
    return str(definition.label) if definition else (code or "")


def window_before(day: date) -> tuple[date, date]:
    return day - timedelta(days=WINDOW_DAYS), day - timedelta(days=1)


def compute(codes: list[str], *, start: date, end: date, tz: str, pod_id: int | None = None,
            segment_id: int | None = None, stage_id: int | None = None) -> dict[str, Measure]:
    """Figures from the engine for the local days start..end in the scope; unknown codes are skipped."""
    wanted = [code for code in dict.fromkeys(codes) if code in metrics.METRICS]
    if not wanted:
        return {}
    scope = metrics.Scope(pod_id=pod_id, segment_id=segment_id, stage_id=stage_id)
    figures = metrics.compute(start, end, scope, wanted, tz=tz)
    return {code: Measure(_float(figure.value), _float(figure.numerator), _float(figure.denominator), start, end)
            for code, figure in figures.items()}


def measure(code: str, *, day: date, tz: str, pod_id: int, scope_kind: str | None = None,
            scope_id: int | None = None) -> Measure | None:
    """The metric over the four weeks before `day`, for the pod, narrowed to a segment or stage if asked."""
    start, end = window_before(day)
    segment_id = scope_id if scope_kind == "segment" else None
    stage_id = scope_id if scope_kind == "stage" else None
    return compute([code], start=start, end=end, tz=tz, pod_id=pod_id, segment_id=segment_id,
                   stage_id=stage_id).get(code)


def _float(value) -> float | None:
    return None if value is None else float(value)


def format_value(code: str | None, value: float | None) -> str:
    """A figure as people read it, by the metric's unit (the app-wide formatter)."""
    return format_metric(code, value)
