"""Recognition pages: the walls, giving recognition, reactions, suggestions, alignment, the allowance."""

from __future__ import annotations

from datetime import date, timedelta

from flask import abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required
from sqlalchemy import select

from app import permissions
from app.extensions import db
from app.htmx import is_htmx
from app.org.models import Pod, User
from app.outcomes import metrics
from app.recognition import bp, insights, services
from app.recognition.forms import RecognitionForm, SettingsForm
from app.recognition.models import REACTIONS, EvidenceKind, Recognition
from app.retros.models import ActionStatus, RetroAction
from app.timeutil import to_local, utcnow


def _today(tz: str | None = None) -> date:
    return to_local(utcnow(), tz or current_user.timezone or "UTC").date()


def _filters() -> tuple[str | None, str | None, int]:
    principle = request.args.get("principle") or None
    evidence = request.args.get("evidence") or None
    if principle is not None and principle not in services.PRINCIPLE_LABELS:
        abort(400, _("Unknown principle."))
    if evidence is not None and evidence not in services.EVIDENCE_LABELS:
        abort(400, _("Unknown kind of evidence."))
    page = request.args.get("page", "1")
    if not page.isdigit() or not 1 <= int(page) <= 10_000:
        abort(400, _("Unknown page."))
    return principle, evidence, int(page)


def _wall_context(pod: Pod | None):
    principle, evidence, page = _filters()
    data = services.wall(current_user, on=_today(), pod_id=pod.id if pod else None, principle=principle,
                         evidence_kind=evidence, page=page)
    return {
        "wall": data, "pod": pod, "principle": principle, "evidence": evidence,
        "principles": services.PRINCIPLE_LABELS, "evidence_kinds": services.EVIDENCE_LABELS,
        "reaction_labels": services.REACTION_LABELS, "metrics": metrics.METRICS,
        "points_left": services.points_left(current_user, utcnow()),
        "my_pods": (db.session.scalars(select(Pod).where(Pod.id.in_(services.pods_related_to(current_user, _today())
                                                                    or {-1})).order_by(Pod.name)).all()
                    if pod is None else []),
    }


@bp.route("/")
@login_required
def org_wall():
    return render_template("recognition/wall.html", **_wall_context(None))


@bp.route("/pods/<int:pod_id>")
@login_required
def pod_wall(pod_id: int):
    pod = db.get_or_404(Pod, pod_id)
    permissions.require(permissions.VIEW_POD, pod)
    context = _wall_context(pod)
    related = pod.id in services.pods_related_to(current_user, _today(pod.timezone))
    context["suggestions"] = (insights.suggestions(pod) if related or current_user.has_role(permissions.Role.LEADER)
                              else [])
    context["may_coach"] = services.may_coach(current_user, pod.id)
    return render_template("recognition/wall.html", **context)


@bp.route("/<int:recognition_id>")
@login_required
def detail(recognition_id: int):
    recognition = db.get_or_404(Recognition, recognition_id)
    if not services.may_see(current_user, recognition, _today()):
        abort(403)
    data = services.wall(current_user, on=_today(), ids=[recognition.id])
    return render_template("recognition/detail.html", item=data.items[0],
                           principles=services.PRINCIPLE_LABELS, evidence_kinds=services.EVIDENCE_LABELS,
                           reaction_labels=services.REACTION_LABELS, metrics=metrics.METRICS)


def _pod_from_args() -> Pod:
    raw = request.values.get("pod", "")
    if not raw.isdigit():
        abort(404)
    pod = db.get_or_404(Pod, int(raw))
    if not pod.active:
        abort(404)
    permissions.require(permissions.VIEW_POD, pod)
    return pod


def _form_choices(form: RecognitionForm, pod: Pod) -> None:
    today = _today(pod.timezone)
    members = services.current_member_ids(pod.id, today) - {current_user.id}
    people = db.session.scalars(select(User).where(User.id.in_(members or {-1}), User.active)
                                .order_by(User.display_name)).all()
    form.receivers.choices = [(p.id, p.display_name) for p in people]
    form.metric.choices = [("", "—")] + [(code, str(metrics.METRICS[code].label))
                                         for code in services.evidence_metric_codes()]
    actions = db.session.execute(
        select(RetroAction.id, RetroAction.title, User.display_name)
        .outerjoin(User, User.id == RetroAction.owner_id)
        .where(RetroAction.pod_id == pod.id, RetroAction.status == ActionStatus.DONE.value)
        .order_by(RetroAction.id.desc()).limit(50)
    ).all()
    form.action.choices = [("", "—")] + [(str(a.id), f"{a.title} ({a.display_name or _('no owner')})")
                                         for a in actions]


