"""Retro pages: the pod's retros and action register, the live retro board and its exports.

Every change to a retro is one row of `CHANGES`: load the retro the URL names (404), check the viewer may do
that kind of change (403) before reading the form, validate the form (422 with the first problem), call the
service (whose RetroError the app's one error handler answers) and reply with what changed for htmx (the
board, or for a vote only the voter's item and budget) or a redirect to the retro.

The page polls `board` with a signed token (app/live.py): while the retro's version is unchanged the answer is a
204 before any of this runs; otherwise the answer is the new poller plus only the parts that changed.
"""

from __future__ import annotations

import re
from collections import OrderedDict
from collections.abc import Callable
from datetime import date
from types import SimpleNamespace

from flask import Response, abort, current_app, make_response, redirect, render_template, request, url_for
from flask_babel import get_locale, get_timezone
from flask_babel import gettext as _
from flask_login import current_user, login_required
from flask_wtf import FlaskForm
from flask_wtf.csrf import generate_csrf
from sqlalchemy import select
from sqlalchemy.orm import selectinload

from app import live
from app.csvexport import csv_response
from app.extensions import commit_keeping, db
from app.forms import EmptyForm
from app.htmx import answer_change, is_htmx
from app.org.models import LifecycleStage, Pod, Segment, User
from app.org.principles import Principle, principle_label
from app.permissions import authorize, can, require
from app.retros import bp, effects, exports
from app.retros import services as retros
from app.retros.board import OWNER_SLOT as _OWNER_SLOT
from app.retros.board import Labels, card_view, load_board, people_of, pulse_count, reflect_counts, tally_of
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
from app.retros.models import Phase, Retro, RetroAction, RetroCard, RetroGroup, RetroTemplate, phase_label, status_label
from app.timeutil import utcnow

PRINCIPLES = [p.value for p in Principle]
PHASE_ORDER = [p.value for p in Phase]
WITH_POD = (selectinload(Retro.pod),)


@bp.record_once
def retro_helpers(state) -> None:
    """Helpers for retro templates (and retro "My day" sections), all prefixed so no other template is shadowed;
    Jinja globals rather than a context processor, so no render pays for building them (app/templating.py)."""
    state.app.jinja_env.globals.update({
        "retro_principles": PRINCIPLES,
        "retro_phase_order": PHASE_ORDER,
        "retro_principle_label": principle_label,
        "retro_status_label": status_label,
        "retro_phase_label": phase_label,
        "retro_metric": effects.format_value,
        "retro_metric_name": effects.metric_name,
        "retro_template_title": template_title,
        "retro_column_title": column_title,
    })


# --- the one pattern of a change ---------------------------------------------------------------------


def valid(form: FlaskForm) -> FlaskForm:
    """The form when it is valid; otherwise a 422 naming the first problem."""
    if not form.validate_on_submit():
        message = next((errors[0] for errors in form.errors.values() if errors), None)
        abort(422, description=str(message) if message else None)
    return form


def _fresh_board(retro_id: int):
    return load_board(db.session.scalar(select(Retro).options(*WITH_POD).where(Retro.id == retro_id)), current_user)


def _board_response(retro: Retro, _result=None) -> Response:
    """After a change: the fresh board (and the poller at the new version) for htmx, the page otherwise."""
    db.session.commit()
    if not is_htmx():
        return redirect(url_for("retros.retro_page", retro_id=retro.id))
    board = _fresh_board(retro.id)
    return make_response(
        render_template("retros/_board.html", board=board)
        + render_template("retros/_poll.html", board=board, poll_url=_poll_url(board), oob=True)
    )


def _reload(retro: Retro, _result=None) -> Response:
    """After a change the whole page shows (a new phase, a new facilitator): htmx reloads, others redirect."""
    db.session.commit()
    if is_htmx():
        response = make_response("", 204)
        response.headers["HX-Refresh"] = "true"
        return response
    return redirect(url_for("retros.retro_page", retro_id=retro.id))


def _card_added(retro: Retro, card: RetroCard) -> Response:
    """After a new card: for htmx the card alone (appended to its column), the others' counts and the poller at
    the new version, not the board. The counts are read before the commit, under the version bump's lock, so they
    match the version the poller is given; nothing is reloaded after it."""
    if not is_htmx():
        db.session.commit()
        return redirect(url_for("retros.retro_page", retro_id=retro.id))
    board = card_view(retro, current_user, card)
    commit_keeping()
    return make_response(render_template("retros/_card_added.html", card=card, board=board, poll_url=_poll_url(board)))


