"""Every write to a retro; each one checks its phase with a conditional write that also bumps the version.

A write starts with `_touch`: `UPDATE retros SET version = version + 1 WHERE id = ? AND phase = ?`.
It is the phase check (a stale page gets a clear message), the lock that orders concurrent writes to
one retro (a row lock on PostgreSQL; BEGIN IMMEDIATE on SQLite) and the signal pollers look for.
Vote budgets and per-item caps are conditional UPDATEs on counter rows, never read-then-write.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from flask_babel import lazy_gettext as _l
from sqlalchemy import bindparam, delete, func, insert, literal_column, or_, select, true, update
from sqlalchemy import text as sql_text
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.exc import DataError
from sqlalchemy.orm import make_transient_to_detached
from sqlalchemy.orm.attributes import set_committed_value

from app import live
from app.errors import ServiceError
from app.extensions import begin_write, db, dialect_insert, inserted
from app.formatting import NAMED_LOCALES, clean_names
from app.forms import parse_int
from app.notifications.services import notify, register_kind
from app.org.models import LifecycleStage, Pod, Segment, User
from app.org.principles import Principle
from app.permissions import can
from app.retros import effects
from app.retros.catalog import BUILTIN_TEMPLATES, CUSTOMER_JOURNEY
from app.retros.models import (
    OPEN_STATUSES,
    PHASES,
    STORED_DIRECTION,
    ActionStatus,
    Phase,
    Retro,
    RetroAction,
    RetroCard,
    RetroCheckin,
    RetroGroup,
    RetroNote,
    RetroTemplate,
    RetroVote,
    RetroVoteTally,
    next_phase,
    phase_label,
)
from app.timeutil import to_local, utcnow
from app.validators import forbidden_characters

MAX_CARD = 500
MAX_NOTE = 1000
MAX_TITLE = 120
MAX_TEMPLATE_NAME = 80
MAX_COLUMN_TITLE = 60
MAX_ACTION = 200
MAX_TIMER_MINUTES = 120
MAX_COLUMNS = 8

register_kind("retro_action_due", _l("Your retro action “%(title)s” is due on %(due)s."))
register_kind("retro_action_overdue", _l("Your retro action “%(title)s” was due on %(due)s and is still open."))


class RetroError(ServiceError):
    """A rule of retros was broken; the message is shown to the user and the status is the HTTP answer.
    ``stale``: the page asked for an action of a phase the retro has left (an htmx page then reloads)."""

    status = 400


def parse_ref(value: str | None, kinds: tuple[str, ...]) -> tuple[str, int] | None:
    """``"card-12"`` → ("card", 12) when the kind is one of ``kinds`` and the id a stored one; else None."""
    kind, _sep, raw = (value or "").strip().partition("-")
    ident = parse_int(raw, minimum=1)
    return (kind, ident) if kind in kinds and ident is not None else None


# --- the write guard --------------------------------------------------------------------------------


_RETROS = Retro.__table__
# The guard of the commonest writes (a card, a vote with totals shown, a note...), built once; a poll-heavy room
# makes hundreds of them a minute. It runs on the session's connection: a write calls _touch before it changes
# anything through the session, so there is nothing to flush first.
_BUMP_IN_PHASE = (
    update(_RETROS)
    .where(_RETROS.c.id == bindparam("retro"), _RETROS.c.phase == bindparam("in_phase"))
    .values(version=_RETROS.c.version + 1)
    .returning(_RETROS.c.version)
)


def _touch(retro: Retro, in_phase: str | None, /, **values) -> None:
    """Bump the version if the retro is still in `in_phase` (None: any phase but closed), else refuse."""
    begin_write()
    if in_phase and not values:
        version = (
            db.session.connection().execute(_BUMP_IN_PHASE, {"retro": retro.id, "in_phase": in_phase}).scalar()
        )
    else:
        condition = Retro.phase == in_phase if in_phase else Retro.phase != Phase.CLOSED.value
        version = db.session.execute(
            update(Retro)
            .where(Retro.id == retro.id, condition)
            .values(version=Retro.version + 1, **values)
            .returning(Retro.version)
            .execution_options(synchronize_session=False)
        ).scalar()
    if version is None:
        _refuse_stale(retro, in_phase)
    live.changed(db.session, "retro", retro.id, version)
    for key, value in values.items():  # what was written
        set_committed_value(retro, key, value)
    set_committed_value(retro, "version", version)


def _refuse_stale(retro: Retro, in_phase: str | None) -> None:
    current = db.session.scalar(select(Retro.phase).where(Retro.id == retro.id))
    db.session.expire(retro)
    if in_phase is None:
        raise RetroError(_l("This retro is closed; nothing can change any more."), 409)
    raise RetroError(
        _l(
            "This retro has moved on to “%(phase)s”; your page was out of date. It now shows the current phase.",
            phase=phase_label(current or ""),
        ),
        409,
        stale=True,
    )


def _require_participant(actor: User, retro: Retro) -> None:
    if not can(actor, "retros.take_part", retro):
        raise RetroError(_l("Only members and coaches of this pod take part in its retros."), 403)


def _require_facilitator(actor: User, retro: Retro) -> None:
    if not can(actor, "retros.facilitate", retro):
        raise RetroError(_l("Only the facilitator can do this."), 403)


def _clean(value: str | None, limit: int, what, required: bool = True) -> str:
    value = (value or "").strip()
    if required and not value:
        raise RetroError(_l("%(what)s cannot be empty.", what=what), 422)
    if len(value) > limit:
        raise RetroError(_l("%(what)s is too long (at most %(limit)s characters).", what=what, limit=limit), 422)
    if forbidden_characters(value):
        raise RetroError(_l("%(what)s contains characters that are not allowed.", what=what), 422)
    return value


def local_today(pod: Pod, now: datetime | None = None) -> date:
    return to_local(now or utcnow(), pod.timezone).date()


# --- templates and creation -------------------------------------------------------------------------


def template_columns(pod: Pod, template_key: str) -> tuple[str, list[dict]]:
    """The name and columns a new retro gets from a built-in template or one of the pod's own (a column of a pod's
    template may carry its titles per language: {"key", "title", "titles": {"es": ..., "it": ...}})."""
    if template_key == CUSTOMER_JOURNEY:
        stages = db.session.scalars(
            select(LifecycleStage).where(LifecycleStage.active).order_by(LifecycleStage.position, LifecycleStage.id)
        ).all()
        if not stages:
            raise RetroError(_l("The organisation has no lifecycle stages yet."), 422)
        return str(BUILTIN_TEMPLATES[CUSTOMER_JOURNEY][0]), [{"key": f"stage-{s.id}", "title": s.name} for s in stages]
    if template_key in BUILTIN_TEMPLATES:
        name, columns = BUILTIN_TEMPLATES[template_key]
        return str(name), [{"key": key, "title": None} for key, _title in columns]
    custom = parse_ref(template_key, ("custom",))
    if custom is not None:
        template = db.session.get(RetroTemplate, custom[1])
        if template is not None and template.pod_id == pod.id:
            return template.name, list(template.columns)
    raise RetroError(_l("Choose one of the templates offered."), 422)


def create_retro(
    actor: User,
    pod: Pod,
    *,
    title: str,
    template_key: str,
    facilitator: User | None,
    anonymous: bool = True,
    votes_per_person: int = 5,
    max_votes_per_item: int = 3,
    hide_votes: bool = True,
    grouping: str = "everyone",
    now: datetime | None = None,
) -> Retro:
    """Open a retro for a pod; a pod has at most one retro that is not closed (a unique index holds it)."""
    now = now or utcnow()
    if not can(actor, "retros.run", pod):
        raise RetroError(_l("Only a coach of this pod can open a retro."), 403)
    title = _clean(title, MAX_TITLE, _l("The title"))
    template_name, columns = template_columns(pod, template_key)
    custom = parse_ref(template_key, ("custom",))
    template_names = getattr(db.session.get(RetroTemplate, custom[1]), "names", None) if custom is not None else None
    facilitator = facilitator or actor
    if not can(facilitator, "retros.take_part", pod) and facilitator.id != actor.id:
        raise RetroError(_l("The facilitator must be a member or coach of the pod."), 422)
    if not 1 <= votes_per_person <= 50:
        raise RetroError(_l("Votes per person must be between 1 and 50."), 422)
    if not 1 <= max_votes_per_item <= votes_per_person:
        raise RetroError(_l("Votes on one item must be between 1 and the votes per person."), 422)
    if grouping not in ("everyone", "facilitator"):
        raise RetroError(_l("Choose who may group cards."), 422)
    retro = Retro(
        pod_id=pod.id,
        title=title,
        template_key=template_key,
        template_name=template_name,
        template_names=template_names,
        columns=columns,
        facilitator_id=facilitator.id,
        anonymous=anonymous,
        votes_per_person=votes_per_person,
        max_votes_per_item=max_votes_per_item,
        hide_votes=hide_votes,
        grouping=grouping,
        phase=Phase.CHECKIN.value,
        phase_started_at=now,
        version=1,
        created_by_id=actor.id,
        created_at=now,
    )
    if not inserted(retro):
        raise RetroError(_l("This pod already has a retro in progress; close it before opening another."), 409)
    return retro


def suggested_facilitator(pod: Pod, candidates: list[User]) -> User | None:
    """Rotation: the candidate who facilitated this pod's retros least often (then least recently)."""
    if not candidates:
        return None
    rows = db.session.execute(
        select(Retro.facilitator_id, func.count(), func.max(Retro.created_at))
        .where(Retro.pod_id == pod.id)
        .group_by(Retro.facilitator_id)
    ).all()
    stats = {fid: (count, last) for fid, count, last in rows}
    return min(
        candidates,
        key=lambda u: (stats.get(u.id, (0, datetime.min))[0], stats.get(u.id, (0, datetime.min))[1], u.display_name),
    )


