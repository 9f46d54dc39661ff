"""Review pages: the list, one review (figures, narrative, objectives, workflow), print, PDF, CSV, leader view."""

from __future__ import annotations

from flask import Response, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required
from flask_wtf import FlaskForm
from sqlalchemy import select
from sqlalchemy.orm import selectinload

from app.csvexport import csv_response
from app.extension_points import quarter_activity_of, quarter_parts
from app.extensions import db
from app.org.models import LifecycleStage, Pod, Segment
from app.outcomes import dashboard as D
from app.outcomes import metrics
from app.outcomes import targets as T
from app.permissions import VIEW_POD_OUTCOMES, authorize, can, require
from app.reviews import bp, exports
from app.reviews import services as svc
from app.reviews.forms import ConfidenceForm, KeyResultForm, NarrativeForm, ObjectiveForm, OpenReviewForm, ReopenForm
from app.reviews.models import SECTIONS, KeyResult, Objective, Review, ReviewStatus, Section
from app.timeutil import to_local, utcnow

SECTION_LABELS = Section.labels()
STATUS_LABELS = ReviewStatus.labels()

# The review page and its print view show each feature's part of the quarter as that feature words it.
bp.add_app_template_global(quarter_parts, "quarter_parts")


def _quarter(raw: str | None) -> tuple[int, int]:
    """(year, quarter) from "2026-Q4", ASCII digits only; anything else is refused (ReviewError)."""
    quarter = T.read_quarter(raw)
    if quarter is None:
        raise svc.ReviewError(_("Choose a quarter like 2026-Q4."))
    return quarter


def _submitted(form: FlaskForm) -> FlaskForm:
    """The posted form, valid; otherwise the first problem is refused as a ReviewError (400) by the one handler."""
    if not form.validate_on_submit():
        messages = [error for errors in form.errors.values() for error in errors]
        raise svc.ReviewError(messages[0] if messages else _("Some of what you entered is not valid."))
    return form


def _done(review: Review, message: str):
    db.session.commit()
    flash(message, "success")
    return redirect(url_for("reviews.show", review_id=review.id))


def _objectives(review: Review) -> list[Objective]:
    return list(db.session.scalars(
        select(Objective).where(Objective.review_id == review.id)
        .options(selectinload(Objective.key_results)).order_by(Objective.id)))


def _review_route(rule: str, **options):
    """A route about one review: signed in, the review loaded (404) and readable (403) before the view runs."""

    def decorator(view):
        return bp.route(rule, **options)(authorize(Review, "reviews.view")(view))

    return decorator


def _context(review: Review) -> dict:
    data = svc.content(review)
    objectives = _objectives(review)
    next_year, next_q = svc.next_quarter(review)
    return {
        "review": review, "data": data,
        "narrative": svc.narrative(review), "history": svc.history(review),
        "objectives": objectives, "next_quarter": svc.quarter_label(next_year, next_q),
        "sections": SECTIONS, "section_labels": SECTION_LABELS, "status_labels": STATUS_LABELS,
        "metrics": metrics.METRICS, "targetable": T.targetable_metrics(), "cases_of": _case_links(review),
    }


def _case_links(review: Review):
    """``link(code, column)``: the case list behind a scorecard figure (this quarter, the previous one, the same
    quarter last year), counted as the engine counted it; None for whoever may not see the pod's cases."""
    if not can(current_user, VIEW_POD_OUTCOMES, review.pod_id):
        return None
    quarters = {"value": (review.year, review.quarter), "previous": T.shift_quarter(review.year, review.quarter, -1),
                "last_year": T.shift_quarter(review.year, review.quarter, -4)}
    scope = metrics.Scope(pod_id=review.pod_id)

    def link(code: str, column: str) -> str | None:
        return metrics.drilldown_url(code, scope, *T.quarter_bounds(*quarters[column]))

    return link


@bp.route("/")
@login_required
def index():
    pods = svc.openable_pods(current_user)
    today = to_local(utcnow(), current_user.timezone or "UTC").date()
    return render_template("reviews/index.html", reviews=svc.visible_reviews(current_user), pods=pods,
                           status_labels=STATUS_LABELS, default_quarter=svc.quarter_label(*T.quarter_of(today)))


@bp.route("/open", methods=["POST"])
@login_required
def open_review():
    require("reviews.open")  # may open some pod's review at all; the service then asks about the pod chosen
    form = _submitted(OpenReviewForm())
    pod = db.session.get(Pod, form.pod_id.data)
    if pod is None:
        raise svc.ReviewError(_("Choose a pod from the list."))
    year, quarter = _quarter(form.quarter.data)
    review = svc.open_review(current_user, pod, year, quarter)
    db.session.commit()
    return redirect(url_for("reviews.show", review_id=review.id))


@_review_route("/<int:review_id>")
def show(review: Review):
    return render_template("reviews/review.html", **_context(review))


@_review_route("/<int:review_id>/narrative", methods=["POST"])
def save_narrative(review: Review):
    form = _submitted(NarrativeForm())
    svc.save_narrative(current_user, review, form.section.data, form.text.data or "")
    return _done(review, _("Saved."))


@_review_route("/<int:review_id>/objectives", methods=["POST"])
def add_objective(review: Review):
    form = _submitted(ObjectiveForm())
    svc.add_objective(current_user, review, form.title.data)
    return _done(review, _("Objective added."))


