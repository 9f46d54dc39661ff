"""Retro pages: the pod's retros and action register, the live retro board and its exports."""

from __future__ import annotations

from datetime import date

from flask import Response, abort, flash, make_response, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required
from sqlalchemy import select
from sqlalchemy.orm import selectinload

from app.extensions import db
from app.htmx import is_htmx
from app.org.models import LifecycleStage, Pod, Segment, User
from app.retros import bp, effects, exports
from app.retros import services as retros
from app.retros.access import may_run, may_view
from app.retros.board import load_board, people_of
from app.retros.catalog import builtin_choices, template_title
from app.retros.models import (
    OPEN_STATUSES,
    Phase,
    Principle,
    Retro,
    RetroAction,
    RetroCard,
    RetroGroup,
    RetroTemplate,
)
from app.timeutil import utcnow

PRINCIPLES = [p.value for p in Principle]
PHASE_ORDER = [p.value for p in Phase]


def principle_label(value: str) -> str:
    return {
        Principle.END_TO_END.value: _("End-to-end"),
        Principle.AUTONOMY.value: _("Autonomy"),
        Principle.CUSTOMER_CENTRIC.value: _("Customer-centric"),
        Principle.CONTINUOUS_IMPROVEMENT.value: _("Continuous improvement"),
    }.get(value, value)


def status_label(value: str) -> str:
    return {"open": _("Pending"), "done": _("Done"), "not_done": _("Not done"), "dropped": _("Dropped")}.get(value, value)


@bp.app_context_processor
def retro_helpers():
    """Helpers for retro templates (and retro "My day" sections), all prefixed so no other template is shadowed."""
    return {"retro_principles": PRINCIPLES, "retro_phase_order": PHASE_ORDER,
            "retro_principle_label": principle_label, "retro_status_label": status_label,
            "retro_phase_label": retros.phase_label, "retro_metric": effects.format_value,
            "retro_metric_name": effects.metric_name, "retro_template_title": template_title}


# --- helpers ----------------------------------------------------------------------------------------


def _pod(pod_id: int) -> Pod:
    pod = db.get_or_404(Pod, pod_id)
    if not may_view(current_user, pod.id):
        abort(403)
    return pod


def _retro(retro_id: int) -> Retro:
    retro = db.session.scalar(select(Retro).options(selectinload(Retro.pod)).where(Retro.id == retro_id))
    if retro is None:
        abort(404)
    if not may_view(current_user, retro.pod_id):
        abort(403)
    return retro


def _int(name: str, *, required: bool = True) -> int | None:
    raw = (request.form.get(name) or "").strip()
    if not raw:
        if required:
            abort(422, description=_("A required value is missing."))
        return None
    try:
        return int(raw)
    except ValueError:
        abort(422, description=_("“%(value)s” is not a whole number.", value=raw[:20]))


def _date(name: str) -> date | None:
    raw = (request.form.get(name) or "").strip()
    if not raw:
        return None
    try:
        return date.fromisoformat(raw)
    except ValueError:
        abort(422, description=_("Give the date as YYYY-MM-DD."))


def _user(user_id: int | None) -> User | None:
    return db.session.get(User, user_id) if user_id is not None else None


def _fail(error: retros.RetroError):
    """Refuse with the rule's message; a stale htmx page also reloads, showing the message over the current phase."""
    db.session.rollback()
    if error.stale and is_htmx():
        flash(str(error.message), "error")
        response = make_response(str(error.message), error.status)
        response.headers["HX-Refresh"] = "true"
        abort(response)
    abort(error.status, description=str(error.message))


def _board_response(retro: Retro) -> Response:
    """After a change: the fresh board for htmx, the page otherwise."""
    db.session.commit()
    if not is_htmx():
        return redirect(url_for("retros.retro_page", retro_id=retro.id))
    retro = _retro(retro.id)
    return make_response(render_template("retros/_board.html", board=load_board(retro, current_user)))


def _reload(retro: Retro) -> Response:
    db.session.commit()
    if is_htmx():
        response = make_response("", 204)
        response.headers["HX-Refresh"] = "true"
        return response
    return redirect(url_for("retros.retro_page", retro_id=retro.id))


# --- pod pages --------------------------------------------------------------------------------------