def save_template(
    actor: User,
    pod: Pod,
    *,
    name: str,
    columns_text: str,
    now: datetime | None = None,
    names: dict | None = None,
    columns_in: dict | None = None,
) -> RetroTemplate:
    """Save a pod's own template: a name and one column title per line (2 to 8 columns).

    ``names`` ({"es": ..., "it": ...}) name it per language and ``columns_in`` ({"es": "one title per line"})
    title its columns per language, line for line; the base name and titles serve every other language."""
    if not can(actor, "retros.run", pod):
        raise RetroError(_l("Only a coach of this pod can save templates for it."), 403)
    name = _clean(name, MAX_TEMPLATE_NAME, _l("The name"))
    titles = _column_titles(columns_text)
    if not 2 <= len(titles) <= MAX_COLUMNS:
        raise RetroError(_l("A template needs between 2 and 8 columns, one per line."), 422)
    if len({t.casefold() for t in titles}) != len(titles):
        raise RetroError(_l("Column titles must differ."), 422)
    names = clean_names(
        {
            lang: _clean((names or {}).get(lang), MAX_TEMPLATE_NAME, _l("The name"), required=False)
            for lang in NAMED_LOCALES
        }
    )
    columns = [{"key": f"c{i}", "title": t} for i, t in enumerate(titles, start=1)]
    for lang in NAMED_LOCALES:
        translated = _column_titles((columns_in or {}).get(lang))
        if not translated:
            continue
        if len(translated) != len(titles):
            raise RetroError(_l("Give the columns in each language line for line: as many lines as the columns."), 422)
        for column, title in zip(columns, translated, strict=True):
            column.setdefault("titles", {})[lang] = title
    template = RetroTemplate(
        pod_id=pod.id, name=name, names=names, created_by_id=actor.id, created_at=now or utcnow(), columns=columns
    )
    if not inserted(template):
        raise RetroError(_l("This pod already has a template with this name."), 409)
    return template