def _prefill(form: RecognitionForm, pod: Pod) -> None:
    """A suggestion (or a link) opens the form with receivers and evidence filled in."""
    args = request.args
    if args.get("to", "").isdigit():
        form.receivers.data = [int(args["to"])]
    form.whole_pod.data = args.get("whole_pod") == "1"
    if args.get("principle") in services.PRINCIPLE_LABELS:
        form.principle.data = args["principle"]
    if args.get("evidence") in services.EVIDENCE_LABELS:
        form.evidence.data = args["evidence"]
    form.case_ref.data = args.get("case", "")[:64]
    form.metric.data = args.get("metric", "")
    if args.get("subject") in ("agent", "pod"):
        form.subject.data = args["subject"]
    form.action.data = int(args["action"]) if args.get("action", "").isdigit() else None
    form.suggestion.data = args.get("suggestion", "")[:80]
    key = form.suggestion.data
    if key and not form.message.data:
        suggestion = insights.suggestion_by_key(pod, key)
        if suggestion is not None:
            form.message.data = _suggested_message(suggestion)


def _suggested_message(suggestion: insights.Suggestion) -> str:
    name = suggestion.receiver.display_name.split()[0] if suggestion.receiver else _("team")
    if suggestion.kind == EvidenceKind.CASE.value:
        return _("Thank you, %(name)s: you solved case %(case)s at the first contact and the customer gave it top marks.",
                 name=name, case=suggestion.case.external_id)
    if suggestion.kind == EvidenceKind.METRIC.value:
        return _("Great progress, %(name)s: your %(metric)s improved clearly over the last month.",
                 name=name, metric=metrics.METRICS[suggestion.metric_code].label)
    return _("Thank you, %(name)s: the action \"%(action)s\" did what we hoped for our customers.",
             name=name, action=suggestion.action.title)


@bp.route("/new", methods=["GET", "POST"])
@login_required
def new():
    pod = _pod_from_args()
    form = RecognitionForm()
    _form_choices(form, pod)
    if request.method == "GET":
        _prefill(form, pod)
    elif form.validate_on_submit():
        draft = services.Draft(
            pod_id=pod.id, receiver_ids=list(form.receivers.data or []), whole_pod=form.whole_pod.data,
            message=form.message.data, principle=form.principle.data,
            evidence=services.EvidenceInput(kind=form.evidence.data, case_ref=form.case_ref.data or "",
                                            metric_code=form.metric.data or "", metric_subject=form.subject.data,
                                            action_id=form.action.data),
            points=form.points.data or 0, visibility=form.visibility.data,
            suggestion_key=form.suggestion.data or None,
        )
        try:
            recognition = services.give(current_user, draft)
        except services.RecognitionError as error:
            db.session.rollback()
            flash(str(error), "error")
        else:
            db.session.commit()
            flash(_("Recognition shared."), "success")
            return redirect(url_for("recognition.pod_wall", pod_id=recognition.pod_id))
    status = 422 if request.method == "POST" else 200
    return render_template("recognition/new.html", form=form, pod=pod,
                           points_left=services.points_left(current_user, utcnow())), status


@bp.route("/<int:recognition_id>/react", methods=["POST"])
@login_required
def react(recognition_id: int):
    recognition = db.get_or_404(Recognition, recognition_id)
    if not services.may_see(current_user, recognition, _today()):
        abort(403)
    kind = request.form.get("kind", "")
    if kind not in REACTIONS:
        abort(400, _("Unknown reaction."))
    services.toggle_reaction(current_user, recognition, kind)
    db.session.commit()
    if is_htmx():
        item = services.wall(current_user, on=_today(), ids=[recognition.id]).items[0]
        return render_template("recognition/_reactions.html", item=item, reaction_labels=services.REACTION_LABELS)
    return redirect(request.referrer if request.referrer and request.referrer.startswith(request.host_url)
                    else url_for("recognition.detail", recognition_id=recognition.id))


def _period() -> tuple[date, date]:
    today = _today()
    default_start, default_end = today - timedelta(days=90), today - timedelta(days=1)
    try:
        start = date.fromisoformat(request.args["from"]) if request.args.get("from") else default_start
        end = date.fromisoformat(request.args["to"]) if request.args.get("to") else default_end
    except ValueError:
        abort(400, _("Dates must be written as YYYY-MM-DD."))
    if start > end:
        abort(400, _("The period must start before it ends."))
    if (end - start).days > 366:
        abort(400, _("Choose a period of at most one year."))
    return start, end


@bp.route("/pods/<int:pod_id>/alignment")
@login_required
def alignment(pod_id: int):
    pod = db.get_or_404(Pod, pod_id)
    if not services.may_coach(current_user, pod.id):
        abort(403)
    start, end = _period()
    return render_template("recognition/alignment.html", pod=pod, data=insights.alignment(pod, start, end),
                           principles=services.PRINCIPLE_LABELS, evidence_kinds=services.EVIDENCE_LABELS)


@bp.route("/settings", methods=["GET", "POST"])
@login_required
def settings():
    permissions.require(permissions.MANAGE_ORG)
    row = services.settings()
    form = SettingsForm(obj=row)
    if form.validate_on_submit():
        services.save_settings(current_user, monthly_allowance=form.monthly_allowance.data)
        db.session.commit()
        flash(_("Recognition settings saved."), "success")
        return redirect(url_for("recognition.settings"))
    db.session.commit()
    return render_template("recognition/settings.html", form=form), 422 if request.method == "POST" else 200