@bp.route("/retros")
@login_required
def index():
    """The retros of the pods the user takes part in (every pod for leaders)."""
    query = select(Pod).where(Pod.active).order_by(Pod.name)
    pods = [p for p in db.session.scalars(query) if may_view(current_user, p.id)]
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
def pod_retros(pod_id: int):
    pod = _pod(pod_id)
    if request.method == "POST":
        if not may_run(current_user, pod.id):
            abort(403)
        votes = _int("votes_per_person")
        cap = _int("max_votes_per_item")
        try:
            retro = retros.create_retro(
                current_user, pod, title=request.form.get("title", ""),
                template_key=request.form.get("template", ""),
                facilitator=_user(_int("facilitator_id", required=False)),
                anonymous=bool(request.form.get("anonymous")), votes_per_person=votes, max_votes_per_item=cap,
                hide_votes=bool(request.form.get("hide_votes")), grouping=request.form.get("grouping", "everyone"))
        except retros.RetroError as error:
            _fail(error)
        db.session.commit()
        return redirect(url_for("retros.retro_page", retro_id=retro.id))
    retro_list = list(db.session.scalars(select(Retro).options(selectinload(Retro.facilitator))
                                         .where(Retro.pod_id == pod.id).order_by(Retro.created_at.desc())))
    templates = list(db.session.scalars(select(RetroTemplate).where(RetroTemplate.pod_id == pod.id)
                                        .order_by(RetroTemplate.name)))
    people = people_of(pod.id, utcnow().date())
    return render_template("retros/pod.html", pod=pod, retros=retro_list, templates=templates,
                           builtins=builtin_choices(), people=people, coach=may_run(current_user, pod.id),
                           suggested=retros.suggested_facilitator(pod, people),
                           open_retro=next((r for r in retro_list if not r.is_closed), None))


@bp.post("/pods/<int:pod_id>/retro-templates")
@login_required
def save_template(pod_id: int):
    pod = _pod(pod_id)
    try:
        retros.save_template(current_user, pod, name=request.form.get("name", ""),
                             columns_text=request.form.get("columns", ""))
    except retros.RetroError as error:
        _fail(error)
    db.session.commit()
    flash(_("Template saved."), "success")
    return redirect(url_for("retros.pod_retros", pod_id=pod.id))


@bp.post("/pods/<int:pod_id>/retro-templates/<int:template_id>/delete")
@login_required
def delete_template(pod_id: int, template_id: int):
    pod = _pod(pod_id)
    template = db.get_or_404(RetroTemplate, template_id)
    if template.pod_id != pod.id:
        abort(404)
    try:
        retros.delete_template(current_user, template)
    except retros.RetroError as error:
        _fail(error)
    db.session.commit()
    flash(_("Template deleted."), "success")
    return redirect(url_for("retros.pod_retros", pod_id=pod.id))


@bp.route("/pods/<int:pod_id>/actions")
@login_required
def action_register(pod_id: int):
    """Every action of the pod's retros: open, overdue and done, with the measured effect."""
    pod = _pod(pod_id)
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
def retro_page(retro_id: int):
    retro = _retro(retro_id)
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
    if not may_view(current_user, row.pod_id):
        abort(403)
    known_phase = request.args.get("phase")
    if known_phase and known_phase != row.phase:
        response = make_response("", 204)
        response.headers["HX-Refresh"] = "true"
        return response
    if request.args.get("v") == str(row.version):
        return Response(status=204)
    retro = _retro(retro_id)
    return render_template("retros/_board.html", board=load_board(retro, current_user))


@bp.post("/retros/<int:retro_id>/advance")
@login_required
def advance(retro_id: int):
    retro = _retro(retro_id)
    try:
        retros.advance_phase(current_user, retro, request.form.get("phase", ""))
    except retros.RetroError as error:
        _fail(error)
    return _reload(retro)


@bp.post("/retros/<int:retro_id>/timer")
@login_required
def timer(retro_id: int):
    retro = _retro(retro_id)
    try:
        retros.set_timer(current_user, retro, request.form.get("phase", ""), _int("minutes"))
    except retros.RetroError as error:
        _fail(error)
    return _board_response(retro)


@bp.post("/retros/<int:retro_id>/facilitator")
@login_required
def facilitator(retro_id: int):
    retro = _retro(retro_id)
    person = _user(_int("facilitator_id"))
    if person is None:
        abort(422, description=_("Choose a member or coach of the pod."))
    try:
        retros.set_facilitator(current_user, retro, person)
    except retros.RetroError as error:
        _fail(error)
    return _reload(retro)


@bp.post("/retros/<int:retro_id>/checkin")
@login_required
def checkin(retro_id: int):
    retro = _retro(retro_id)
    try:
        retros.submit_checkin(current_user, retro, _int("pulse"))
    except retros.RetroError as error:
        _fail(error)
    return _board_response(retro)


@bp.post("/retros/<int:retro_id>/review/<int:action_id>")
@login_required
def review(retro_id: int, action_id: int):
    retro = _retro(retro_id)
    action = db.get_or_404(RetroAction, action_id)
    try:
        retros.review_action(current_user, retro, action, request.form.get("status", ""))
    except retros.RetroError as error:
        _fail(error)
    return _board_response(retro)


@bp.post("/retros/<int:retro_id>/cards")
@login_required
def add_card(retro_id: int):
    retro = _retro(retro_id)
    try:
        retros.add_card(current_user, retro, column_key=request.form.get("column", ""),
                        text=request.form.get("text", ""), case_ref=request.form.get("case_ref"),
                        metric_code=request.form.get("metric"))
    except retros.RetroError as error:
        _fail(error)
    return _board_response(retro)


def _card(retro: Retro, card_id: int) -> RetroCard:
    card = db.session.get(RetroCard, card_id)
    if card is None or card.retro_id != retro.id:
        abort(404, description=_("This card no longer exists."))
    return card