def _column_titles(text: str | None) -> list[str]:
    """A template's column titles, one a line (blank lines skipped)."""
    return [_clean(line, MAX_COLUMN_TITLE, _l("A column title")) for line in (text or "").splitlines() if line.strip()]


def delete_template(actor: User, template: RetroTemplate) -> None:
    if not can(actor, "retros.run", template):
        raise RetroError(_l("Only a coach of this pod can delete its templates."), 403)
    db.session.delete(template)
    db.session.flush()


# --- facilitation -----------------------------------------------------------------------------------


def advance_phase(actor: User, retro: Retro, from_phase: str, now: datetime | None = None) -> str:
    """Move the retro to the phase after `from_phase`; leaving reflect erases authors of anonymous cards."""
    now = now or utcnow()
    _require_facilitator(actor, retro)
    target = next_phase(from_phase) if from_phase in {p.value for p in Phase} else None
    if target is None:
        raise RetroError(_l("This retro is closed; nothing can change any more."), 409)
    anonymous = retro.anonymous
    values = {"phase": target, "phase_started_at": now, "phase_ends_at": None}
    if target == Phase.CLOSED.value:
        values["closed_at"] = now
    if from_phase == Phase.REFLECT.value and anonymous:
        values["authors_erased"] = True
    _touch(retro, from_phase, **values)
    if from_phase == Phase.REFLECT.value and anonymous:
        db.session.execute(
            update(RetroCard)
            .where(RetroCard.retro_id == retro.id)
            .values(author_id=None)
            .execution_options(synchronize_session=False)
        )
    if from_phase == Phase.GROUP.value:
        used = select(RetroCard.group_id).where(RetroCard.retro_id == retro.id, RetroCard.group_id.is_not(None))
        db.session.execute(
            delete(RetroGroup)
            .where(RetroGroup.retro_id == retro.id, RetroGroup.id.not_in(used))
            .execution_options(synchronize_session=False)
        )
    for obj in list(db.session.identity_map.values()):  # authors and groups may have changed in the database
        if isinstance(obj, (RetroCard, RetroGroup)):
            db.session.expire(obj)
    return target


def set_timer(actor: User, retro: Retro, phase: str, minutes: int, now: datetime | None = None) -> None:
    """Start (or clear, with 0 minutes) the countdown everyone sees for the current phase."""
    now = now or utcnow()
    _require_facilitator(actor, retro)
    if phase not in PHASES:
        raise RetroError(_l("Choose the phase the timer is for."), 422)
    if not 0 <= minutes <= MAX_TIMER_MINUTES:
        raise RetroError(_l("A timer runs between 1 and 120 minutes (0 clears it)."), 422)
    _touch(retro, phase, phase_ends_at=now + timedelta(minutes=minutes) if minutes else None)


def set_facilitator(actor: User, retro: Retro, facilitator: User) -> None:
    """Hand facilitation to another member or coach of the pod."""
    _require_facilitator(actor, retro)
    if not can(facilitator, "retros.take_part", retro):
        raise RetroError(_l("The facilitator must be a member or coach of the pod."), 422)
    _touch(retro, None, facilitator_id=facilitator.id)


# --- check-in and review ----------------------------------------------------------------------------


def submit_checkin(actor: User, retro: Retro, pulse: int) -> None:
    """Record (or change) the actor's pulse; only the aggregate is ever shown."""
    _require_participant(actor, retro)
    if not 1 <= pulse <= 5:
        raise RetroError(_l("Choose a pulse from 1 to 5."), 422)
    _touch(retro, Phase.CHECKIN.value)
    statement = dialect_insert(RetroCheckin).values(retro_id=retro.id, user_id=actor.id, pulse=pulse)
    db.session.execute(statement.on_conflict_do_update(index_elements=["retro_id", "user_id"], set_={"pulse": pulse}))


def actions_to_review(retro: Retro) -> list[RetroAction]:
    """Open actions of the pod's earlier retros, plus those already reviewed in this one."""
    return list(
        db.session.scalars(
            select(RetroAction)
            .join(Retro, RetroAction.retro_id == Retro.id)
            .where(
                RetroAction.pod_id == retro.pod_id,
                RetroAction.retro_id != retro.id,
                Retro.created_at <= retro.created_at,
                or_(RetroAction.status.in_(OPEN_STATUSES), RetroAction.reviewed_in_id == retro.id),
            )
            .order_by(RetroAction.due_date, RetroAction.id)
        )
    )


