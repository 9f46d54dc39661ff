"""Retro pages: the pod's retros and action register, the live retro board and its exports.

Every change to a retro is one `board_post`: load the retro the URL names (404) and check the viewer may see it
(403), validate the action's form (422 with the first problem), call the service (whose RetroError the app's
one error handler answers) and reply with the fresh board fragment for htmx or a redirect to the retro.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps

from flask import Response, abort, flash, make_response, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required
from flask_wtf import FlaskForm
from sqlalchemy import select
from sqlalchemy.orm import selectinload

from app.extensions import db
from app.forms import EmptyForm
from app.htmx import is_htmx
from app.org.models import LifecycleStage, Pod, Segment, User
from app.permissions import authorize, can, require
from app.retros import bp, effects, exports
from app.retros import services as retros
from app.retros.board import load_board, people_of
from app.retros.catalog import builtin_choices, column_title, template_title
from app.retros.forms import (
    ActionForm,
    CardForm,
    CardTextForm,
    CheckinForm,
    FacilitatorForm,
    GroupForm,
    MoveForm,
    NoteForm,
    PhaseForm,
    RetroForm,
    ReviewForm,
    TemplateForm,
    TimerForm,
    VoteForm,
)
from app.retros.models import (
    OPEN_STATUSES,
    Phase,
    Principle,
    Retro,
    RetroAction,
    RetroCard,
    RetroGroup,
    RetroTemplate,
    phase_label,
    principle_label,
    status_label,
)
from app.timeutil import utcnow

PRINCIPLES = [p.value for p in Principle]
PHASE_ORDER = [p.value for p in Phase]
WITH_POD = (selectinload(Retro.pod),)


@bp.app_context_processor
def retro_helpers():
    """Helpers for retro templates (and retro "My day" sections), all prefixed so no other template is shadowed."""
    return {"retro_principles": PRINCIPLES, "retro_phase_order": PHASE_ORDER,
            "retro_principle_label": principle_label, "retro_status_label": status_label,
            "retro_phase_label": phase_label, "retro_metric": effects.format_value,
            "retro_metric_name": effects.metric_name, "retro_template_title": template_title,
            "retro_column_title": column_title}


# --- the one pattern of a change ---------------------------------------------------------------------


def valid(form: FlaskForm) -> FlaskForm:
    """The form when it is valid; otherwise a 422 naming the first problem."""
    if not form.validate_on_submit():
        message = next((errors[0] for errors in form.errors.values() if errors), None)
        abort(422, description=str(message) if message else None)
    return form


def _board_response(retro: Retro) -> Response:
    """After a change: the fresh board for htmx, the page otherwise."""
    db.session.commit()
    if not is_htmx():
        return redirect(url_for("retros.retro_page", retro_id=retro.id))
    retro = db.session.scalar(select(Retro).options(*WITH_POD).where(Retro.id == retro.id))
    return make_response(render_template("retros/_board.html", board=load_board(retro, current_user)))


def _reload(retro: Retro) -> Response:
    """After a change the whole page shows (a new phase, a new facilitator): htmx reloads, others redirect."""
    db.session.commit()
    if is_htmx():
        response = make_response("", 204)
        response.headers["HX-Refresh"] = "true"
        return response
    return redirect(url_for("retros.retro_page", retro_id=retro.id))


def board_post(path: str, form_class: type[FlaskForm] = EmptyForm, *, reload: bool = False) -> Callable:
    """Register ``func(retro, form, **ids)`` as POST /retros/<retro_id><path>: it only calls a service."""

    def decorator(func: Callable) -> Callable:
        @bp.post(f"/retros/<int:retro_id>{path}", endpoint=func.__name__)
        @login_required
        @authorize(Retro, "retros.view", options=WITH_POD)
        @wraps(func)
        def view(retro: Retro, **ids) -> Response:
            func(retro, valid(form_class()), **ids)
            return _reload(retro) if reload else _board_response(retro)

        return view

    return decorator


def _member(retro: Retro, model, ident: int, message: str):
    """A card or group of this retro (404 with ``message`` when it is gone or belongs to another retro)."""
    obj = db.session.get(model, ident)
    if obj is None or obj.retro_id != retro.id:
        abort(404, description=message)
    return obj


def _card(retro: Retro, card_id: int) -> RetroCard:
    return _member(retro, RetroCard, card_id, _("This card no longer exists."))


def _person(user_id: int | None) -> User | None:
    return db.session.get(User, user_id) if user_id is not None else None


def _vote_target(form: VoteForm) -> dict:
    ref = retros.parse_ref(form.item.data, ("card", "group"))
    if ref is None:
        abort(422, description=_("Vote on one card or one group."))
    return {f"{ref[0]}_id": ref[1]}


def _scope(raw: str | None) -> tuple[str, int | None]:
    """"pod", "segment-<id>" or "stage-<id>"."""
    raw = (raw or "").strip() or "pod"
    if raw == "pod":
        return "pod", None
    ref = retros.parse_ref(raw, ("segment", "stage"))
    if ref is None:
        abort(422, description=_("Choose pod, segment or stage as the scope."))
    return ref


# --- pod pages --------------------------------------------------------------------------------------


@bp.route("/retros")
@login_required
def index():
    """The retros of the pods the user takes part in (every pod for leaders)."""
    query = select(Pod).where(Pod.active).order_by(Pod.name)
    pods = [p for p in db.session.scalars(query) if can(current_user, "retros.view", p)]
    ids = [p.id for p in pods]
    recent = {}
    if ids:
        for retro in db.session.scalars(select(Retro).where(Retro.pod_id.in_(ids))
                                        .order_by(Retro.created_at.desc())):
            recent.setdefault(retro.pod_id, [])
            if len(recent[retro.pod_id]) < 3:
                recent[retro.pod_id].append(retro)
    return render_template("retros/index.html", pods=pods, recent=recent)


@bp.route("/pods/<int:pod_id>/retros", methods=["GET", "POST"])
@login_required
@authorize(Pod, "retros.view")
def pod_retros(pod: Pod):
    if request.method == "POST":
        require("retros.run", pod)
        form = valid(RetroForm())
        retro = retros.create_retro(
            current_user, pod, title=form.title.data, template_key=form.template.data,
            facilitator=_person(form.facilitator_id.data), anonymous=form.anonymous.data,
            votes_per_person=form.votes_per_person.data, max_votes_per_item=form.max_votes_per_item.data,
            hide_votes=form.hide_votes.data, grouping=form.grouping.data or "everyone")
        db.session.commit()
        return redirect(url_for("retros.retro_page", retro_id=retro.id))
    retro_list = list(db.session.scalars(select(Retro).options(selectinload(Retro.facilitator))
                                         .where(Retro.pod_id == pod.id).order_by(Retro.created_at.desc())))
    templates = list(db.session.scalars(select(RetroTemplate).where(RetroTemplate.pod_id == pod.id)
                                        .order_by(RetroTemplate.name)))
    people = people_of(pod.id, utcnow().date())
    return render_template("retros/pod.html", pod=pod, retros=retro_list, templates=templates,
                           builtins=builtin_choices(), people=people, coach=can(current_user, "retros.run", pod),
                           suggested=retros.suggested_facilitator(pod, people),
                           open_retro=next((r for r in retro_list if not r.is_closed), None))


@bp.post("/pods/<int:pod_id>/retro-templates")
@login_required
@authorize(Pod, "retros.view")
def save_template(pod: Pod):
    form = valid(TemplateForm())
    retros.save_template(current_user, pod, name=form.name.data, columns_text=form.columns.data,
                         names={"es": form.name_es.data, "it": form.name_it.data},
                         columns_in={"es": form.columns_es.data, "it": form.columns_it.data})
    db.session.commit()
    flash(_("Template saved."), "success")
    return redirect(url_for("retros.pod_retros", pod_id=pod.id))


@bp.post("/pods/<int:pod_id>/retro-templates/<int:template_id>/delete")
@login_required
@authorize(Pod, "retros.view")
def delete_template(pod: Pod, template_id: int):
    valid(EmptyForm())
    template = db.get_or_404(RetroTemplate, template_id)
    if template.pod_id != pod.id:
        abort(404)
    retros.delete_template(current_user, template)
    db.session.commit()
    flash(_("Template deleted."), "success")
    return redirect(url_for("retros.pod_retros", pod_id=pod.id))


@bp.route("/pods/<int:pod_id>/actions")
@login_required
@authorize(Pod, "retros.view")
def action_register(pod: Pod):
    """Every action of the pod's retros: open, overdue and done, with the measured effect."""
    actions = list(db.session.scalars(
        select(RetroAction).options(selectinload(RetroAction.owner), selectinload(RetroAction.retro))
        .where(RetroAction.pod_id == pod.id).order_by(RetroAction.due_date, RetroAction.id)))
    today = retros.local_today(pod)
    open_ = [a for a in actions if a.status in OPEN_STATUSES and a.due_date >= today]
    overdue = [a for a in actions if a.status in OPEN_STATUSES and a.due_date < today]
    done = [a for a in actions if a.status == "done"]
    dropped = [a for a in actions if a.status == "dropped"]
    return render_template("retros/register.html", pod=pod, open_actions=open_, overdue=overdue, done=done,
                           dropped=dropped, today=today, scopes=_scope_names())