def _vote_response(retro: Retro, state: retros.VoteState) -> Response:
    """After a vote: only the voter's item and remaining budget (htmx out-of-band swaps), not the board. What the
    answer shows is gathered before the commit, so the write lock is held for the statements alone."""
    if not is_htmx():
        db.session.commit()
        return redirect(url_for("retros.retro_page", retro_id=retro.id))
    show_totals = not retro.hide_votes
    view = SimpleNamespace(
        labels=_labels(retro), votes_left=state.budget - state.used, show_totals=show_totals, participant=True
    )
    votes = retros.item_total(retro, state.key) if show_totals else 0
    commit_keeping()  # the answer is drawn from the statements above; nothing (the voter) is reloaded to render it
    # Two macros fed with plain values and the labels: no context processor or template global is needed.
    template = current_app.jinja_env.get_template("retros/_vote_change.html")
    return make_response(template.render(board=view, state=state, votes=votes))


# A vote's answer repeats the same few strings and addresses for everyone voting in the same language: a burst of
# votes translates them once per (language, retro), not six look-ups and two URL builds per vote.
_LABELS: OrderedDict[tuple, Labels] = OrderedDict()


def _labels(retro: Retro) -> Labels:
    key = (str(get_locale()), request.script_root, retro.id, retro.votes_per_person, retro.max_votes_per_item)
    labels = _LABELS.get(key)
    if labels is None:
        vote_url = url_for("retros.vote", retro_id=retro.id)
        labels = _LABELS[key] = Labels(retro, vote_url, url_for("retros.unvote", retro_id=retro.id))
        while len(_LABELS) > 64:
            _LABELS.popitem(last=False)
    return labels


def _vote_target(form: VoteForm) -> dict:
    ref = retros.parse_ref(form.item.data, ("card", "group"))
    if ref is None:
        abort(422, description=_("Vote on one card or one group."))
    return {f"{ref[0]}_id": ref[1]}


def _card(retro: Retro, card_id: int) -> RetroCard:
    return _member(retro, RetroCard, card_id, _("This card no longer exists."))


def _group(retro: Retro, group_id: int) -> RetroGroup:
    return _member(retro, RetroGroup, group_id, _("This group no longer exists."))


def _facilitator(form: FacilitatorForm) -> User:
    person = _person(form.facilitator_id.data)
    if person is None:
        abort(422, description=_("Choose a member or coach of the pod."))
    return person


def _add_action(user, retro, form):
    scope_kind, scope_id = _scope(form.scope.data)
    return retros.create_action(
        user,
        retro,
        title=form.title.data,
        owner=_person(form.owner_id.data),
        due_date=form.due_date.data,
        principle=form.principle.data,
        topic=form.topic.data or None,
        metric_code=form.metric.data or None,
        scope_kind=scope_kind,
        scope_id=scope_id,
        direction=form.direction.data or None,
    )


TAKE_PART, FACILITATE, GROUP = "retros.take_part", "retros.facilitate", "retros.group"

