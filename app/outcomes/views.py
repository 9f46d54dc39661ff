"""Outcome dashboards for the organisation, a pod and an agent, and the pod targets page."""

from __future__ import annotations

from dataclasses import replace
from datetime import date, timedelta
from decimal import Decimal

from flask import abort, flash, make_response, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user, login_required
from sqlalchemy import select

from app import permissions as P
from app.csvexport import csv_response
from app.errors import refused_on
from app.extension_points import home_section, nav_item
from app.extensions import db
from app.forms import parse_date
from app.org import services as org
from app.org.models import Coverage, LifecycleStage, Pod, Segment, User
from app.outcomes import bp, demo_targets, metrics  # noqa: F401  (demo_targets registers its demo step)
from app.outcomes import case_list as CL
from app.outcomes import dashboard as D
from app.outcomes import targets as T
from app.outcomes.target_forms import targets_form
from app.timeutil import to_local, utcnow


@bp.record_once
def case_label_helpers(state) -> None:
    """Request types, channels and priorities by their labels in the reader's language, on every page (Jinja
    globals: see app/templating.py)."""
    state.app.jinja_env.globals.update(
        request_type_label=lambda code: D.case_label(D.REQUEST_TYPE_LABELS, code),
        channel_label=lambda code: D.case_label(D.CHANNEL_LABELS, code),
        priority_label=lambda code: D.case_label(D.PRIORITY_LABELS, code),
    )


nav_item(20, "outcomes.index", _l("Outcomes"), active_prefix="outcomes.")



def _local_today(tz: str) -> date:
    return to_local(utcnow(), tz).date()


def _org_timezone() -> str:
    return org.get_organisation().timezone


def _read_period(today: date) -> tuple[D.Period, str | None]:
    try:
        return D.parse_period(request.args, today), None
    except D.PeriodError as exc:
        return D.default_period(today), str(exc)


def _ordered(model) -> list:
    return list(db.session.scalars(select(model).order_by(model.position, model.name)))


def _figures(period: D.Period, scope, covered=()) -> dict:
    """Everything every dashboard shows, from the engine: a fixed number of queries whatever the data."""
    definitions = metrics.METRICS
    comparisons = metrics.compare(period.start, period.end, scope)
    trend_start, trend_end = D.trend_window(period)
    points = metrics.series(trend_start, trend_end, period.grain, scope)
    cells = metrics.compute_by("cell", period.start, period.end, scope, codes=[D.HEAT_CODE])
    channels = metrics.compute_by("channel", period.start, period.end, scope, codes=D.BREAKDOWN_CODES)
    request_types = metrics.compute_by("request_type", period.start, period.end, scope, codes=D.BREAKDOWN_CODES)
    base = scope or metrics.Scope()

    def link(code: str, part: str = "all", **narrower) -> str | None:
        return metrics.drilldown_url(code, replace(base, **narrower), period.start, period.end, part)

    def cell_link(segment_id, stage_id, part):
        return link(D.HEAT_CODE, part, segment_id=segment_id, stage_id=stage_id)

    return {
        "scorecard": D.scorecard(comparisons, definitions, link=link),
        "charts": D.chart_specs(points, period.grain, definitions, last_day=trend_end),
        "heat": D.heat_map(cells, _ordered(Segment), _ordered(LifecycleStage), covered, link=cell_link),
        "channels": D.figure_table(channels, D.CHANNEL_LABELS, D.BREAKDOWN_CODES, sort_by="volume",
                                   link=lambda key, code: link(code, channel=key)),
        "request_types": D.figure_table(request_types, D.REQUEST_TYPE_LABELS, D.BREAKDOWN_CODES, sort_by="volume",
                                        link=lambda key, code: link(code, request_type=key)),
        "breakdown_codes": [(code, definitions[code]) for code in D.BREAKDOWN_CODES],
        "people_codes": [(code, definitions[code]) for code in D.PEOPLE_CODES],
        "trend_window": (trend_start, trend_end),
    }