def _scope_names() -> dict[tuple[str, int], str]:
    names = {("segment", s.id): s.name for s in db.session.scalars(select(Segment))}
    names.update({("stage", s.id): s.name for s in db.session.scalars(select(LifecycleStage))})
    return names


# --- the retro --------------------------------------------------------------------------------------


@bp.route("/retros/<int:retro_id>")
@login_required
@authorize(Retro, "retros.view", options=WITH_POD)
def retro_page(retro: Retro):
    board = load_board(retro, current_user)
    response = make_response(render_template("retros/retro.html", board=board))
    response.headers["Vary"] = "HX-Request"
    return response


@bp.route("/retros/<int:retro_id>/board")
@login_required
def board(retro_id: int):
    """The live board: 204 while the caller's version is current; a full reload when the phase moved on."""
    row = db.session.execute(select(Retro.pod_id, Retro.version, Retro.phase).where(Retro.id == retro_id)).first()
    if row is None:
        abort(404)
    require("retros.view", row.pod_id)
    known_phase = request.args.get("phase")
    if known_phase and known_phase != row.phase:
        response = make_response("", 204)
        response.headers["HX-Refresh"] = "true"
        return response
    if request.args.get("v") == str(row.version):
        return Response(status=204)
    retro = db.session.scalar(select(Retro).options(*WITH_POD).where(Retro.id == retro_id))
    return render_template("retros/_board.html", board=load_board(retro, current_user))