# endpoint: (path after /retros/<retro_id>, form, who may, the service call (user, retro, form, **ids), answer)
CHANGES: dict[str, tuple] = {
    "advance": ("/advance", PhaseForm, FACILITATE, lambda u, r, f: retros.advance_phase(u, r, f.phase.data), _reload),
    "timer": (
        "/timer",
        TimerForm,
        FACILITATE,
        lambda u, r, f: retros.set_timer(u, r, f.phase.data, f.minutes.data),
        _board_response,
    ),
    "facilitator": (
        "/facilitator",
        FacilitatorForm,
        FACILITATE,
        lambda u, r, f: retros.set_facilitator(u, r, _facilitator(f)),
        _reload,
    ),
    "checkin": (
        "/checkin",
        CheckinForm,
        TAKE_PART,
        lambda u, r, f: retros.submit_checkin(u, r, f.pulse.data),
        _board_response,
    ),
    "review": (
        "/review/<int:action_id>",
        ReviewForm,
        TAKE_PART,
        lambda u, r, f, action_id: retros.review_action(u, r, db.get_or_404(RetroAction, action_id), f.status.data),
        _board_response,
    ),
    "add_card": (
        "/cards",
        CardForm,
        TAKE_PART,
        lambda u, r, f: retros.add_card(
            u, r, column_key=f.column.data, text=f.text.data, case_ref=f.case_ref.data, metric_code=f.metric.data
        ),
        _card_added,
    ),
    "edit_card": (
        "/cards/<int:card_id>/edit",
        CardTextForm,
        TAKE_PART,
        lambda u, r, f, card_id: retros.edit_card(u, r, _card(r, card_id), text=f.text.data),
        _board_response,
    ),
    "delete_card": (
        "/cards/<int:card_id>/delete",
        EmptyForm,
        TAKE_PART,
        lambda u, r, f, card_id: retros.delete_card(u, r, _card(r, card_id)),
        _board_response,
    ),
    "move_card": (
        "/cards/<int:card_id>/move",
        MoveForm,
        GROUP,
        lambda u, r, f, card_id: retros.move_card(u, r, _card(r, card_id), f.target.data),
        _board_response,
    ),
    "create_group": (
        "/groups",
        GroupForm,
        GROUP,
        lambda u, r, f: retros.create_group(u, r, title=f.title.data),
        _board_response,
    ),
    "rename_group": (
        "/groups/<int:group_id>/rename",
        GroupForm,
        GROUP,
        lambda u, r, f, group_id: retros.rename_group(u, r, _group(r, group_id), title=f.title.data),
        _board_response,
    ),
    "vote": ("/votes", VoteForm, TAKE_PART, lambda u, r, f: retros.cast_vote(u, r, **_vote_target(f)), _vote_response),
    "unvote": (
        "/votes/remove",
        VoteForm,
        TAKE_PART,
        lambda u, r, f: retros.remove_vote(u, r, **_vote_target(f)),
        _vote_response,
    ),
    "add_note": (
        "/notes",
        NoteForm,
        TAKE_PART,
        lambda u, r, f: retros.add_note(u, r, topic=f.topic.data, text=f.text.data),
        _board_response,
    ),
    "add_action": ("/actions", ActionForm, TAKE_PART, _add_action, _board_response),
}


def _allow(needs: str, retro: Retro) -> None:
    """403 with the rule's own words when the viewer may not make this kind of change."""
    if not can(current_user, needs, retro):
        if needs == TAKE_PART or (needs == GROUP and retro.grouping != "facilitator"):
            raise retros.RetroError(_("Only members and coaches of this pod take part in its retros."), 403)
        raise retros.RetroError(_("Only the facilitator can do this."), 403)


def _register(
    endpoint: str, path: str, form_class: type[FlaskForm], needs: str, call: Callable, answer: Callable
) -> None:
    # A vote's or card's answer is that item alone: no board, so no pod to load with the retro.
    @authorize(Retro, "retros.view", options=() if answer in (_vote_response, _card_added) else WITH_POD)
    def view(retro: Retro, **ids) -> Response:
        _allow(needs, retro)  # who may act is settled before the form is read
        return answer(retro, call(current_user, retro, valid(form_class()), **ids))

    view.__name__ = endpoint
    bp.add_url_rule(f"/retros/<int:retro_id>{path}", endpoint=endpoint, view_func=view, methods=["POST"])


for _endpoint, _change in CHANGES.items():
    _register(_endpoint, *_change)


@bp.route("/retros/<int:retro_id>/cards/<int:card_id>/move")
@authorize(Retro, "retros.view")
def move_card_page(retro: Retro, card_id: int):
    """One card's move form, the way to group without JavaScript (with it, the board's one move dialog): posts to
    move_card, which judges the move as always."""
    _allow(GROUP, retro)
    card = _card(retro, card_id)
    if retro.phase != Phase.GROUP.value:
        return redirect(url_for("retros.retro_page", retro_id=retro.id))
    groups = db.session.scalars(select(RetroGroup).where(RetroGroup.retro_id == retro.id).order_by(RetroGroup.id))
    return render_template("retros/move.html", retro=retro, card=card, groups=list(groups))


def _member(retro: Retro, model, ident: int, message: str):
    """A card or group of this retro (404 with ``message`` when it is gone or belongs to another retro)."""
    obj = db.session.get(model, ident)
    if obj is None or obj.retro_id != retro.id:
        abort(404, description=message)
    return obj