def review_action(actor: User, retro: Retro, action: RetroAction, status: str, now: datetime | None = None) -> None:
    """Mark a past action done, not done (it stays open) or dropped; done ones get their effect measured."""
    now = now or utcnow()
    _require_participant(actor, retro)
    if status not in (ActionStatus.DONE.value, ActionStatus.NOT_DONE.value, ActionStatus.DROPPED.value):
        raise RetroError(_l("Choose done, not done or dropped."), 422)
    if (
        action.pod_id != retro.pod_id
        or action.retro_id == retro.id
        or not (action.is_open or action.reviewed_in_id == retro.id)
    ):
        raise RetroError(_l("This action is not up for review in this retro."), 404)
    _touch(retro, Phase.REVIEW.value)
    action.status = status
    action.reviewed_in_id = retro.id
    action.closed_at = now if status != ActionStatus.NOT_DONE.value else None
    if status == ActionStatus.DONE.value and action.metric_code:
        record_result(action, now)
    db.session.flush()


def record_result(action: RetroAction, now: datetime) -> None:
    """Measure a done action's metric over the four weeks before today, for baseline → now."""
    pod = db.session.get(Pod, action.pod_id)
    figure = effects.measure(
        action.metric_code,
        day=local_today(pod, now),
        tz=pod.timezone,
        pod_id=pod.id,
        scope_kind=action.scope_kind,
        scope_id=action.scope_id,
    )
    if figure is not None:
        action.result_start, action.result_end = figure.start, figure.end
        action.result_value, action.result_numerator, action.result_denominator = (
            figure.value,
            figure.numerator,
            figure.denominator,
        )


# --- reflect ----------------------------------------------------------------------------------------


def add_card(
    actor: User,
    retro: Retro,
    *,
    column_key: str,
    text: str,
    case_ref: str | None = None,
    metric_code: str | None = None,
    now: datetime | None = None,
) -> RetroCard:
    """Write a card in reflect; nobody else sees its text until the phase ends."""
    _require_participant(actor, retro)
    if column_key not in retro.column_keys():
        raise RetroError(_l("Choose one of the retro's columns."), 422)
    text = _clean(text, MAX_CARD, _l("The card"))
    case_ref = _clean(case_ref, 64, _l("The case id"), required=False) or None
    metric_code = (metric_code or "").strip() or None
    if metric_code and metric_code not in effects.metric_codes():
        raise RetroError(_l("Choose one of the metrics offered."), 422)
    values = {
        "retro_id": retro.id,
        "column_key": column_key,
        "text": text,
        "author_id": actor.id,
        "case_ref": case_ref,
        "metric_code": metric_code,
        "group_id": None,
        "created_at": now or utcnow(),
    }
    # One INSERT ... RETURNING rather than a unit-of-work flush (a card is the commonest write of a full room);
    # the card joins the session as if loaded, so callers use it as any other. On PostgreSQL the version bump that
    # checks the phase and the insert are one statement (one round trip to the database instead of two).
    connection = db.session.connection()
    others = None
    if connection.dialect.name == "postgresql":
        rows = connection.execute(
            _BUMP_AND_INSERT_CARD,
            {
                "retro": retro.id,
                "in_phase": Phase.REFLECT.value,
                "viewer": actor.id,
                **{"card_" + k: v for k, v in values.items()},
            },
        ).all()
        if not rows:
            _refuse_stale(retro, Phase.REFLECT.value)
        row = rows[0]
        card_id = row.id
        live.changed(db.session, "retro", retro.id, row.version)
        set_committed_value(retro, "version", row.version)
        if row.version == row.seen + 1:
            # Nothing else changed the retro between the statement's snapshot and its bump (every write of a card
            # bumps the version in its own statement): the counts it read are exactly those of the new version,
            # and the author's answer needs no statement of its own to read them (board.card_view).
            others = {found.column_key: found.cards for found in rows if found.column_key is not None}
    else:
        _touch(retro, Phase.REFLECT.value)
        card_id = connection.execute(_INSERT_CARD, values).scalar_one()
    card = RetroCard(id=card_id, **values)
    make_transient_to_detached(card)
    db.session.add(card)
    card.others_by_column = others
    return card


_INSERT_CARD = insert(RetroCard.__table__).returning(RetroCard.__table__.c.id)

# Built once: while reflecting, how many cards others wrote in each column (the page's counts; every card's answer
# and every reflect poll reads it).
OTHERS_BY_COLUMN = (
    select(RetroCard.__table__.c.column_key, func.count().label("cards"))
    .where(
        RetroCard.__table__.c.retro_id == bindparam("retro"),
        RetroCard.__table__.c.author_id.is_(None) | (RetroCard.__table__.c.author_id != bindparam("viewer")),
    )
    .group_by(RetroCard.__table__.c.column_key)
)


def _bump_and_insert_card():
    """PostgreSQL: the guard's version bump (no row when the retro has left reflect) and, only after it, the card
    (``INSERT ... SELECT ... FROM`` the bump): one statement returning the new version and the card's id, with the
    version and the counts of others' cards by column (a row per column that has some) as its snapshot saw them
    (every part of one statement reads the same snapshot; the bump alone waits for and sees a later commit)."""
    cards = RetroCard.__table__
    bump = (  # _BUMP_IN_PHASE's statement, its SET written so that no parameter can add to it
        update(_RETROS)
        .where(_RETROS.c.id == bindparam("retro"), _RETROS.c.phase == bindparam("in_phase"))
        .values({_RETROS.c.version: _RETROS.c.version + literal_column("1")})
        .returning(_RETROS.c.version)
        .cte("bump")
    )
    names = ("retro_id", "column_key", "text", "author_id", "case_ref", "metric_code", "group_id", "created_at")
    # The card's values are bound as "card_<column>": a parameter named like a column of retros (created_at) would
    # be taken by SQLAlchemy as a value for the UPDATE's SET clause too.
    source = select(*(bindparam("card_" + name, type_=cards.c[name].type) for name in names)).select_from(bump)
    card = insert(cards).from_select(names, source).returning(cards.c.id).cte("card")
    seen = select(_RETROS.c.version.label("seen")).where(_RETROS.c.id == bindparam("retro")).cte("seen")
    others = OTHERS_BY_COLUMN.cte("others")
    return (
        select(bump.c.version, card.c.id, seen.c.seen, others.c.column_key, others.c.cards)
        .select_from(bump)
        .join(card, true())
        .join(seen, true())
        .outerjoin(others, true())
    )


