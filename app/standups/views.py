"""Stand-up pages: the live board, entries, blockers, walking the board, history."""

from __future__ import annotations

import calendar
from datetime import date, timedelta

from flask import Response, abort, flash, make_response, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required
from sqlalchemy import select

from app.extensions import db
from app.htmx import is_htmx
from app.org.models import Pod, Role
from app.standups import bp, services
from app.standups.models import Blocker, StandupBoard
from app.timeutil import utcnow

POLL_SECONDS = 2


def _fail(exc: services.StandupError):
    db.session.rollback()
    abort(exc.status, str(exc))


def _pod_or_404(pod_id: int) -> Pod:
    pod = db.get_or_404(Pod, pod_id)
    if not services.may_view(current_user, pod.id):
        abort(403)
    return pod


def _board_or_404(board_id: int) -> StandupBoard:
    board = db.get_or_404(StandupBoard, board_id)
    if not services.may_view(current_user, board.pod_id):
        abort(403)
    return board


def _int_field(name: str, label: str, low: int, high: int, *, required: bool = True) -> int | None:
    raw = (request.form.get(name) or "").strip()
    if not raw:
        if required:
            abort(400, _("Fill in %(field)s.", field=label))
        return None
    if not raw.lstrip("-").isdigit() or not low <= int(raw) <= high:
        abort(400, _("%(field)s must be a whole number from %(low)d to %(high)d.", field=label, low=low, high=high))
    return int(raw)


@bp.route("/standups/")
@login_required
def index():
    now = utcnow()
    mine = services.home_status(current_user, now)
    mine_ids = {row["pod"].id for row in mine}
    others = []
    if current_user.has_role(Role.COACH):
        others = [p for p in db.session.scalars(select(Pod).where(Pod.active).order_by(Pod.name))
                  if p.id not in mine_ids]
    if len(mine) == 1 and not others:
        return redirect(url_for("standups.pod_board", pod_id=mine[0]["pod"].id))
    return render_template("standups/index.html", mine=mine, others=others)


@bp.route("/standups/pods/<int:pod_id>")
@login_required
def pod_board(pod_id: int):
    pod = _pod_or_404(pod_id)
    if not pod.active:
        abort(404, _("This pod is no longer active; its past stand-ups are in its history."))
    board = services.board_for_today(pod)
    if board is None:
        db.session.commit()
        return render_template("standups/no_standup.html", pod=pod, today=services.local_today(pod, utcnow()))
    db.session.commit()
    return _render_board(board)


@bp.route("/standups/boards/<int:board_id>")
@login_required
def board(board_id: int):
    return _render_board(_board_or_404(board_id))


def _render_board(board: StandupBoard, status: int = 200):
    view = services.board_view(board)
    own = view.entries.get(current_user.id)
    return render_template(
        "standups/board.html", view=view, board=board, pod=view.pod,
        may_post=services.may_post(current_user, board), may_coach=services.may_coach(current_user, board.pod_id),
        own=own, outcomes=services.outcomes_strip(view.pod, board.day), poll_seconds=POLL_SECONDS, now=utcnow(),
        owners=_owner_choices(view),
    ), status


def _owner_choices(view: services.BoardView) -> list:
    return [(u.id, u.display_name) for u in view.members]


def _live(board: StandupBoard, status: int = 200) -> Response:
    view = services.board_view(board)
    response = make_response(render_template(
        "standups/_live.html", view=view, board=board, pod=view.pod,
        may_coach=services.may_coach(current_user, board.pod_id), poll_seconds=POLL_SECONDS, now=utcnow()), status)
    return response


@bp.route("/standups/boards/<int:board_id>/live")
@login_required
def live(board_id: int):
    """The live part of the board; 204 (no body, no swap) while the version the page holds is current."""
    seen = request.args.get("v", "")
    row = db.session.execute(select(StandupBoard.version, StandupBoard.pod_id)
                             .where(StandupBoard.id == board_id)).first()
    if row is None:
        abort(404)
    version, pod_id = row
    if not services.may_view(current_user, pod_id):
        abort(403)
    if seen.isdigit() and int(seen) == version:
        return Response(status=204)
    return _live(db.session.get(StandupBoard, board_id))


def _after_change(board: StandupBoard, message: str) -> Response:
    db.session.commit()
    if is_htmx():
        return _live(board)
    flash(message, "success")
    return redirect(url_for("standups.board", board_id=board.id))


