"""Recognition pages: the walls, giving recognition, reactions, suggestions, alignment, the allowance."""

from __future__ import annotations

from datetime import date, timedelta

from flask import abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required
from sqlalchemy import select

from app import permissions
from app.errors import refused_on
from app.extensions import db
from app.forms import arg_date, arg_int, parse_int
from app.htmx import is_htmx
from app.org.models import Pod, User
from app.org.principles import Principle
from app.outcomes import metrics
from app.permissions import authorize, can, require
from app.recognition import bp, evidence, insights, services
from app.recognition.access import current_member_ids, pods_related_to, today_for
from app.recognition.forms import ReactionForm, RecognitionForm, SettingsForm
from app.recognition.models import EvidenceKind, Recognition
from app.timeutil import utcnow

MAX_PAGE = 10_000


def _today(tz: str | None = None) -> date:
    return today_for(current_user, tz)


def _filters() -> tuple[str | None, str | None, int]:
    principle = request.args.get("principle") or None
    evidence_kind = request.args.get("evidence") or None
    if principle is not None and principle not in Principle.labels():
        abort(400, _("Unknown principle."))
    if evidence_kind is not None and evidence_kind not in EvidenceKind.labels():
        abort(400, _("Unknown kind of evidence."))
    return principle, evidence_kind, arg_int("page", 1, minimum=1, maximum=MAX_PAGE)


def _wall_context(pod: Pod | None):
    principle, evidence_kind, page = _filters()
    data = services.wall(current_user, on=_today(), pod_id=pod.id if pod else None, principle=principle,
                         evidence_kind=evidence_kind, page=page)
    my_pods = []
    if pod is None:
        related = pods_related_to(current_user, _today())
        my_pods = db.session.scalars(select(Pod).where(Pod.id.in_(related or {-1})).order_by(Pod.name)).all()
    return {
        "wall": data, "pod": pod, "principle": principle, "evidence": evidence_kind,
        "principles": Principle.labels(), "evidence_kinds": EvidenceKind.labels(),
        "reaction_labels": services.REACTION_LABELS, "metrics": metrics.METRICS,
        "points_left": services.points_left(current_user, utcnow()), "my_pods": my_pods,
    }


@bp.route("/")
@login_required
def org_wall():
    return render_template("recognition/wall.html", **_wall_context(None))


@bp.route("/pods/<int:pod_id>")
@authorize(Pod, permissions.VIEW_POD)
def pod_wall(pod: Pod):
    context = _wall_context(pod)
    context["suggestions"] = insights.suggestions(pod) if can(current_user, "recognition.suggest", pod) else []
    return render_template("recognition/wall.html", **context)


@bp.route("/<int:recognition_id>")
@authorize(Recognition, "recognition.view")
def detail(recognition: Recognition):
    data = services.wall(current_user, on=_today(), ids=[recognition.id])
    return render_template("recognition/detail.html", item=data.items[0],
                           principles=Principle.labels(), evidence_kinds=EvidenceKind.labels(),
                           reaction_labels=services.REACTION_LABELS, metrics=metrics.METRICS)


def _pod_from_args() -> Pod:
    """The pod named by ``?pod=``: one the person may recognise people of (member, coach, leader)."""
    pod_id = arg_int("pod", minimum=1)
    pod = db.session.get(Pod, pod_id) if pod_id is not None else None
    if pod is None or not pod.active:
        abort(404)
    require("recognition.give", pod)
    return pod


def _form_choices(form: RecognitionForm, pod: Pod) -> None:
    """Only what the person may cite: the pod's current members (not themselves), its done retro actions."""
    members = current_member_ids(pod.id, _today(pod.timezone)) - {current_user.id}
    people = db.session.scalars(select(User).where(User.id.in_(members or {-1}), User.active)
                                .order_by(User.display_name)).all()
    form.receivers.choices = [(p.id, p.display_name) for p in people]
    form.metric.choices = [("", "—")] + [(code, str(metrics.METRICS[code].label))
                                         for code in services.evidence_metric_codes()]
    form.action.choices = [("", "—")] + [
        (str(a.id), f"{a.title} ({a.owner.display_name if a.owner else _('no owner')})")
        for a in evidence.done_actions(pod.id)]