_BUMP_AND_INSERT_CARD = _bump_and_insert_card()


def _own_card(actor: User, retro: Retro, card: RetroCard) -> None:
    if card.retro_id != retro.id or card.author_id != actor.id:
        raise RetroError(_l("You can change only your own cards."), 403)


def edit_card(actor: User, retro: Retro, card: RetroCard, *, text: str) -> None:
    _require_participant(actor, retro)
    _own_card(actor, retro, card)
    text = _clean(text, MAX_CARD, _l("The card"))
    _touch(retro, Phase.REFLECT.value)
    card.text = text
    db.session.flush()


def delete_card(actor: User, retro: Retro, card: RetroCard) -> None:
    _require_participant(actor, retro)
    _own_card(actor, retro, card)
    _touch(retro, Phase.REFLECT.value)
    db.session.delete(card)
    db.session.flush()


# --- group ------------------------------------------------------------------------------------------


def _require_grouper(actor: User, retro: Retro) -> None:
    if not can(actor, "retros.group", retro):
        if retro.grouping == "facilitator":
            raise RetroError(_l("Only the facilitator can do this."), 403)
        _require_participant(actor, retro)


def create_group(actor: User, retro: Retro, *, title: str) -> RetroGroup:
    _require_grouper(actor, retro)
    title = _clean(title, MAX_TITLE, _l("The group name"))
    _touch(retro, Phase.GROUP.value)
    group = RetroGroup(retro_id=retro.id, title=title)
    db.session.add(group)
    db.session.flush()
    return group


def rename_group(actor: User, retro: Retro, group: RetroGroup, *, title: str) -> None:
    _require_grouper(actor, retro)
    if group.retro_id != retro.id:
        raise RetroError(_l("This group is not part of this retro."), 404)
    title = _clean(title, MAX_TITLE, _l("The group name"))
    _touch(retro, Phase.GROUP.value)
    group.title = title
    db.session.flush()


def move_card(actor: User, retro: Retro, card: RetroCard, target: str) -> RetroGroup | None:
    """Move a card into a group ("group-<id>"), onto another card ("card-<id>"), a new group ("new") or out ("none")."""
    _require_grouper(actor, retro)
    if card.retro_id != retro.id:
        raise RetroError(_l("This card is not part of this retro."), 404)
    target = (target or "").strip()
    ref = parse_ref(target, ("group", "card"))
    if target not in ("new", "none") and ref is None:
        raise RetroError(_l("Choose where to move the card."), 422)
    kind, ident = ref or (target, 0)
    _touch(retro, Phase.GROUP.value)
    group = None
    if target == "new":
        group = RetroGroup(retro_id=retro.id, title=_truncate(card.text))
        db.session.add(group)
        db.session.flush()
    elif kind == "group":
        group = db.session.get(RetroGroup, ident)
        if group is None or group.retro_id != retro.id:
            raise RetroError(_l("This group no longer exists; the board has been refreshed."), 409)
    elif kind == "card":
        other = db.session.get(RetroCard, ident)
        if other is None or other.retro_id != retro.id or other.id == card.id:
            raise RetroError(_l("That card cannot take this one."), 409)
        if other.group_id is None:
            group = RetroGroup(retro_id=retro.id, title=_truncate(other.text))
            db.session.add(group)
            db.session.flush()
            other.group_id = group.id
        else:
            group = db.session.get(RetroGroup, other.group_id)
    card.group_id = group.id if group else None
    db.session.flush()
    return group


def _truncate(text: str, limit: int = 60) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


# --- vote -------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class VoteState:
    """What a vote changed for the voter: the item, its title, their dots on it and their budget spent."""

    key: str
    title: str
    mine: int
    used: int
    budget: int
    cap: int


@functools.cache
def _item_query(card: bool, hold: bool):
    """Built once per kind: the item voted on (its retro, its group, its title), with the retro's phase under a
    shared lock when ``hold``."""
    table = RetroCard.__table__ if card else RetroGroup.__table__
    on = table.c.id == bindparam("item")
    columns = (table.c.retro_id, table.c.group_id, table.c.text.label("title")) if card else (
        table.c.retro_id, table.c.title)
    if not hold:
        return select(*columns).where(on)
    return (
        select(_RETROS.c.phase, *columns)
        .select_from(_RETROS)
        .outerjoin(table, on)
        .where(_RETROS.c.id == bindparam("retro"))
        .with_for_update(read=True, of=_RETROS)
    )