@bp.route("/standups/boards/<int:board_id>/entry", methods=["POST"])
@login_required
def save_entry(board_id: int):
    board = _board_or_404(board_id)
    mood = _int_field("mood", _("Mood"), 1, 5, required=False)
    try:
        entry = services.save_entry(current_user, board, yesterday=request.form.get("yesterday", ""),
                                    today=request.form.get("today", ""), mood=mood)
    except services.StandupError as exc:
        _fail(exc)
    db.session.commit()
    if is_htmx():
        return render_template("standups/_entry_form.html", board=board, own=entry, saved=True)
    flash(_("Your update is on the board."), "success")
    return redirect(url_for("standups.board", board_id=board.id))


@bp.route("/standups/boards/<int:board_id>/blockers", methods=["POST"])
@login_required
def raise_blocker(board_id: int):
    board = _board_or_404(board_id)
    owner = _int_field("owner_id", _("Owner"), 1, 2**31 - 1, required=False)
    try:
        services.raise_blocker(current_user, board, description=request.form.get("description", ""),
                               owner_id=owner, case_ref=request.form.get("case_ref", ""))
    except services.StandupError as exc:
        _fail(exc)
    return _after_change(board, _("Blocker raised."))


def _blocker_action(blocker_id: int, action) -> Response:
    blocker = db.get_or_404(Blocker, blocker_id)
    board_id = _int_field("board_id", _("Board"), 1, 2**31 - 1)
    board = _board_or_404(board_id)
    if board.pod_id != blocker.pod_id:
        abort(404)
    try:
        action(blocker)
    except services.StandupError as exc:
        _fail(exc)
    db.session.refresh(board)
    return _after_change(board, _("Blocker updated."))


@bp.route("/standups/blockers/<int:blocker_id>/resolve", methods=["POST"])
@login_required
def resolve_blocker(blocker_id: int):
    return _blocker_action(blocker_id, lambda b: services.resolve_blocker(current_user, b))


@bp.route("/standups/blockers/<int:blocker_id>/escalate", methods=["POST"])
@login_required
def escalate_blocker(blocker_id: int):
    return _blocker_action(blocker_id, lambda b: services.escalate_blocker(current_user, b))


@bp.route("/standups/boards/<int:board_id>/walk/<action>", methods=["POST"])
@login_required
def walk(board_id: int, action: str):
    board = _board_or_404(board_id)
    try:
        if action == "start":
            services.start_walk(current_user, board)
        elif action in ("next", "skip"):
            expected = _int_field("index", _("Speaker"), 0, 10_000)
            services.advance_speaker(current_user, board, expected_index=expected, skip=action == "skip")
        elif action == "close":
            services.close_board(current_user, board)
        else:
            abort(404)
    except services.StandupError as exc:
        _fail(exc)
    return _after_change(board, _("Board closed.") if action == "close" else _("Stand-up updated."))


@bp.route("/standups/pods/<int:pod_id>/settings", methods=["POST"])
@login_required
def settings(pod_id: int):
    pod = _pod_or_404(pod_id)
    days = _int_field("escalate_after_days", _("Escalate after (working days)"), 1, 30)
    seconds = _int_field("timebox_seconds", _("Seconds per person"), 15, 900)
    try:
        services.save_settings(current_user, pod, escalate_after_days=days, timebox_seconds=seconds)
    except services.StandupError as exc:
        _fail(exc)
    db.session.commit()
    flash(_("Stand-up settings saved."), "success")
    return redirect(url_for("standups.history", pod_id=pod.id))


@bp.route("/standups/pods/<int:pod_id>/history")
@login_required
def history(pod_id: int):
    pod = _pod_or_404(pod_id)
    today = services.local_today(pod, utcnow())
    raw = request.args.get("month", "")
    if raw:
        try:
            year, month = (int(part) for part in raw.split("-"))
            first = date(year, month, 1)
        except ValueError:
            abort(400, _("Unknown month; use YYYY-MM."))
        if not 2000 <= year <= 2100:
            abort(400, _("Unknown month; use YYYY-MM."))
    else:
        first = today.replace(day=1)
    last = first.replace(day=calendar.monthrange(first.year, first.month)[1])
    data = services.history(pod, first, last)
    weeks = calendar.Calendar(firstweekday=0).monthdatescalendar(first.year, first.month)
    previous_month = (first - timedelta(days=1)).replace(day=1)
    next_month = last + timedelta(days=1)
    return render_template("standups/history.html", pod=pod, data=data, weeks=weeks, first=first, today=today,
                           previous_month=previous_month, next_month=next_month if next_month <= today else None,
                           settings=services.settings_for(pod.id),
                           may_coach=services.may_coach(current_user, pod.id))