def _prefill(form: RecognitionForm, pod: Pod) -> None:
    """A suggestion (or a link) opens the form with receivers and evidence filled in: only people the person
    may recognise, only evidence offered by the form, and a suggested message only when the data supports it."""
    args = request.args
    receivers = {value for value, _label in form.receivers.choices}
    receiver = parse_int(args.get("to"), minimum=1)
    if receiver in receivers:
        form.receivers.data = [receiver]
    form.whole_pod.data = args.get("whole_pod") == "1"
    if args.get("principle") in Principle.labels():
        form.principle.data = args["principle"]
    if args.get("evidence") in EvidenceKind.labels():
        form.evidence.data = args["evidence"]
    form.case_ref.data = args.get("case", "")[:64]
    if args.get("metric") in services.evidence_metric_codes():
        form.metric.data = args["metric"]
    if args.get("subject") in ("agent", "pod"):
        form.subject.data = args["subject"]
    action_id = parse_int(args.get("action"), minimum=1)
    form.action.data = action_id if str(action_id) in {value for value, _label in form.action.choices} else None
    key = args.get("suggestion", "")[:80]
    suggestion = insights.suggestion_by_key(pod, key) if key else None
    if suggestion is None:
        return
    if suggestion.receiver is not None and suggestion.receiver.id not in receivers:
        return  # about someone this person may not recognise (themselves, or nobody of theirs)
    form.suggestion.data = key
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


def _draft(form: RecognitionForm, pod: Pod) -> services.Draft:
    return services.Draft(
        pod_id=pod.id, receiver_ids=list(form.receivers.data or []), whole_pod=form.whole_pod.data,
        message=form.message.data, principle=form.principle.data,
        evidence=services.EvidenceInput(kind=form.evidence.data, case_ref=form.case_ref.data or "",
                                        metric_code=form.metric.data or "", metric_subject=form.subject.data,
                                        action_id=form.action.data),
        points=form.points.data or 0, visibility=form.visibility.data,
        suggestion_key=form.suggestion.data or None,
    )


def _new_page(pod: Pod, form: RecognitionForm, status: int):
    return render_template("recognition/new.html", form=form, pod=pod,
                           points_left=services.points_left(current_user, utcnow())), status


def _refused_page(errors: list[str]):
    """A recognition the rules refused: the form again with what the person typed, and why (422)."""
    for message in errors:
        flash(message, "error")
    pod = _pod_from_args()
    form = RecognitionForm()
    _form_choices(form, pod)
    return _new_page(pod, form, 422)


@bp.route("/new", methods=["GET", "POST"])
@login_required
@refused_on(_refused_page)
def new():
    pod = _pod_from_args()
    form = RecognitionForm()
    _form_choices(form, pod)
    if request.method == "GET":
        _prefill(form, pod)
    elif form.validate_on_submit():
        recognition = services.give(current_user, _draft(form, pod))
        db.session.commit()
        flash(_("Recognition shared."), "success")
        return redirect(url_for("recognition.pod_wall", pod_id=recognition.pod_id))
    return _new_page(pod, form, 422 if request.method == "POST" else 200)


@bp.route("/<int:recognition_id>/react", methods=["POST"])
@authorize(Recognition, "recognition.view")
def react(recognition: Recognition):
    form = ReactionForm()
    if not form.validate_on_submit():
        abort(400, _("Unknown reaction."))
    services.toggle_reaction(current_user, recognition, form.kind.data)
    db.session.commit()
    if is_htmx():
        item = services.wall(current_user, on=_today(), ids=[recognition.id]).items[0]
        return render_template("recognition/_reactions.html", item=item, reaction_labels=services.REACTION_LABELS)
    return redirect(request.referrer if request.referrer and request.referrer.startswith(request.host_url)
                    else url_for("recognition.detail", recognition_id=recognition.id))


def _period() -> tuple[date, date]:
    today = _today()
    start = arg_date("from", today - timedelta(days=90))
    end = arg_date("to", today - timedelta(days=1))
    if start > end:
        abort(400, _("The period must start before it ends."))
    if (end - start).days > 366:
        abort(400, _("Choose a period of at most one year."))
    return start, end


@bp.route("/pods/<int:pod_id>/alignment")
@authorize(Pod, "recognition.coach")
def alignment(pod: Pod):
    start, end = _period()
    return render_template("recognition/alignment.html", pod=pod, data=insights.alignment(pod, start, end),
                           principles=Principle.labels(), evidence_kinds=EvidenceKind.labels())


@bp.route("/settings", methods=["GET", "POST"])
@login_required
def settings():
    require(permissions.MANAGE_ORG)
    row = services.settings()
    form = SettingsForm(obj=row)
    if form.validate_on_submit():
        services.save_settings(current_user, monthly_allowance=form.monthly_allowance.data)
        db.session.commit()
        flash(_("Recognition settings saved."), "success")
        return redirect(url_for("recognition.settings"))
    db.session.commit()
    return render_template("recognition/settings.html", form=form), 422 if request.method == "POST" else 200