@functools.cache
def _vote_upserts(dialect: str, target: str):
    """Built once per database and kind of item: the voter's tally (moves only while under the budget) and their
    dots on the item (only while under the cap); a guard that fails returns no row."""
    make = pg_insert if dialect == "postgresql" else sqlite_insert
    tallies, votes = RetroVoteTally.__table__, RetroVote.__table__
    tally = make(tallies).values(retro_id=bindparam("retro"), user_id=bindparam("user"), used=1)
    tally = tally.on_conflict_do_update(
        index_elements=["retro_id", "user_id"],
        set_={"used": tallies.c.used + 1},
        where=tallies.c.used < bindparam("budget"),
    ).returning(tallies.c.used)
    vote = make(votes).values(retro_id=bindparam("retro"), user_id=bindparam("user"), count=1,
                              **{target: bindparam("item")})
    vote = vote.on_conflict_do_update(
        index_elements=["user_id", target],
        set_={"count": votes.c.count + 1},
        where=votes.c.count < bindparam("cap"),
    ).returning(votes.c.count)
    return tally, vote


def _vote_target(retro: Retro, card_id: int | None, group_id: int | None) -> tuple[dict, str]:
    """The item voted on (404 when it is not part of the retro) and its title, with the phase checked in the same
    transaction: while totals are hidden a vote changes only the voter's own view, so it leaves the shared version
    (and everyone else's next poll) alone, and one statement both reads the item and holds the retro in its phase
    (a shared lock on PostgreSQL, which a phase change waits for; the write lock on SQLite)."""
    if (card_id is None) == (group_id is None):
        raise RetroError(_l("Vote on one card or one group."), 422)
    hold = retro.hide_votes
    if hold:
        begin_write()
    row = (
        db.session.connection()
        .execute(_item_query(card_id is not None, hold), {"retro": retro.id, "item": card_id or group_id})
        .first()
    )
    if row is None or row.retro_id != retro.id:
        if card_id is not None:
            raise RetroError(_l("This card is not part of this retro."), 404)
        raise RetroError(_l("This group is not part of this retro."), 404)
    if card_id is not None and row.group_id is not None:
        raise RetroError(_l("This card is in a group: vote on the group."), 422)
    if hold and row.phase != Phase.VOTE.value:
        _refuse_stale(retro, Phase.VOTE.value)
    if not hold:
        _touch(retro, Phase.VOTE.value)
    return ({"card_id": card_id} if card_id is not None else {"group_id": group_id}), row.title


def _target_clause(target: dict):
    if "card_id" in target:
        return RetroVote.card_id == target["card_id"]
    return RetroVote.group_id == target["group_id"]


def _key_of(target: dict) -> str:
    return f"card-{target['card_id']}" if "card_id" in target else f"group-{target['group_id']}"


@functools.cache
def _vote_in_one(card: bool):
    """PostgreSQL, totals hidden: a vote's three statements as one (one round trip instead of three). The retro is
    held in its phase (a shared lock, which a phase change waits for) with the item read; only when the phase is
    vote and the item is the retro's (a card outside any group) does the voter's tally move, still only while under
    the budget, and only when it moved do their dots on the item, still only while under the cap. Every guard is the
    same as the separate statements'; the row tells which one failed. The statement is all or nothing by itself, so
    it may run outside a transaction (app/retros/writes.py): the dots already on the item, read with the retro,
    keep an item at its cap from moving the tally at all, and should a vote of the same person on the same item
    take the last dot meanwhile (the tally moved, the dots did not), the statement ends in an error (a division by
    zero, PostgreSQL having no RAISE in plain SQL) and nothing of it stays."""
    item = "retro_cards" if card else "retro_groups"
    title = "text" if card else "title"
    loose = " AND item_group IS NULL" if card else ""
    target = "card_id" if card else "group_id"
    return sql_text(
        f"""WITH hold AS (
    SELECT retros.phase, item.retro_id, {"item.group_id" if card else "NULL::integer"} AS item_group,
           item.{title} AS title,
           (SELECT d.count FROM retro_votes AS d WHERE d.user_id = :user AND d.{target} = :item) AS had,
           (SELECT s.used FROM retro_vote_tallies AS s WHERE s.retro_id = :retro AND s.user_id = :user) AS spent
    FROM retros LEFT OUTER JOIN {item} AS item ON item.id = :item
    WHERE retros.id = :retro FOR SHARE OF retros
), ok AS (
    SELECT 1 FROM hold WHERE phase = :phase AND retro_id = :retro{loose} AND coalesce(had, 0) < :cap
), tally AS (
    INSERT INTO retro_vote_tallies AS t (retro_id, user_id, used) SELECT :retro, :user, 1 FROM ok
    ON CONFLICT (retro_id, user_id) DO UPDATE SET used = t.used + 1 WHERE t.used < :budget
    RETURNING t.used
), vote AS (
    INSERT INTO retro_votes AS v (retro_id, user_id, count, {target}) SELECT :retro, :user, 1, :item FROM tally
    ON CONFLICT (user_id, {target}) DO UPDATE SET count = v.count + 1 WHERE v.count < :cap
    RETURNING v.count
)
SELECT hold.phase, hold.retro_id, hold.item_group AS group_id, hold.title, hold.had, hold.spent, tally.used,
       vote.count AS mine,
       1 / coalesce(vote.count, CASE WHEN tally.used IS NULL THEN 1 ELSE 0 END) AS whole
FROM hold LEFT OUTER JOIN tally ON true LEFT OUTER JOIN vote ON true"""
    )


def vote_is_one_statement(retro: Retro, dialect: str) -> bool:
    """Whether cast_vote writes with one statement, all or nothing by itself (see _vote_in_one)."""
    return retro.hide_votes and dialect == "postgresql"


