"""Stand-up pages: the live board, entries, blockers, walking the board, history.

Refused rules raise ``StandupError`` (a ``ServiceError``): the app's one handler answers with the message, so views
hold no try/except. Every POST is read through a WTForms form (app/standups/forms.py).
"""

from __future__ import annotations

import calendar
import re
from datetime import timedelta

from flask import Response, abort, current_app, flash, redirect, render_template, request, url_for
from flask_babel import get_locale
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user, login_required
from flask_wtf import FlaskForm
from sqlalchemy import select

from app import live as live_checks
from app.extensions import commit_keeping, db
from app.forms import arg_int, parse_date, validated
from app.htmx import answer_change
from app.org.models import Pod, Role
from app.permissions import authorize, can, require
from app.standups import bp, services
from app.standups.access import COACH, HANDLE_BLOCKER, VIEW
from app.standups.forms import BlockerActionForm, BlockerForm, EntryForm, SettingsForm, SpeakerForm
from app.standups.models import Blocker, StandupBoard
from app.timeutil import utcnow

POLL_SECONDS = 2
MONTH = re.compile(r"[0-9]{4}-[0-9]{2}")


def _validated(form: FlaskForm) -> FlaskForm:
    return validated(form, services.StandupError)


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
@authorize(Pod, VIEW, "pod_id")
def pod_board(pod: Pod):
    if not pod.active:
        abort(404, _("This pod is no longer active; its past stand-ups are in its history."))
    board = services.board_for_today(pod)
    db.session.commit()
    if board is None:
        return render_template("standups/no_standup.html", pod=pod, today=services.local_today(pod, utcnow()))
    return _render_board(board)


@bp.route("/standups/boards/<int:board_id>")
@authorize(StandupBoard, VIEW, "board_id")
def board(board: StandupBoard):
    return _render_board(board)


def _render_board(board: StandupBoard):
    view = services.board_view(board)
    own = view.entries.get(current_user.id)
    return render_template(
        "standups/board.html", view=view, board=board, pod=view.pod, own=own,
        outcomes=services.outcomes_strip(view.pod, board.day), poll_seconds=POLL_SECONDS, now=utcnow(),
        owners=_owner_choices(view), poll_url=_poll_url(board),
    )


def _owner_choices(view: services.BoardView) -> list:
    return [(u.id, u.display_name) for u in view.members]


def _live(board: StandupBoard, *, for_poll: bool = False) -> str:
    """The live board and the poll element at its version: a poll swaps the poll element and the board out of band,
    a button of the board swaps the board and the poll element out of band."""
    view = services.board_view(board)
    context = {"board": board, "poll_seconds": POLL_SECONDS, "poll_url": _poll_url(board)}
    live = render_template("standups/_live.html", view=view, pod=view.pod, now=utcnow(), live_oob=for_poll, **context)
    poll = render_template("standups/_poll.html", oob=not for_poll, **context)
    return poll + live if for_poll else live + poll


def _poll_url(board: StandupBoard) -> str:
    """The live check with a signed token: while the board is unchanged app/live.py answers 204 before sessions
    and users are loaded, and after entries only app/standups/poll.py sends those entries. The token says, besides
    coach or member, the time zone and language the entries' times are shown in."""
    sees = "coach" if can(current_user, COACH, board) else "member"
    token = live_checks.sign(current_app.config["SECRET_KEY"], "standup", board.id, current_user.id,
                             f"{sees} {current_user.timezone or ''}", str(get_locale()))
    return url_for("standups.live", board_id=board.id, t=token, v=board.version)


@bp.route("/standups/boards/<int:board_id>/live")
@login_required
def live(board_id: int):
    """The live part of the board; 204 (no body, no swap) while the version the page holds is current (most of
    those are answered by app/live.py before this view runs)."""
    seen = arg_int("v", minimum=0)
    board = db.session.get(StandupBoard, board_id)  # one read: a changed board is rendered from it
    if board is None:
        abort(404)
    require(VIEW, board.pod_id)
    if seen == board.version:
        return Response(status=204)
    return _live(board, for_poll=True)