def _render(period: D.Period, error: str | None, **context):
    response = make_response(render_template(
        "outcomes/dashboard.html",
        period=period, period_error=error, picked=request.args, period_choices=D.PERIOD_CHOICES,
        grain_choices=D.GRAIN_CHOICES, **context,
    ))
    if error:
        response.status_code = 400
    return response


@bp.route("/outcomes")
@login_required
def index():
    """Where "Outcomes" in the navigation leads: leaders to the organisation, others to their pod or own figures."""
    if P.can(current_user, P.VIEW_ALL_PODS):
        return redirect(url_for("outcomes.org_dashboard"))
    pods = org.pods_of_user(current_user, utcnow().date())
    if pods:
        return redirect(url_for("outcomes.pod_dashboard", pod_id=pods[0].id))
    return redirect(url_for("outcomes.agent_dashboard", user_id=current_user.id))


@bp.route("/outcomes/org")
@login_required
def org_dashboard():
    P.require(P.VIEW_ALL_PODS)
    period, error = _read_period(_local_today(_org_timezone()))
    figures = _figures(period, None)
    by_pod = metrics.compute_by("pod", period.start, period.end, None, codes=D.PEOPLE_CODES)
    pods = list(db.session.scalars(select(Pod).order_by(Pod.active.desc(), Pod.name)))
    shown = [p for p in pods if p.active or p.id in by_pod]
    pod_rows = D.figure_table(
        by_pod, {p.id: p.name for p in pods}, D.PEOPLE_CODES, keys=[p.id for p in shown], unknown=_l("No pod"),
        urls={p.id: url_for("outcomes.pod_dashboard", pod_id=p.id, **period.query()) for p in shown},
        link=lambda key, code: metrics.drilldown_url(code, metrics.Scope(pod_id=key), period.start, period.end),
    )
    return _render(period, error, kind="org", title=_("Organisation"), pod_rows=pod_rows, **figures)


def _people_rows(pod: Pod, period: D.Period, today: date) -> list[D.TableRow]:
    by_agent = metrics.compute_by("agent", period.start, period.end, metrics.Scope(pod_id=pod.id),
                                  codes=D.PEOPLE_CODES)
    members = org.current_members_by_pod([pod.id], today)[pod.id]
    names = {m.user_id: m.user.display_name for m in members}
    others = [key for key in by_agent if key is not None and key not in names]
    names.update({user_id: name for user_id, name in
                  db.session.execute(select(User.id, User.display_name).where(User.id.in_(others)))})
    urls = {user_id: url_for("outcomes.agent_dashboard", user_id=user_id, **period.query()) for user_id in names}
    return D.figure_table(by_agent, names, D.PEOPLE_CODES, keys=[m.user_id for m in members],
                          unknown=_l("Unassigned"), urls=urls,
                          link=lambda key, code: metrics.drilldown_url(
                              code, metrics.Scope(pod_id=pod.id, agent_id=key), period.start, period.end))


@bp.route("/outcomes/pods/<int:pod_id>")
@login_required
def pod_dashboard(pod_id: int):
    pod = db.get_or_404(Pod, pod_id)
    P.require(P.VIEW_POD_OUTCOMES, pod)
    today = _local_today(pod.timezone)
    period, error = _read_period(today)
    covered = [(segment_id, stage_id) for segment_id, stage_id in db.session.execute(
        select(Coverage.segment_id, Coverage.stage_id).where(Coverage.pod_id == pod.id, Coverage.valid_to.is_(None))
    )]
    figures = _figures(period, metrics.Scope(pod_id=pod.id), covered=covered)
    coaching = T.may_set_targets(current_user, pod)
    people = _people_rows(pod, period, today) if coaching else None
    return _render(period, error, kind="pod", title=pod.name, pod=pod, people=people, may_set_targets=coaching,
                   **figures)