def cast_vote(actor: User, retro: Retro, *, card_id: int | None = None, group_id: int | None = None) -> VoteState:
    """Put one dot on a card or group: within the person's budget and the per-item cap, atomically."""
    _require_participant(actor, retro)
    connection = db.session.connection()
    if (card_id is None) != (group_id is None) and vote_is_one_statement(retro, connection.dialect.name):
        return _cast_in_one(connection, actor, retro, card_id, group_id)
    target, title = _vote_target(retro, card_id, group_id)
    budget, cap = retro.votes_per_person, retro.max_votes_per_item  # fixed when the retro is opened (both >= 1)
    # Two upserts, each its own guard: the voter's tally row (its row lock orders one person's concurrent votes)
    # moves only while under the budget, the vote row only while under the cap; a guard that fails returns no row.
    connection = db.session.connection()
    (kind, item), = target.items()
    tally, vote = _vote_upserts(connection.dialect.name, kind)
    used = connection.execute(tally, {"retro": retro.id, "user": actor.id, "budget": budget}).scalar()
    if used is None:
        raise RetroError(
            _l("You have used all %(budget)s of your votes. Take one back to vote again.", budget=budget), 409
        )
    mine = connection.execute(vote, {"retro": retro.id, "user": actor.id, "item": item, "cap": cap}).scalar()
    if mine is None:
        raise RetroError(_l("You can put at most %(cap)s votes on one item.", cap=cap), 409)
    return VoteState(_key_of(target), title, mine, used, budget, cap)


def _cast_in_one(connection, actor: User, retro: Retro, card_id: int | None, group_id: int | None) -> VoteState:
    budget, cap = retro.votes_per_person, retro.max_votes_per_item
    values = {"retro": retro.id, "item": card_id or group_id, "user": actor.id, "phase": Phase.VOTE.value,
              "budget": budget, "cap": cap}
    try:
        row = connection.execute(_vote_in_one(card_id is not None), values).first()
    except DataError as error:  # the cap taken meanwhile by the same person's other vote: nothing was written
        if getattr(error.orig, "sqlstate", None) != "22012":  # division_by_zero: the statement's own guard
            raise
        raise RetroError(_l("You can put at most %(cap)s votes on one item.", cap=cap), 409) from None
    if row is None or row.retro_id != retro.id:  # the same answers, in the same order, as the separate statements
        if card_id is not None:
            raise RetroError(_l("This card is not part of this retro."), 404)
        raise RetroError(_l("This group is not part of this retro."), 404)
    if card_id is not None and row.group_id is not None:
        raise RetroError(_l("This card is in a group: vote on the group."), 422)
    if row.phase != Phase.VOTE.value:
        _refuse_stale(retro, Phase.VOTE.value)
    if row.used is None and not ((row.had or 0) >= cap and (row.spent or 0) < budget):
        raise RetroError(  # the budget is named first when both are spent, as the separate statements do
            _l("You have used all %(budget)s of your votes. Take one back to vote again.", budget=budget), 409
        )
    if row.used is None or row.mine is None:
        raise RetroError(_l("You can put at most %(cap)s votes on one item.", cap=cap), 409)
    target = {"card_id": card_id} if card_id is not None else {"group_id": group_id}
    return VoteState(_key_of(target), row.title, row.mine, row.used, budget, cap)


def remove_vote(actor: User, retro: Retro, *, card_id: int | None = None, group_id: int | None = None) -> VoteState:
    """Take one of the actor's dots back while voting is open."""
    _require_participant(actor, retro)
    target, title = _vote_target(retro, card_id, group_id)
    mine = db.session.execute(
        update(RetroVote)
        .where(RetroVote.user_id == actor.id, _target_clause(target), RetroVote.count > 0)
        .values(count=RetroVote.count - 1)
        .returning(RetroVote.count)
        .execution_options(synchronize_session=False)
    ).scalar()
    if mine is None:
        raise RetroError(_l("You have no vote on this item to take back."), 409)
    used = db.session.execute(
        update(RetroVoteTally)
        .where(RetroVoteTally.retro_id == retro.id, RetroVoteTally.user_id == actor.id, RetroVoteTally.used > 0)
        .values(used=RetroVoteTally.used - 1)
        .returning(RetroVoteTally.used)
        .execution_options(synchronize_session=False)
    ).scalar()
    return VoteState(_key_of(target), title, mine, used or 0, retro.votes_per_person, retro.max_votes_per_item)


def item_total(retro: Retro, key: str) -> int:
    """All dots on one item (shown once totals are)."""
    ref = parse_ref(key, ("card", "group"))
    if ref is None:
        return 0
    return db.session.scalar(
        select(func.coalesce(func.sum(RetroVote.count), 0)).where(
            RetroVote.retro_id == retro.id, _target_clause({f"{ref[0]}_id": ref[1]})
        )
    )


# --- discuss ----------------------------------------------------------------------------------------


def _topic(retro: Retro, topic: str | None, required: bool) -> dict:
    if not topic:
        if required:
            raise RetroError(_l("Choose a topic."), 422)
        return {}
    ref = parse_ref(topic, ("card", "group"))
    if ref is None:
        raise RetroError(_l("Choose a topic."), 422)
    kind, ident = ref
    model = RetroCard if kind == "card" else RetroGroup
    found = db.session.scalar(select(model.retro_id).where(model.id == ident))
    if found != retro.id:
        raise RetroError(_l("This topic is not part of this retro."), 404)
    return {f"{kind}_id": ident}