def _after_change(board: StandupBoard, message: str) -> Response | str:
    return answer_change(lambda: _live(board), message, url_for("standups.board", board_id=board.id))


@bp.route("/standups/boards/<int:board_id>/entry", methods=["POST"])
@authorize(StandupBoard, VIEW, "board_id")
def save_entry(board: StandupBoard):
    form = _validated(EntryForm())
    entry = services.save_entry(current_user, board, yesterday=form.yesterday.data, today=form.today.data,
                                mood=form.mood.data)
    commit_keeping()  # the answer shows the entry just written: nothing is reloaded to render it
    return answer_change(lambda: render_template("standups/_entry_form.html", board=board, own=entry, saved=True),
                         _("Your update is on the board."), url_for("standups.board", board_id=board.id))


@bp.route("/standups/boards/<int:board_id>/blockers", methods=["POST"])
@authorize(StandupBoard, VIEW, "board_id")
def raise_blocker(board: StandupBoard):
    form = _validated(BlockerForm())
    services.raise_blocker(current_user, board, description=form.description.data, owner_id=form.owner_id.data,
                           case_ref=form.case_ref.data)
    return _after_change(board, _("Blocker raised."))


def _allow(action: str, target, message) -> None:
    """Who may act is settled before the form is read: a 403 with the rule's own words."""
    if not can(current_user, action, target):
        raise services.StandupError(message, 403)


def _blocker_action(blocker: Blocker, action) -> Response | str:
    form = _validated(BlockerActionForm())
    board = db.get_or_404(StandupBoard, form.board_id.data)
    if board.pod_id != blocker.pod_id:
        abort(404)
    action(blocker)
    db.session.refresh(board)
    return _after_change(board, _("Blocker updated."))


_BLOCKER_VERBS = {
    "resolve": (services.resolve_blocker, _l("Only the blocker's owner or the pod's coach can resolve it.")),
    "escalate": (services.escalate_blocker, _l("Only the blocker's owner or the pod's coach can escalate it.")),
}


@bp.route("/standups/blockers/<int:blocker_id>/<any(resolve, escalate):verb>", methods=["POST"])
@authorize(Blocker, VIEW, "blocker_id")
def handle_blocker(blocker: Blocker, verb: str):
    change, refusal = _BLOCKER_VERBS[verb]
    _allow(HANDLE_BLOCKER, blocker, str(refusal))
    return _blocker_action(blocker, lambda b: change(current_user, b))


@bp.route("/standups/boards/<int:board_id>/walk/<action>", methods=["POST"])
@authorize(StandupBoard, VIEW, "board_id")
def walk(board: StandupBoard, action: str):
    _allow(COACH, board, _("Only the pod's coach can walk the board."))
    if action == "start":
        services.start_walk(current_user, board)
    elif action in ("next", "skip"):
        expected = _validated(SpeakerForm()).index.data
        services.advance_speaker(current_user, board, expected_index=expected, skip=action == "skip")
    elif action == "close":
        services.close_board(current_user, board)
    else:
        abort(404)
    return _after_change(board, _("Board closed.") if action == "close" else _("Stand-up updated."))


@bp.route("/standups/pods/<int:pod_id>/settings", methods=["POST"])
@authorize(Pod, VIEW, "pod_id")
def settings(pod: Pod):
    _allow(COACH, pod, _("Only the pod's coach can change its stand-up settings."))
    form = _validated(SettingsForm())
    services.save_settings(current_user, pod, escalate_after_days=form.escalate_after_days.data,
                           timebox_seconds=form.timebox_seconds.data)
    db.session.commit()
    flash(_("Stand-up settings saved."), "success")
    return redirect(url_for("standups.history", pod_id=pod.id))


@bp.route("/standups/pods/<int:pod_id>/history")
@authorize(Pod, VIEW, "pod_id")
def history(pod: Pod):
    today = services.local_today(pod, utcnow())
    raw = request.args.get("month", "").strip()
    if raw:
        first = parse_date(raw + "-01") if MONTH.fullmatch(raw) else None
        if first is None or first.year < 2000:
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
                           settings=services.settings_for(pod.id))