@bp.route("/outcomes/agents/<int:user_id>")
@login_required
def agent_dashboard(user_id: int):
    agent = db.get_or_404(User, user_id)
    P.require(P.VIEW_AGENT_OUTCOMES, agent.id)
    period, error = _read_period(_local_today(_org_timezone()))
    figures = _figures(period, metrics.Scope(agent_id=agent.id))
    pods = org.pods_of_user(agent, utcnow().date())
    return _render(period, error, kind="agent", title=agent.display_name, agent=agent, agent_pods=pods, **figures)


# --- targets --------------------------------------------------------------------------------------


def _quarter_choices(current: tuple[int, int]) -> list[tuple[str, str]]:
    return [(T.quarter_key(*q), _("Q%(q)d %(year)d", q=q[1], year=q[0]))
            for q in (T.shift_quarter(*current, step) for step in range(-3, 3))]


@bp.route("/outcomes/pods/<int:pod_id>/targets", methods=["GET", "POST"])
@login_required
def pod_targets(pod_id: int):
    pod = db.get_or_404(Pod, pod_id)
    if not T.may_set_targets(current_user, pod):
        abort(403)
    current = T.quarter_of(_local_today(pod.timezone))
    asked = request.args.get("quarter")
    chosen = T.read_quarter(asked) if asked else current
    if chosen is None:
        flash(str(T.TARGET_ERRORS["quarter"]), "error")
        return redirect(url_for("outcomes.pod_targets", pod_id=pod.id)), 303 if request.method == "POST" else 302
    year, quarter = chosen
    definitions = T.targetable_metrics()
    saved = T.targets_for([pod.id], year, quarter)[pod.id]
    form = targets_form(definitions)
    if request.method == "GET":
        for definition in definitions:
            value = saved.get(definition.code)
            if value is not None:
                shown = value * 100 if definition.unit == "rate" else value
                form[definition.code].data = Decimal(f"{shown:.2f}".rstrip("0").rstrip("."))
    elif form.validate_on_submit():  # the form bounds every value, so the service refuses only a race (422)
        T.set_pod_targets(current_user, pod, year, quarter, form.target_values(definitions))
        db.session.commit()
        flash(_("Targets for %(pod)s in %(quarter)s saved.", pod=pod.name,
                quarter=_("Q%(q)d %(year)d", q=quarter, year=year)), "success")
        return redirect(url_for("outcomes.pod_targets", pod_id=pod.id, quarter=T.quarter_key(year, quarter)))
    previous = T.shift_quarter(year, quarter, -1)
    last_quarter = metrics.compute(*T.quarter_bounds(*previous), metrics.Scope(pod_id=pod.id),
                                   codes=[d.code for d in definitions])
    status = 400 if request.method == "POST" else 200
    return render_template(
        "outcomes/targets.html", pod=pod, form=form, definitions=definitions, year=year, quarter=quarter,
        quarter_choices=_quarter_choices(current), selected=T.quarter_key(year, quarter),
        previous=previous, last_quarter=last_quarter,
    ), status


# --- "My day" -------------------------------------------------------------------------------------


@home_section(20, "outcomes/_home.html")
def home_outcomes(user: User, today: date) -> dict | None:
    """The user's pods' headline figures for the last 7 days against the 7 before."""
    start, end = D.last_days(today, 7)
    before = (start - timedelta(days=7), start - timedelta(days=1))
    pods = org.pods_of_user(user, today)
    definitions = metrics.METRICS
    rows = []
    if pods:
        current = metrics.compute_by("pod", start, end, None, codes=D.HOME_CODES)
        previous = metrics.compute_by("pod", *before, None, codes=D.HOME_CODES)
        for pod in pods:
            rows.append({"title": pod.name, "url": url_for("outcomes.pod_dashboard", pod_id=pod.id, period="7d"),
                         "figures": D.headlines(current.get(pod.id, {}), previous.get(pod.id, {}), definitions)})
    elif P.can(user, P.VIEW_ALL_PODS):
        current = metrics.compute(start, end, None, codes=D.HOME_CODES)
        previous = metrics.compute(*before, None, codes=D.HOME_CODES)
        rows.append({"title": _("Organisation"), "url": url_for("outcomes.org_dashboard", period="7d"),
                     "figures": D.headlines(current, previous, definitions)})
    else:
        return None
    return {"rows": rows, "start": start, "end": end}