def _person(user_id: int | None) -> User | None:
    return db.session.get(User, user_id) if user_id is not None else None


def _scope(raw: str | None) -> tuple[str, int | None]:
    """ "pod", "segment-<id>" or "stage-<id>"."""
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
        for retro in db.session.scalars(select(Retro).where(Retro.pod_id.in_(ids)).order_by(Retro.created_at.desc())):
            recent.setdefault(retro.pod_id, [])
            if len(recent[retro.pod_id]) < 3:
                recent[retro.pod_id].append(retro)
    return render_template("retros/index.html", pods=pods, recent=recent)


@bp.route("/pods/<int:pod_id>/retros", methods=["GET", "POST"])
@authorize(Pod, "retros.view")
def pod_retros(pod: Pod):
    if request.method == "POST":
        require("retros.run", pod)
        form = valid(RetroForm())
        retro = retros.create_retro(
            current_user,
            pod,
            title=form.title.data,
            template_key=form.template.data,
            facilitator=_person(form.facilitator_id.data),
            anonymous=form.anonymous.data,
            votes_per_person=form.votes_per_person.data,
            max_votes_per_item=form.max_votes_per_item.data,
            hide_votes=form.hide_votes.data,
            grouping=form.grouping.data or "everyone",
        )
        db.session.commit()
        return redirect(url_for("retros.retro_page", retro_id=retro.id))
    retro_list = list(
        db.session.scalars(
            select(Retro)
            .options(selectinload(Retro.facilitator))
            .where(Retro.pod_id == pod.id)
            .order_by(Retro.created_at.desc())
        )
    )
    templates = list(
        db.session.scalars(select(RetroTemplate).where(RetroTemplate.pod_id == pod.id).order_by(RetroTemplate.name))
    )
    people = people_of(pod.id, utcnow().date())
    return render_template(
        "retros/pod.html",
        pod=pod,
        retros=retro_list,
        templates=templates,
        builtins=builtin_choices(),
        people=people,
        coach=can(current_user, "retros.run", pod),
        suggested=retros.suggested_facilitator(pod, people),
        open_retro=next((r for r in retro_list if not r.is_closed), None),
    )


@bp.post("/pods/<int:pod_id>/retro-templates")
@authorize(Pod, "retros.view")
def save_template(pod: Pod):
    form = valid(TemplateForm())
    retros.save_template(
        current_user,
        pod,
        name=form.name.data,
        columns_text=form.columns.data,
        names={"es": form.name_es.data, "it": form.name_it.data},
        columns_in={"es": form.columns_es.data, "it": form.columns_it.data},
    )
    return answer_change(None, _("Template saved."), url_for("retros.pod_retros", pod_id=pod.id))


@bp.post("/pods/<int:pod_id>/retro-templates/<int:template_id>/delete")
@authorize(Pod, "retros.run")
def delete_template(pod: Pod, template_id: int):
    valid(EmptyForm())
    template = db.get_or_404(RetroTemplate, template_id)
    if template.pod_id != pod.id:
        abort(404)
    retros.delete_template(current_user, template)
    return answer_change(None, _("Template deleted."), url_for("retros.pod_retros", pod_id=pod.id))


@bp.route("/pods/<int:pod_id>/actions")
@authorize(Pod, "retros.view")
def action_register(pod: Pod):
    """Every action of the pod's retros: open, overdue and done, with the measured effect."""
    actions = list(
        db.session.scalars(
            select(RetroAction)
            .options(selectinload(RetroAction.owner), selectinload(RetroAction.retro))
            .where(RetroAction.pod_id == pod.id)
            .order_by(RetroAction.due_date, RetroAction.id)
        )
    )
    today = retros.local_today(pod)
    return render_template("retros/register.html", pod=pod, today=today, scopes=_scope_names(),
                           **_shelves(actions, today))


def _shelves(actions: list[RetroAction], today: date) -> dict[str, list[RetroAction]]:
    """The register's lists, in due-date order: open and not yet due, overdue (the action's own rule), done, dropped."""
    shelves: dict[str, list[RetroAction]] = {"open_actions": [], "overdue": [], "done": [], "dropped": []}
    for action in actions:
        if action.is_open:
            shelves["overdue" if action.is_overdue(today) else "open_actions"].append(action)
        elif action.status in shelves:
            shelves[action.status].append(action)
    return shelves