@bp.post("/retros/<int:retro_id>/cards/<int:card_id>/edit")
@login_required
def edit_card(retro_id: int, card_id: int):
    retro = _retro(retro_id)
    try:
        retros.edit_card(current_user, retro, _card(retro, card_id), text=request.form.get("text", ""))
    except retros.RetroError as error:
        _fail(error)
    return _board_response(retro)


@bp.post("/retros/<int:retro_id>/cards/<int:card_id>/delete")
@login_required
def delete_card(retro_id: int, card_id: int):
    retro = _retro(retro_id)
    try:
        retros.delete_card(current_user, retro, _card(retro, card_id))
    except retros.RetroError as error:
        _fail(error)
    return _board_response(retro)


@bp.post("/retros/<int:retro_id>/cards/<int:card_id>/move")
@login_required
def move_card(retro_id: int, card_id: int):
    retro = _retro(retro_id)
    try:
        retros.move_card(current_user, retro, _card(retro, card_id), request.form.get("target", ""))
    except retros.RetroError as error:
        _fail(error)
    return _board_response(retro)


@bp.post("/retros/<int:retro_id>/groups")
@login_required
def create_group(retro_id: int):
    retro = _retro(retro_id)
    try:
        retros.create_group(current_user, retro, title=request.form.get("title", ""))
    except retros.RetroError as error:
        _fail(error)
    return _board_response(retro)


@bp.post("/retros/<int:retro_id>/groups/<int:group_id>/rename")
@login_required
def rename_group(retro_id: int, group_id: int):
    retro = _retro(retro_id)
    group = db.session.get(RetroGroup, group_id)
    if group is None or group.retro_id != retro.id:
        abort(404, description=_("This group no longer exists."))
    try:
        retros.rename_group(current_user, retro, group, title=request.form.get("title", ""))
    except retros.RetroError as error:
        _fail(error)
    return _board_response(retro)


def _vote_target() -> dict:
    kind, _sep, raw = (request.form.get("item") or "").partition("-")
    if kind not in ("card", "group") or not raw.isdigit():
        abort(422, description=_("Vote on one card or one group."))
    return {f"{kind}_id": int(raw)}


@bp.post("/retros/<int:retro_id>/votes")
@login_required
def vote(retro_id: int):
    retro = _retro(retro_id)
    try:
        retros.cast_vote(current_user, retro, **_vote_target())
    except retros.RetroError as error:
        _fail(error)
    return _board_response(retro)


@bp.post("/retros/<int:retro_id>/votes/remove")
@login_required
def unvote(retro_id: int):
    retro = _retro(retro_id)
    try:
        retros.remove_vote(current_user, retro, **_vote_target())
    except retros.RetroError as error:
        _fail(error)
    return _board_response(retro)


@bp.post("/retros/<int:retro_id>/notes")
@login_required
def add_note(retro_id: int):
    retro = _retro(retro_id)
    try:
        retros.add_note(current_user, retro, topic=request.form.get("topic", ""), text=request.form.get("text", ""))
    except retros.RetroError as error:
        _fail(error)
    return _board_response(retro)


@bp.post("/retros/<int:retro_id>/actions")
@login_required
def add_action(retro_id: int):
    retro = _retro(retro_id)
    scope = request.form.get("scope") or "pod"
    scope_kind, _sep, scope_id = scope.partition("-")
    if scope_id and not scope_id.isdigit():
        abort(422, description=_("Choose pod, segment or stage as the scope."))
    try:
        retros.create_action(
            current_user, retro, title=request.form.get("title", ""), owner=_user(_int("owner_id")),
            due_date=_date("due_date"), principle=request.form.get("principle", ""),
            topic=request.form.get("topic") or None, metric_code=request.form.get("metric") or None,
            scope_kind=scope_kind, scope_id=int(scope_id) if scope_id else None,
            direction=request.form.get("direction") or None)
    except retros.RetroError as error:
        _fail(error)
    return _board_response(retro)


# --- exports ----------------------------------------------------------------------------------------


def _closed(retro_id: int) -> Retro:
    retro = _retro(retro_id)
    if not retro.is_closed:
        abort(409, description=_("Exports are ready once the retro is closed."))
    return retro


@bp.route("/retros/<int:retro_id>/export.md")
@login_required
def export_markdown(retro_id: int):
    retro = _closed(retro_id)
    body = exports.markdown(load_board(retro, current_user, with_people=False))
    return Response(body, mimetype="text/markdown", headers={
        "Content-Disposition": f'attachment; filename="retro-{retro.id}.md"'})


@bp.route("/retros/<int:retro_id>/export.csv")
@login_required
def export_csv(retro_id: int):
    retro = _closed(retro_id)
    body = exports.csv_text(load_board(retro, current_user, with_people=False))
    return Response(body, mimetype="text/csv", headers={
        "Content-Disposition": f'attachment; filename="retro-{retro.id}.csv"'})


@bp.route("/retros/<int:retro_id>/summary")
@login_required
def summary(retro_id: int):
    retro = _closed(retro_id)
    return render_template("retros/summary.html", board=load_board(retro, current_user, with_people=False),
                           scopes=_scope_names())