@board_post("/advance", PhaseForm, reload=True)
def advance(retro, form):
    retros.advance_phase(current_user, retro, form.phase.data)


@board_post("/timer", TimerForm)
def timer(retro, form):
    retros.set_timer(current_user, retro, form.phase.data, form.minutes.data)


@board_post("/facilitator", FacilitatorForm, reload=True)
def facilitator(retro, form):
    person = _person(form.facilitator_id.data)
    if person is None:
        abort(422, description=_("Choose a member or coach of the pod."))
    retros.set_facilitator(current_user, retro, person)


@board_post("/checkin", CheckinForm)
def checkin(retro, form):
    retros.submit_checkin(current_user, retro, form.pulse.data)


@board_post("/review/<int:action_id>", ReviewForm)
def review(retro, form, action_id):
    retros.review_action(current_user, retro, db.get_or_404(RetroAction, action_id), form.status.data)


@board_post("/cards", CardForm)
def add_card(retro, form):
    retros.add_card(current_user, retro, column_key=form.column.data, text=form.text.data,
                    case_ref=form.case_ref.data, metric_code=form.metric.data)


@board_post("/cards/<int:card_id>/edit", CardTextForm)
def edit_card(retro, form, card_id):
    retros.edit_card(current_user, retro, _card(retro, card_id), text=form.text.data)


@board_post("/cards/<int:card_id>/delete")
def delete_card(retro, form, card_id):
    retros.delete_card(current_user, retro, _card(retro, card_id))


@board_post("/cards/<int:card_id>/move", MoveForm)
def move_card(retro, form, card_id):
    retros.move_card(current_user, retro, _card(retro, card_id), form.target.data)


@board_post("/groups", GroupForm)
def create_group(retro, form):
    retros.create_group(current_user, retro, title=form.title.data)


@board_post("/groups/<int:group_id>/rename", GroupForm)
def rename_group(retro, form, group_id):
    group = _member(retro, RetroGroup, group_id, _("This group no longer exists."))
    retros.rename_group(current_user, retro, group, title=form.title.data)


@board_post("/votes", VoteForm)
def vote(retro, form):
    retros.cast_vote(current_user, retro, **_vote_target(form))


@board_post("/votes/remove", VoteForm)
def unvote(retro, form):
    retros.remove_vote(current_user, retro, **_vote_target(form))


@board_post("/notes", NoteForm)
def add_note(retro, form):
    retros.add_note(current_user, retro, topic=form.topic.data, text=form.text.data)


@board_post("/actions", ActionForm)
def add_action(retro, form):
    scope_kind, scope_id = _scope(form.scope.data)
    retros.create_action(
        current_user, retro, title=form.title.data, owner=_person(form.owner_id.data), due_date=form.due_date.data,
        principle=form.principle.data, topic=form.topic.data or None, metric_code=form.metric.data or None,
        scope_kind=scope_kind, scope_id=scope_id, direction=form.direction.data or None)


# --- exports ----------------------------------------------------------------------------------------


def _closed(retro: Retro):
    """The board of a closed retro as exports show it (no list of people)."""
    if not retro.is_closed:
        abort(409, description=_("Exports are ready once the retro is closed."))
    return load_board(retro, current_user, with_people=False)


def _download(retro: Retro, body: str, extension: str, mimetype: str) -> Response:
    return Response(body, mimetype=mimetype, headers={
        "Content-Disposition": f'attachment; filename="retro-{retro.id}.{extension}"'})


@bp.route("/retros/<int:retro_id>/export.md")
@login_required
@authorize(Retro, "retros.view", options=WITH_POD)
def export_markdown(retro: Retro):
    return _download(retro, exports.markdown(_closed(retro)), "md", "text/markdown")


@bp.route("/retros/<int:retro_id>/export.csv")
@login_required
@authorize(Retro, "retros.view", options=WITH_POD)
def export_csv(retro: Retro):
    return _download(retro, exports.csv_text(_closed(retro)), "csv", "text/csv")


@bp.route("/retros/<int:retro_id>/summary")
@login_required
@authorize(Retro, "retros.view", options=WITH_POD)
def summary(retro: Retro):
    return render_template("retros/summary.html", board=_closed(retro), scopes=_scope_names())