# --- drill-down: the cases behind a figure ------------------------------------------------------

def _bad_list(reason: str):
    raise CL.ListError(reason)  # shown on the case list's own error page (refused_on below)


def _int_arg(name: str) -> int | None:
    raw = (request.args.get(name) or "").strip()
    if not raw:
        return None
    if not raw.isdigit() or len(raw) > 12:
        _bad_list("scope")
    return int(raw)


def _list_request() -> CL.Request:
    code, part = request.args.get("metric", ""), request.args.get("part", "all")
    if not metrics.drillable(code, part):
        _bad_list("metric")
    start, end = parse_date(request.args.get("start")), parse_date(request.args.get("end"))
    if start is None or end is None or end < start or start < D.EARLIEST or (end - start).days > D.MAX_RANGE_DAYS:
        _bad_list("period")
    scope = metrics.Scope(
        pod_id=_int_arg("pod_id"), agent_id=_int_arg("agent_id"), segment_id=_int_arg("segment_id"),
        stage_id=_int_arg("stage_id"), channel=(request.args.get("channel") or None),
        request_type=(request.args.get("request_type") or None),
    )
    sort = request.args.get("sort") or CL.DEFAULT_SORT
    if sort not in CL.SORTS:
        _bad_list("sort")
    return CL.Request(code, part, scope, start, end, sort, request.args.get("dir", "desc") != "asc",
                      unexpected=request.args.get("unexpected") == "1")


def may_view_cases(user: User, scope: metrics.Scope) -> bool:
    """The figure's own rule: a pod's cases to whoever may see the pod's outcomes, a person's to whoever may see
    their figures, anything wider (the organisation, a segment, a channel) to leaders."""
    if scope.pod_id is None and scope.agent_id is None:
        return P.can(user, P.VIEW_ALL_PODS)
    if scope.pod_id is not None and not P.can(user, P.VIEW_POD_OUTCOMES, scope.pod_id):
        return False
    return scope.agent_id is None or P.can(user, P.VIEW_AGENT_OUTCOMES, scope.agent_id)


@bp.route("/outcomes/cases")
@login_required
@refused_on(lambda errors: render_template("outcomes/case_list_error.html", message=errors[0]))
def case_list():
    wanted = _list_request()
    if wanted.scope.pod_id is not None:
        db.get_or_404(Pod, wanted.scope.pod_id)
    if not may_view_cases(current_user, wanted.scope):
        abort(403)
    if request.args.get("format") == "csv":
        name = f"cases-{wanted.code}-{wanted.part}-{wanted.start.isoformat()}-{wanted.end.isoformat()}.csv"
        return csv_response(CL.export(wanted), name)
    rows, following = CL.page(wanted, request.args.get("after") or None)
    args = {k: v for k, v in request.args.items() if k not in ("after", "format")}
    definition = metrics.METRICS[wanted.code]
    return render_template(
        "outcomes/case_list.html", wanted=wanted, rows=rows, total=CL.count(wanted), definition=definition,
        next_url=url_for("outcomes.case_list", **args, after=following) if following else None,
        first_url=url_for("outcomes.case_list", **args) if request.args.get("after") else None,
        csv_url=url_for("outcomes.case_list", **args, format="csv"),
        sort_urls={key: url_for("outcomes.case_list", **{**args, "sort": key,
                                                        "dir": "asc" if wanted.sort == key and wanted.descending
                                                        else "desc"}) for key in CL.SORTS},
        part_label=PART_LABELS[wanted.part], channel_labels=D.CHANNEL_LABELS,
        request_type_labels=D.REQUEST_TYPE_LABELS,
    )


PART_LABELS = {"all": _l("all the cases counted"), "hit": _l("the cases that count for it"),
               "miss": _l("the cases that count against it")}
