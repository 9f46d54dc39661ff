"""Where to start, the pilots list, a pilot's page, starting / widening / closing a pilot, request-type settings."""

from __future__ import annotations

from datetime import date, timedelta

from flask import abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required
from sqlalchemy import select

from app import permissions as P
from app.extensions import db
from app.forms import arg_date, parse_date
from app.org.models import LifecycleStage, Pod, Segment
from app.outcomes import metrics, opportunities
from app.outcomes import request_types as RT
from app.outcomes.labels import REQUEST_TYPE_LABELS
from app.outcomes.models import REQUEST_TYPES
from app.pilots import bp, services
from app.pilots import effects as E
from app.pilots.forms import CloseForm, PilotForm, SettingsForm, WidenForm, cell_value, parse_cells
from app.pilots.models import Pilot, PilotStatus
from app.timeutil import to_local, utcnow

DEFAULT_DAYS = 84
MAX_DAYS = 366

bp.add_app_template_global(PilotStatus.label_of, "pilot_status_label")


def _today() -> date:
    return to_local(utcnow(), metrics._org_timezone()).date()


def _period() -> tuple[date, date]:
    yesterday = _today() - timedelta(days=1)
    end = arg_date("to", yesterday)
    start = arg_date("from", end - timedelta(days=DEFAULT_DAYS - 1))
    if start > end or (end - start).days + 1 > MAX_DAYS:
        abort(400, description=_("Choose a period of at most %(n)s days, its start on or before its end.", n=MAX_DAYS))
    return start, end


def why(cell: opportunities.Opportunity) -> str:
    """The sentence that says why a cell is a candidate."""
    f = cell.figures
    return _("%(handoff)s of %(segment)s · %(stage)s cases changed hands and %(rework)s needed rework "
             "(%(count)s cases); %(resolved)s resolved; %(complaints)s complaints.",
             handoff=metrics.format_value("handoff_rate", f["handoff_rate"].value),
             segment=cell.segment, stage=cell.stage,
             rework=metrics.format_value("rework_rate", f["rework_rate"].value), count=cell.rework,
             resolved=cell.resolved,
             complaints=metrics.format_value("complaint_share", f["complaint_share"].value))


@bp.route("/pilots/where-to-start")
@login_required
def where_to_start():
    P.require("pilots.where_to_start")
    start, end = _period()
    ranking = opportunities.rank(start, end)
    drill = P.can(current_user, P.VIEW_ALL_PODS)

    def link(cell, code, part="all"):
        if not drill:
            return None
        return metrics.drilldown_url(code, metrics.Scope(segment_id=cell.segment_id, stage_id=cell.stage_id),
                                     start, end, part)

    return render_template("pilots/where_to_start.html", ranking=ranking, start=start, end=end, why=why, link=link,
                           codes=opportunities.CODES, definitions=metrics.METRICS, cell_value=cell_value,
                           may_start=P.can(current_user, "pilots.manage"), min_resolved=opportunities.MIN_RESOLVED)


@bp.route("/pilots")
@login_required
def index():
    P.require("pilots.where_to_start")
    return render_template("pilots/index.html", pilots=services.pilots_list(), definitions=metrics.METRICS,
                           may_start=P.can(current_user, "pilots.manage"))


def _cell_choices() -> list[tuple[str, str]]:
    segments = db.session.execute(select(Segment.id, Segment.name).where(Segment.active)
                                  .order_by(Segment.position, Segment.name)).all()
    stages = db.session.execute(select(LifecycleStage.id, LifecycleStage.name).where(LifecycleStage.active)
                                .order_by(LifecycleStage.position, LifecycleStage.name)).all()
    return [(cell_value(s, t), f"{segment} · {stage}") for s, segment in segments for t, stage in stages]


def _metric_choices() -> list[tuple[str, str]]:
    return [(code, str(metrics.METRICS[code].label)) for code in E.measurable_codes()]


@bp.route("/pilots/new", methods=["GET", "POST"])
@login_required
def new_pilot():
    P.require("pilots.manage")
    form = PilotForm()
    form.cells.choices = _cell_choices()
    form.metrics.choices = _metric_choices()
    pods = list(db.session.scalars(select(Pod).where(Pod.active).order_by(Pod.name)))
    if request.method == "GET":
        picked = parse_cells(request.args.getlist("cell"))
        form.cells.data = [cell_value(s, t) for s, t in picked]
        form.metrics.data = list(services.DEFAULT_METRICS)
        form.start_date.data = _today().isoformat()
        suggested = request.args.get("pod_id", "")
        form.pod_id.data = int(suggested) if suggested.isascii() and suggested.isdigit() and len(suggested) < 10 \
            else None
    if form.validate_on_submit():
        pilot = services.start_pilot(current_user, name=form.name.data, cells=parse_cells(form.cells.data),
                                     start=form.start, metric_codes=form.metrics.data or [],
                                     hypothesis=form.hypothesis.data, pod_id=form.pod_id.data,
                                     new_pod_name=form.new_pod_name.data or "")
        db.session.commit()
        flash(_("Pilot started."), "success")
        return redirect(url_for("pilots.show", pilot_id=pilot.id))
    status = 422 if request.method == "POST" else 200
    return render_template("pilots/new.html", form=form, pods=pods), status