def _scope_names() -> dict[tuple[str, int], str]:
    names = {("segment", s.id): s.name for s in db.session.scalars(select(Segment))}
    names.update({("stage", s.id): s.name for s in db.session.scalars(select(LifecycleStage))})
    return names


# --- the retro --------------------------------------------------------------------------------------


@bp.route("/retros/<int:retro_id>")
@authorize(Retro, "retros.view", options=WITH_POD)
def retro_page(retro: Retro):
    board = load_board(retro, current_user)
    response = make_response(render_template("retros/retro.html", board=board, poll_url=_poll_url(board)))
    response.headers["Vary"] = "HX-Request"
    return response


def _poll_url(board) -> str:
    """The live check of this page: a signed token (so an unchanged retro is a 204 before sessions and users are
    loaded, see app/live.py), the version and phase the page shows."""
    retro = board.retro
    sees = "participant" if board.participant else "watcher"
    token = live.sign(current_app.config["SECRET_KEY"], "retro", retro.id, current_user.id, sees, str(get_locale()))
    return url_for("retros.board", retro_id=retro.id, t=token, v=retro.version, phase=retro.phase)


@bp.route("/retros/<int:retro_id>/board")
@login_required
def board(retro_id: int):
    """The live check. 204 while the caller's version is current (app/live.py answers most of those before this
    view); otherwise the poller at the new version and only what changed: after a phase change everything
    that follows the retro, in reflect the counts of others' cards, at check-in the count of answers, in the
    other phases the board."""
    retro = db.session.scalar(select(Retro).where(Retro.id == retro_id))
    if retro is None:
        abort(404)
    require("retros.view", retro.pod_id)
    return board_answer(retro)


def board_answer(retro: Retro) -> Response:
    """The live check's answer to someone who may see ``retro`` (also the lean path's, app/retros/writes.py)."""
    if request.args.get("v") == str(retro.version):
        return Response(status=204, headers={"Cache-Control": "no-store"})
    known_phase = request.args.get("phase")
    if known_phase == retro.phase and retro.phase in (Phase.REFLECT.value, Phase.CHECKIN.value):
        # Someone else's card or pulse: the counts alone, without loading the board.
        view = SimpleNamespace(retro=retro, participant=can(current_user, "retros.take_part", retro))
        if retro.phase == Phase.REFLECT.value:
            part = render_template(
                "retros/_reflect_counts.html",
                board=SimpleNamespace(columns=reflect_counts(retro, current_user)),
                oob=True,
            )
        else:
            part = render_template(
                "retros/_pulse_count.html", board=SimpleNamespace(pulse_count=pulse_count(retro)), oob=True
            )
        return _live_answer(render_template("retros/_poll.html", board=view, poll_url=_poll_url(view)) + part)
    return _live_answer(_changed(retro, phase_changed=known_phase != retro.phase))


def _live_answer(body: str | bytes) -> Response:
    response = make_response(body)
    response.headers["Cache-Control"] = "no-store"
    return response


# Answers to a changed poll that are the same for everyone in the same situation. When a phase starts, 60 pages ask
# at once; on a board being grouped or discussed every change sends the board to every page again. Where no card
# cites a case (shown as each viewer may see it), what the grouping, discussion and closed boards show differs only
# by the viewer's roles, language and time zone, and the vote board too before the viewer's first vote: a 480-card
# board is 20-40 ms to render unloaded, 60 of them were seconds of CPU with the room waiting. Rendered once for all
# workers (live.shared_render: Redis when configured) and keyed by the retro's version, so a change never serves
# an old one; the viewer's own parts are slots filled in per answer (_fill).
_CSRF_SLOT = "\x00csrf\x00"
_SLOTS = re.compile("(\x00csrf\x00|\x00owner-[0-9]+\x00)")
# Renders cut at their slots (see _fill), by their text: a dict lookup hashes the text once, then compares by identity
# for the very text shared_render keeps.
_SLICED: OrderedDict[str, list] = OrderedDict()
_SHARED_PHASES = (Phase.GROUP.value, Phase.DISCUSS.value, Phase.CLOSED.value)