def add_note(actor: User, retro: Retro, *, topic: str, text: str, now: datetime | None = None) -> RetroNote:
    _require_participant(actor, retro)
    target = _topic(retro, topic, required=True)
    text = _clean(text, MAX_NOTE, _l("The note"))
    _touch(retro, Phase.DISCUSS.value)
    note = RetroNote(retro_id=retro.id, text=text, author_id=actor.id, created_at=now or utcnow(), **target)
    db.session.add(note)
    db.session.flush()
    return note


def create_action(
    actor: User,
    retro: Retro,
    *,
    title: str,
    owner: User | None,
    due_date: date | None,
    principle: str,
    topic: str | None = None,
    metric_code: str | None = None,
    scope_kind: str | None = None,
    scope_id: int | None = None,
    direction: str | None = None,
    now: datetime | None = None,
) -> RetroAction:
    """Agree an action; with an expected effect, its baseline is the metric over the four weeks before today."""
    now = now or utcnow()
    _require_participant(actor, retro)
    pod = db.session.get(Pod, retro.pod_id)
    title = _clean(title, MAX_ACTION, _l("The action"))
    if owner is None or not can(owner, "retros.take_part", retro):
        raise RetroError(_l("The owner must be a member or coach of the pod."), 422)
    today = local_today(pod, now)
    if due_date is None or due_date < today:
        raise RetroError(_l("Give a due date from today on."), 422)
    if principle not in {p.value for p in Principle}:
        raise RetroError(_l("Choose the principle this action serves."), 422)
    target = _topic(retro, topic, required=False)
    metric_code = (metric_code or "").strip() or None
    effect = {}
    if metric_code:
        choices = {code: direction for code, _name, direction in effects.metric_choices()}
        if metric_code not in choices:
            raise RetroError(_l("Choose one of the metrics offered."), 422)
        scope_kind = scope_kind or "pod"
        if scope_kind == "pod":
            scope_id = None
        elif scope_kind in ("segment", "stage"):
            model = Segment if scope_kind == "segment" else LifecycleStage
            if scope_id is None or db.session.get(model, scope_id) is None:
                raise RetroError(_l("Choose the segment or stage the effect is expected in."), 422)
        else:
            raise RetroError(_l("Choose pod, segment or stage as the scope."), 422)
        direction = direction or STORED_DIRECTION[choices[metric_code]]
        if direction not in ("up", "down"):
            raise RetroError(_l("Choose whether the metric should go up or down."), 422)
        effect = {"metric_code": metric_code, "scope_kind": scope_kind, "scope_id": scope_id, "direction": direction}
    _touch(retro, Phase.DISCUSS.value)
    action = RetroAction(
        retro_id=retro.id,
        pod_id=retro.pod_id,
        title=title,
        owner_id=owner.id,
        due_date=due_date,
        principle=principle,
        status=ActionStatus.OPEN.value,
        created_by_id=actor.id,
        created_at=now,
        **target,
        **effect,
    )
    if metric_code:
        baseline = effects.measure(
            metric_code, day=today, tz=pod.timezone, pod_id=pod.id, scope_kind=scope_kind, scope_id=scope_id
        )
        action.baseline_start, action.baseline_end = effects.window_before(today)
        if baseline is not None:
            action.baseline_value, action.baseline_numerator, action.baseline_denominator = (
                baseline.value,
                baseline.numerator,
                baseline.denominator,
            )
    db.session.add(action)
    db.session.flush()
    return action


# --- reminders --------------------------------------------------------------------------------------

DUE_SOON_DAYS = 2


def register_path(pod_id: int) -> str:
    """The action register's address, built without a request so scheduled jobs can link to it."""
    return f"/pods/{pod_id}/actions"


OVERDUE_EVERY_DAYS = 7


def remind_action_owners(now: datetime | None = None) -> int:
    """Tell owners of open actions due within two days, and of overdue ones (again weekly); returns how many.

    Each reminder is claimed by a compare-and-set on `reminded_on`, so two scheduler runs never send it twice.
    """
    now = now or utcnow()
    horizon = now.date() + timedelta(days=DUE_SOON_DAYS + 1)
    rows = db.session.execute(
        select(RetroAction, Pod.timezone)
        .join(Pod, Pod.id == RetroAction.pod_id)
        .where(
            RetroAction.status.in_(OPEN_STATUSES), RetroAction.owner_id.is_not(None), RetroAction.due_date <= horizon
        )
        .execution_options(populate_existing=True)
    ).all()
    sent = 0
    for action, tz in rows:
        today = to_local(now, tz).date()
        last = action.reminded_on
        overdue = action.due_date < today
        if overdue:
            due = last is None or last <= action.due_date or last <= today - timedelta(days=OVERDUE_EVERY_DAYS)
        else:
            due = action.due_date <= today + timedelta(days=DUE_SOON_DAYS) and (
                last is None or last < action.due_date - timedelta(days=DUE_SOON_DAYS)
            )
        if not due:
            continue
        same = RetroAction.reminded_on.is_(None) if last is None else RetroAction.reminded_on == last
        claimed = db.session.execute(
            update(RetroAction)
            .where(RetroAction.id == action.id, same)
            .values(reminded_on=today)
            .execution_options(synchronize_session=False)
        )
        if claimed.rowcount != 1:
            continue
        notify(
            [action.owner],
            "retro_action_overdue" if overdue else "retro_action_due",
            url=register_path(action.pod_id),
            params={"title": action.title, "due": action.due_date.isoformat()},
            now=now,
        )
        sent += 1
    return sent