def _chart(effect: E.Effect, start: date) -> dict | None:
    """Coordinates of the weekly P and C lines (an inline SVG, 0-100 % on the y axis scaled to the data)."""
    points = [(day, p, c) for day, p, c in effect.weekly]
    values = [v for _d, p, c in points for v in (p, c) if v is not None]
    if len(points) < 2 or not values:
        return None
    width, height, pad = 560, 200, 36
    top, bottom = max(values), min(values)
    span = (top - bottom) or max(top, 0.01)
    top, bottom = top + span * 0.1, max(0.0, bottom - span * 0.1)

    def x(i):
        return pad + i * (width - 2 * pad) / (len(points) - 1)

    def y(v):
        return height - pad + 0.0 - (v - bottom) / ((top - bottom) or 1) * (height - 2 * pad)

    def line(index):
        return " ".join(f"{x(i):.1f},{y(row[index]):.1f}" for i, row in enumerate(points) if row[index] is not None)

    start_index = next((i for i, (day, _p, _c) in enumerate(points) if day >= start), len(points) - 1)
    return {"width": width, "height": height, "pilot": line(1), "rest": line(2), "start_x": f"{x(start_index):.1f}",
            "top": top, "bottom": bottom, "top_y": f"{y(top):.1f}", "bottom_y": f"{y(bottom):.1f}", "pad": pad,
            "weeks": points}


@bp.route("/pilots/<int:pilot_id>")
@login_required
def show(pilot_id: int):
    pilot = services.load(pilot_id)
    if pilot is None:
        abort(404)
    P.require("pilots.view", pilot)
    results = services.measure_pilot(pilot)
    widen = WidenForm(formdata=None)
    widen.cells.choices = [choice for choice in _cell_choices()
                           if tuple(map(int, choice[0].split("-"))) not in set(services.all_cells(pilot))]
    widen.start_date.data = _today().isoformat()
    close = CloseForm(formdata=None)
    return render_template("pilots/pilot.html", pilot=pilot, results=results, definitions=metrics.METRICS,
                           chart=_chart, widen=widen, close=close, may_manage=P.can(current_user, "pilots.manage"),
                           min_days=E.MIN_DAYS, min_resolved=E.MIN_RESOLVED)


@bp.route("/pilots/<int:pilot_id>/widen", methods=["POST"])
@login_required
def widen(pilot_id: int):
    P.require("pilots.manage")
    pilot = services.load(pilot_id)
    if pilot is None:
        abort(404)
    form = WidenForm()
    if not form.validate_on_submit() or form.start is None:
        abort(422, description=_("Choose the cells and give the start date as YYYY-MM-DD."))
    services.widen_pilot(current_user, pilot, parse_cells(form.cells.data), form.start)
    db.session.commit()
    flash(_("The pilot is wider: a new phase starts."), "success")
    return redirect(url_for("pilots.show", pilot_id=pilot.id))


@bp.route("/pilots/<int:pilot_id>/close", methods=["POST"])
@login_required
def close(pilot_id: int):
    P.require("pilots.manage")
    pilot = db.get_or_404(Pilot, pilot_id)
    form = CloseForm()
    if not form.validate_on_submit():
        abort(422, description=_("Choose whether the pilot ends or is adopted."))
    on = parse_date(form.on.data) if form.on.data else None
    if form.on.data and on is None:
        abort(422, description=_("Give the date as YYYY-MM-DD."))
    services.close_pilot(current_user, pilot, form.outcome.data, on)
    db.session.commit()
    flash(_("Pilot adopted.") if form.outcome.data == "adopted" else _("Pilot ended."), "success")
    return redirect(url_for("pilots.show", pilot_id=pilot_id))


@bp.route("/pilots/settings", methods=["GET", "POST"])
@login_required
def settings():
    P.require("pilots.settings")
    form = SettingsForm()
    form.complaints.choices = [(code, str(REQUEST_TYPE_LABELS[code])) for code in REQUEST_TYPES]
    stages = list(db.session.scalars(select(LifecycleStage).order_by(LifecycleStage.position, LifecycleStage.name)))
    if form.validate_on_submit():
        chosen = set(form.complaints.data or []) & set(REQUEST_TYPES)
        expected = {stage.id: set(request.form.getlist(f"stage-{stage.id}")) & set(REQUEST_TYPES) for stage in stages}
        if not all(expected.values()):
            abort(422, description=_("Choose at least one expected request type for every stage."))
        RT.set_complaints(current_user, chosen)
        for stage_id, codes in expected.items():
            RT.set_expected(stage_id, codes)
        db.session.commit()
        flash(_("Request types saved."), "success")
        return redirect(url_for("pilots.settings"))
    if request.method == "POST":
        abort(422, description=_("The form could not be read; reload and try again."))
    form.complaints.data = RT.complaint_codes()
    return render_template("pilots/settings.html", form=form, stages=stages, expected=RT.expected_by_stage(),
                           request_types=REQUEST_TYPES, labels=REQUEST_TYPE_LABELS)