def _changed(retro: Retro, phase_changed: bool) -> bytes:
    """The poller at the current version and, after a phase change, everything that follows the phase (the
    facilitation, the phase list, the board), otherwise the board."""
    participant = can(current_user, "retros.take_part", retro)
    view = SimpleNamespace(retro=retro, participant=participant)
    poll = render_template("retros/_poll.html", board=view, poll_url=_poll_url(view))
    template = "retros/_live_oob.html" if phase_changed else "retros/_board.html"
    if retro.phase in _SHARED_PHASES or (retro.phase == Phase.VOTE.value and not tally_of(retro, current_user)):
        key = repr((
            template,
            retro.id,
            retro.created_at.isoformat(),  # an id SQLite gave again after a delete, or a test database's, is another
            retro.version,
            str(get_locale()),
            str(get_timezone()),
            participant,
            can(current_user, "retros.facilitate", retro),
            can(current_user, "retros.run", retro.pod_id),
        ))
        return poll.encode() + _fill(live.shared_render(key, lambda: _render_shared(retro.id, template, shareable=True)))
    return poll.encode() + _fill(_render_shared(retro.id, template)[0], keep=False)


def _render_shared(retro_id: int, template: str, shareable: bool = False) -> tuple[str, bool]:
    """``template`` for the current viewer with slots for what is theirs alone (see _fill), and whether anyone else in
    the same situation sees the same (no vote of the viewer's on the vote board, no card citing a case they may or
    may not see)."""
    board = load_board(db.session.scalar(select(Retro).options(*WITH_POD).where(Retro.id == retro_id)), current_user)
    board.shared = True
    text = render_template(template, board=board, oob=True).replace(generate_csrf(), _CSRF_SLOT)
    if shareable:
        cards = [c for col in board.columns for c in col.cards] + [c for g in board.group_cards.values() for c in g]
        shareable = not (board.phase == Phase.VOTE.value and board.votes_used) and not any(c.case_ref for c in cards)
    return text, shareable


def _fill(text: str, keep: bool = True) -> bytes:
    """A render with slots made the viewer's: their own CSRF token, themselves as a new action's default owner.
    The render is cut at its slots once per process (a 400 KB board has a slot in each of its ~500 forms; replacing
    them and encoding the whole text again for each of 60 viewers was half of each shared answer's CPU), so each
    answer only joins the cut pieces with its own values."""
    pieces = _SLICED.get(text) if keep else None
    if pieces is None:
        pieces = [piece.encode() if index % 2 == 0 else piece for index, piece in enumerate(_SLOTS.split(text))]
        if keep:  # a render only this viewer sees is cut once and not kept
            _SLICED[text] = pieces
            while len(_SLICED) > 16:
                _SLICED.popitem(last=False)
    csrf, mine = generate_csrf().encode(), _OWNER_SLOT % current_user.id
    return b"".join(
        piece if index % 2 == 0 else csrf if piece == _CSRF_SLOT else b"selected" if piece == mine else b""
        for index, piece in enumerate(pieces)
    )


# --- exports ----------------------------------------------------------------------------------------


def _closed(retro: Retro):
    """The board of a closed retro as exports show it (no list of people)."""
    if not retro.is_closed:
        abort(409, description=_("Exports are ready once the retro is closed."))
    return load_board(retro, current_user, with_people=False)


def _download(retro: Retro, body: str, extension: str, mimetype: str) -> Response:
    return Response(
        body, mimetype=mimetype, headers={"Content-Disposition": f'attachment; filename="retro-{retro.id}.{extension}"'}
    )


@bp.route("/retros/<int:retro_id>/export.md")
@authorize(Retro, "retros.view", options=WITH_POD)
def export_markdown(retro: Retro):
    return _download(retro, exports.markdown(_closed(retro)), "md", "text/markdown")


@bp.route("/retros/<int:retro_id>/export.csv")
@authorize(Retro, "retros.view", options=WITH_POD)
def export_csv(retro: Retro):
    return csv_response(exports.csv_text(_closed(retro)), f"retro-{retro.id}.csv")


@bp.route("/retros/<int:retro_id>/summary")
@authorize(Retro, "retros.view", options=WITH_POD)
def summary(retro: Retro):
    return render_template("retros/summary.html", board=_closed(retro), scopes=_scope_names())