@_review_route("/<int:review_id>/objectives/<int:objective_id>/key-results", methods=["POST"])
def add_key_result(review: Review, objective_id: int):
    objective = db.session.get(Objective, objective_id)
    if objective is None or objective.review_id != review.id:
        abort(404)
    form = _submitted(KeyResultForm())
    confidence = 5 if form.confidence.data is None else form.confidence.data
    target = svc.parse_target(form.metric.data, form.target.data)
    svc.add_key_result(current_user, objective, form.metric.data, target, confidence)
    return _done(review, _("Key result added; it is now the pod's target for %(quarter)s.",
                           quarter=svc.quarter_label(*svc.next_quarter(review))))


@bp.route("/key-results/<int:kr_id>/confidence", methods=["POST"])
@login_required
def set_confidence(kr_id: int):
    kr = db.get_or_404(KeyResult, kr_id)
    review = kr.objective.review
    require("reviews.view", review)
    form = _submitted(ConfidenceForm())
    svc.set_confidence(current_user, kr, form.confidence.data)
    return _done(review, _("Confidence updated."))


@_review_route("/<int:review_id>/submit", methods=["POST"])
def submit(review: Review):
    svc.submit(current_user, review)
    return _done(review, _("Sent to a leader for sign-off."))


@_review_route("/<int:review_id>/sign-off", methods=["POST"])
def sign_off(review: Review):
    svc.sign_off(current_user, review)
    return _done(review, _("Signed off; the figures are frozen."))


@_review_route("/<int:review_id>/reopen", methods=["POST"])
def reopen(review: Review):
    require("reviews.reopen")  # leaders only, asked before the reason is read
    form = _submitted(ReopenForm())
    svc.reopen(current_user, review, form.reason.data)
    return _done(review, _("Reopened."))


@_review_route("/<int:review_id>/print")
def print_review(review: Review):
    return render_template("reviews/print.html", **_context(review))


def _filename(review: Review, extension: str) -> str:
    safe = "".join(c if c.isalnum() else "-" for c in review.pod.name).strip("-").lower() or "pod"
    return f"review-{safe}-{review.key}.{extension}"


@_review_route("/<int:review_id>/review.csv")
def review_csv(review: Review):
    return csv_response(exports.review_csv(svc.content(review)), _filename(review, "csv"))


@_review_route("/<int:review_id>/review.pdf")
def review_pdf(review: Review):
    context = _context(review)
    actuals = {row["code"]: None for row in context["data"]["scorecard"]}
    objectives = svc.scored_objectives(context["objectives"], actuals)
    narrative = {section: (edit.text if edit else "") for section, edit in context["narrative"].items()}
    body = exports.review_pdf(context["data"], narrative, {k: str(v) for k, v in SECTION_LABELS.items()},
                              str(STATUS_LABELS[review.status]), objectives)
    return Response(body, mimetype="application/pdf",
                    headers={"Content-Disposition": f'attachment; filename="{_filename(review, "pdf")}"'})


# --- leader view ----------------------------------------------------------------------------------------------

def _matrix_args():
    require("reviews.view_all")
    today = to_local(utcnow(), current_user.timezone or "UTC").date()
    raw = request.args.get("quarter")
    year, quarter = _quarter(raw) if raw else T.quarter_of(today)
    sort = request.args.get("sort") or "pod"
    if sort != "pod" and sort not in metrics.METRICS:
        abort(400, _("Unknown sort column."))
    descending = request.args.get("dir") == "desc"
    matrix = svc.leader_matrix(year, quarter)
    matrix["rows"] = svc.sort_rows(matrix["rows"], sort, descending)
    return year, quarter, sort, descending, matrix


def _coverage_heat(year: int, quarter: int):
    """The organisation's segment × stage matrix for the quarter, coloured by outcome (the outcomes heat map)."""
    cells = metrics.compute_by("cell", *T.quarter_bounds(year, quarter), codes=[D.HEAT_CODE])
    segments = list(db.session.scalars(select(Segment).order_by(Segment.position, Segment.name)))
    stages = list(db.session.scalars(select(LifecycleStage).order_by(LifecycleStage.position, LifecycleStage.name)))
    return D.heat_map(cells, segments, stages)


@bp.route("/all")
@login_required
def leader_view():
    year, quarter, sort, descending, matrix = _matrix_args()
    return render_template("reviews/leader.html", matrix=matrix, quarter=svc.quarter_label(year, quarter),
                           heat=_coverage_heat(year, quarter),
                           pilots=quarter_activity_of("pilots", None, *T.quarter_bounds(year, quarter)),
                           sort=sort, descending=descending, codes=list(svc.SCORE_CODES), metrics=metrics.METRICS,
                           status_labels=STATUS_LABELS,
                           previous_quarter=svc.quarter_label(*T.shift_quarter(year, quarter, -1)),
                           next_quarter=svc.quarter_label(*T.shift_quarter(year, quarter, 1)))


@bp.route("/all.csv")
@login_required
def leader_csv():
    year, quarter, _sort, _desc, matrix = _matrix_args()
    key = svc.quarter_label(year, quarter)
    return csv_response(exports.matrix_csv(key, matrix["rows"]), f"reviews-{key}.csv")


@bp.route("/all.pdf")
@login_required
def leader_pdf():
    year, quarter, _sort, _desc, matrix = _matrix_args()
    key = svc.quarter_label(year, quarter)
    return Response(exports.matrix_pdf(key, matrix["rows"], list(svc.SCORE_CODES)), mimetype="application/pdf",
                    headers={"Content-Disposition": f'attachment; filename="reviews-{key}.pdf"'})
