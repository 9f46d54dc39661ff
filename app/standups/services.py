"""Stand-up rules: boards, entries, blockers, walking the board, reminders and escalation. Flush, never commit."""

from __future__ import annotations

import statistics
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta

from flask import url_for
from flask_babel import lazy_gettext as _l
from sqlalchemy import bindparam, func, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.engine import Row
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import joinedload
from sqlalchemy.orm.attributes import set_committed_value

from app import live
from app.errors import ServiceError
from app.extensions import db
from app.notifications.services import notify, register_kind
from app.org.models import Membership, Pod, Role, User, pod_coaches
from app.outcomes import metrics
from app.permissions import can, pod_relations
from app.standups.access import COACH, HANDLE_BLOCKER, POST
from app.standups.models import (
    DEFAULT_ESCALATE_AFTER_DAYS,
    DEFAULT_TIMEBOX_SECONDS,
    MAX_BLOCKER,
    MAX_CASE_REF,
    MAX_ENTRY_TEXT,
    Attendance,
    Blocker,
    BlockerStatus,
    BoardBlocker,
    BoardStatus,
    StandupBoard,
    StandupEntry,
    StandupSettings,
)
from app.timeutil import local_day_bounds, local_to_utc, to_local, utcnow
from app.validators import forbidden_characters, one_line

BOARD_LEAD = timedelta(minutes=30)  # the job creates the board this long before stand-up
REMINDER_LEAD = timedelta(minutes=15)  # members who have not posted are reminded this long before
MOOD_MIN_ANSWERS = 3  # the pod mood is shown only on a closed board, and only from this many answers

register_kind("standup_reminder", _l("Stand-up of %(pod)s at %(time)s: post your update"))
register_kind("standup_blocker_escalated", _l("Blocker escalated in %(pod)s: %(description)s"))


class StandupError(ServiceError):
    """A stand-up rule was broken; the message is shown to the person, with ``status`` (400 unless given)."""

    status = 400


# ------------------------------------------------------------------------------------------------ days & access


def local_today(pod: Pod, now: datetime) -> date:
    return to_local(now, pod.timezone).date()


def previous_working_day(pod: Pod, day: date) -> date:
    candidate = day - timedelta(days=1)
    for _ in range(7):
        if pod.is_working_day(candidate):
            return candidate
        candidate -= timedelta(days=1)
    return candidate


def working_days_between(pod: Pod, first: date, last: date) -> int:
    """Working days d of the pod with first < d <= last: the age of something raised on `first`."""
    if last <= first:
        return 0
    weeks, rest = divmod((last - first).days, 7)
    count = weeks * len(pod.weekdays)
    for offset in range(1, rest + 1):
        if pod.is_working_day(first + timedelta(days=weeks * 7 + offset)):
            count += 1
    return count


def settings_for(pod_id: int) -> StandupSettings:
    found = db.session.get(StandupSettings, pod_id)
    return found or StandupSettings(
        pod_id=pod_id, escalate_after_days=DEFAULT_ESCALATE_AFTER_DAYS, timebox_seconds=DEFAULT_TIMEBOX_SECONDS
    )


def save_settings(actor: User, pod: Pod, *, escalate_after_days: int, timebox_seconds: int) -> StandupSettings:
    if not can(actor, COACH, pod):
        raise StandupError(_l("Only the pod's coach can change its stand-up settings."), 403)
    if not 1 <= escalate_after_days <= 30:
        raise StandupError(_l("Escalate after 1 to 30 working days."))
    if not 15 <= timebox_seconds <= 900:
        raise StandupError(_l("The time per person must be between 15 and 900 seconds."))
    found = db.session.get(StandupSettings, pod.id)
    if found is None:
        found = StandupSettings(pod_id=pod.id)
        db.session.add(found)
    found.escalate_after_days = escalate_after_days
    found.timebox_seconds = timebox_seconds
    db.session.flush()
    return found


def member_users(pod_id: int, on: date) -> list[User]:
    return list(
        db.session.scalars(
            select(User)
            .join(Membership, Membership.user_id == User.id)
            .where(Membership.pod_id == pod_id, Membership.current(on), User.active)
            .order_by(User.display_name, User.id)
        )
    )


# ------------------------------------------------------------------------------------------------------ boards


def _bump(board_ids) -> None:
    ids = list(board_ids)
    if ids:
        db.session.execute(
            update(StandupBoard)
            .where(StandupBoard.id.in_(ids))
            .values(version=StandupBoard.version + 1, layout_version=StandupBoard.version + 1)
        )
        _changed(*ids)


def _move(board_id: int, *conditions, **values) -> bool:
    """One conditional step of a board's layout (close, start the walk, next speaker): the row changes only while
    `conditions` hold, and then both versions move on so every open page redraws. False: someone moved it first."""
    moved = db.session.execute(
        update(StandupBoard)
        .where(StandupBoard.id == board_id, *conditions)
        .values(**values, version=StandupBoard.version + 1, layout_version=StandupBoard.version + 1)
    ).rowcount
    if moved:
        _changed(board_id)
    return bool(moved)


def _changed(*board_ids: int) -> None:
    """The live check (app/live.py) learns of the new versions once the transaction commits."""
    for board_id in board_ids:
        live.changed(db.session, "standup", board_id)


def ensure_board(pod: Pod, day: date, *, now: datetime | None = None, source: str = "visit") -> StandupBoard:
    """The pod's board for `day`, created if missing. Safe when the job and a visitor create it at once:
    the unique (pod, day) key lets one insert win and the other read the winner's board."""
    now = now or utcnow()
    found = db.session.scalar(select(StandupBoard).where(StandupBoard.pod_id == pod.id, StandupBoard.day == day))
    if found is not None:
        return found
    expected = len(member_users(pod.id, day))
    board = StandupBoard(
        pod_id=pod.id,
        day=day,
        status=BoardStatus.OPEN.value,
        version=1,
        layout_version=1,
        created_at=now,
        created_by=source,
        expected_count=expected,
        speaker_order=[],
        speaker_index=0,
    )
    try:
        with db.session.begin_nested():
            db.session.add(board)
            db.session.flush()
    except IntegrityError:
        found = db.session.scalar(select(StandupBoard).where(StandupBoard.pod_id == pod.id, StandupBoard.day == day))
        if found is None:  # pragma: no cover - the unique key failed for another reason
            raise
        return found
    _close_earlier_boards(pod.id, day, now)
    _carry_over(board)
    db.session.flush()
    return board


def _close_earlier_boards(pod_id: int, day: date, now: datetime) -> None:
    """A new day's board freezes the pod's earlier boards nobody closed."""
    earlier = list(
        db.session.scalars(
            select(StandupBoard.id).where(
                StandupBoard.pod_id == pod_id, StandupBoard.day < day, StandupBoard.status != BoardStatus.CLOSED.value
            )
        )
    )
    for board_id in earlier:
        _freeze(board_id, now, None)


def _carry_over(board: StandupBoard) -> None:
    open_ids = list(
        db.session.scalars(
            select(Blocker.id).where(Blocker.pod_id == board.pod_id, Blocker.status != BlockerStatus.RESOLVED.value)
        )
    )
    for blocker_id in open_ids:
        db.session.add(BoardBlocker(board_id=board.id, blocker_id=blocker_id))


def _freeze(board_id: int, now: datetime, actor_id: int | None) -> bool:
    if not _move(board_id, StandupBoard.status != BoardStatus.CLOSED.value,
                 status=BoardStatus.CLOSED.value, closed_at=now, closed_by_id=actor_id):
        return False
    statuses = dict(
        db.session.execute(
            select(Blocker.id, Blocker.status)
            .join(BoardBlocker, BoardBlocker.blocker_id == Blocker.id)
            .where(BoardBlocker.board_id == board_id)
        ).all()
    )
    for blocker_id, status in statuses.items():
        db.session.execute(
            update(BoardBlocker)
            .where(BoardBlocker.board_id == board_id, BoardBlocker.blocker_id == blocker_id)
            .values(status_at_close=status)
        )
    return True


def board_for_today(pod: Pod, now: datetime | None = None) -> StandupBoard | None:
    """Today's board, made on first visit; None on a day the pod does not work."""
    now = now or utcnow()
    today = local_today(pod, now)
    if not pod.is_working_day(today):
        return None
    return ensure_board(pod, today, now=now)


def create_due_boards(now: datetime) -> int:
    """Job: make each active pod's board from BOARD_LEAD before its stand-up until the end of its day."""
    made = 0
    for pod in db.session.scalars(select(Pod).where(Pod.active).order_by(Pod.id)):
        local = to_local(now, pod.timezone)
        if not pod.is_working_day(local.date()):
            continue
        start = datetime.combine(local.date(), pod.standup_time) - BOARD_LEAD
        if local.replace(tzinfo=None) < start:
            continue
        exists = db.session.scalar(
            select(StandupBoard.id).where(StandupBoard.pod_id == pod.id, StandupBoard.day == local.date())
        )
        if exists is None:
            ensure_board(pod, local.date(), now=now, source="job")
            made += 1
    return made


# ----------------------------------------------------------------------------------------------------- entries


def _clean(text: str | None, limit: int, label) -> str:
    value = (text or "").strip()
    if forbidden_characters(value):
        raise StandupError(_l("%(field)s contains characters that are not allowed.", field=label))
    if len(value) > limit:
        raise StandupError(_l("%(field)s is too long (at most %(limit)d characters).", field=label, limit=limit))
    return value


def _require_post(actor: User, board: StandupBoard, closed_message, member_message) -> None:
    if board.is_closed:
        raise StandupError(closed_message, 409)
    if not can(actor, POST, board):
        raise StandupError(member_message, 403)


def save_entry(
    actor: User, board: StandupBoard, *, yesterday: str, today: str, mood: int | None, now: datetime | None = None
) -> Row:
    """Post or edit the actor's own entry; nobody writes another person's entry. Returns the stored row."""
    now = now or utcnow()
    _require_post(
        actor,
        board,
        _l("This board is closed; entries can no longer change."),
        _l("Only members of the pod can post on its board."),
    )
    yesterday = _clean(yesterday, MAX_ENTRY_TEXT, _l("Yesterday"))
    today = _clean(today, MAX_ENTRY_TEXT, _l("Today"))
    if not yesterday and not today:
        raise StandupError(_l("Write what you did yesterday or what you will do today."))
    if mood is not None and not 1 <= mood <= 5:
        raise StandupError(_l("Mood must be between 1 and 5."))
    # The version bump is also the "still open" check, in the same statement (a board closed since the page was
    # read refuses the entry) and, on PostgreSQL, the row lock that orders it with closing the board.
    connection = db.session.connection()  # two Core statements on the session's transaction: no ORM bulk machinery
    version = connection.execute(_BUMP_FOR_ENTRY, {"board": board.id}).scalar()
    if version is None:
        db.session.expire(board)
        raise StandupError(_l("This board is closed; entries can no longer change."), 409)
    set_committed_value(board, "version", version)
    live.changed(db.session, "standup", board.id, version)
    values = {"board": board.id, "user": actor.id, "yesterday": yesterday, "today": today, "mood": mood, "now": now,
              "version": version}
    return connection.execute(_entry_upsert(connection.dialect.name), values).one()


_BOARDS = StandupBoard.__table__
_ENTRIES = StandupEntry.__table__
# Built once (an entry is the stand-up's most frequent write): a call only binds the values.
_BUMP_FOR_ENTRY = (
    update(_BOARDS)
    .where(_BOARDS.c.id == bindparam("board"), _BOARDS.c.status != BoardStatus.CLOSED.value)
    .values(version=_BOARDS.c.version + 1)  # an entry leaves layout_version: polls send just the entry
    .returning(_BOARDS.c.version)
)
_ENTRY_UPSERTS: dict = {}


def _entry_upsert(dialect: str):
    """One entry per person and board, even when the same person posts twice at once; the stored row comes back
    (id, text, mood, times: what the answer shows)."""
    if dialect not in _ENTRY_UPSERTS:
        text = {name: bindparam(name) for name in ("yesterday", "today", "mood", "version")}
        insert = (pg_insert if dialect == "postgresql" else sqlite_insert)(_ENTRIES)
        _ENTRY_UPSERTS[dialect] = (
            insert.values(board_id=bindparam("board"), user_id=bindparam("user"), created_at=bindparam("now"),
                          updated_at=bindparam("now"), **text)
            .on_conflict_do_update(index_elements=["board_id", "user_id"],
                                   set_={**text, "updated_at": bindparam("now")})
            .returning(*_ENTRIES.c)
        )
    return _ENTRY_UPSERTS[dialect]


def mood_summary(board: StandupBoard, entries: list[StandupEntry]) -> tuple[int | None, float | None]:
    """(answers, average) of the pod's mood, so that nobody's answer can be singled out: nothing at all while the
    board is open (an average that moves after each named entry gives each mood away), and on the closed board
    the average only from MOOD_MIN_ANSWERS answers."""
    if not board.is_closed:
        return None, None
    moods = [e.mood for e in entries if e.mood is not None]
    if len(moods) < MOOD_MIN_ANSWERS:
        return len(moods), None
    return len(moods), round(sum(moods) / len(moods), 1)


# ---------------------------------------------------------------------------------------------------- blockers


def raise_blocker(
    actor: User,
    board: StandupBoard,
    *,
    description: str,
    owner_id: int | None = None,
    case_ref: str = "",
    now: datetime | None = None,
) -> Blocker:
    now = now or utcnow()
    _require_post(
        actor,
        board,
        _l("This board is closed; raise the blocker on today's board."),
        _l("Only members of the pod can raise blockers on its board."),
    )
    description = _clean(description, MAX_BLOCKER, _l("Blocker"))
    if not description:
        raise StandupError(_l("Describe the blocker."))
    case_ref = _clean(case_ref, MAX_CASE_REF, _l("Case reference"))
    owner = actor.id if owner_id is None else owner_id
    if owner != actor.id:
        allowed = {u.id for u in member_users(board.pod_id, board.day)} | set(
            db.session.scalars(select(pod_coaches.c.user_id).where(pod_coaches.c.pod_id == board.pod_id))
        )
        if owner not in allowed:
            raise StandupError(_l("The owner must be a member or coach of the pod."))
    blocker = Blocker(
        pod_id=board.pod_id,
        board_id=board.id,
        description=description,
        case_ref=case_ref,
        raised_by_id=actor.id,
        owner_id=owner,
        status=BlockerStatus.OPEN.value,
        raised_at=now,
        raised_day=board.day,
    )
    db.session.add(blocker)
    db.session.flush()
    db.session.add(BoardBlocker(board_id=board.id, blocker_id=blocker.id))
    _bump([board.id])
    db.session.flush()
    return blocker


def _bump_boards_showing(blocker_id: int) -> None:
    ids = db.session.scalars(
        select(BoardBlocker.board_id)
        .join(StandupBoard, StandupBoard.id == BoardBlocker.board_id)
        .where(BoardBlocker.blocker_id == blocker_id, StandupBoard.status != BoardStatus.CLOSED.value)
    )
    _bump(ids)


def _escalation_recipients(pod_id: int) -> list[User]:
    coaches = select(pod_coaches.c.user_id).where(pod_coaches.c.pod_id == pod_id)
    return list(
        db.session.scalars(
            select(User).where(User.active, (User.role == Role.LEADER.value) | User.id.in_(coaches)).order_by(User.id)
        )
    )


def _notify_escalation(blocker: Blocker, pod: Pod, now: datetime) -> None:
    url = url_for("standups.pod_board", pod_id=pod.id)
    notify(
        _escalation_recipients(pod.id),
        "standup_blocker_escalated",
        url=url,
        now=now,
        params={"pod": pod.name, "description": one_line(blocker.description, 120)},
    )


def escalate_blocker(actor: User | None, blocker: Blocker, now: datetime | None = None) -> bool:
    """open -> escalated, by the owner, a coach, or the job (actor None); notifies the pod's coaches and leaders."""
    now = now or utcnow()
    if actor is not None and not can(actor, HANDLE_BLOCKER, blocker):
        raise StandupError(_l("Only the blocker's owner or the pod's coach can escalate it."), 403)
    if blocker.status != BlockerStatus.OPEN.value:
        raise StandupError(_l("Only an open blocker can be escalated."), 409)
    changed = db.session.execute(
        update(Blocker)
        .where(Blocker.id == blocker.id, Blocker.status == BlockerStatus.OPEN.value)
        .values(status=BlockerStatus.ESCALATED.value, escalated_at=now, escalated_by_id=actor.id if actor else None)
    ).rowcount
    if not changed:
        raise StandupError(_l("Someone changed this blocker in the meantime."), 409)
    db.session.refresh(blocker)
    _bump_boards_showing(blocker.id)
    _notify_escalation(blocker, db.session.get(Pod, blocker.pod_id), now)
    return True


def resolve_blocker(actor: User, blocker: Blocker, now: datetime | None = None) -> None:
    now = now or utcnow()
    if not can(actor, HANDLE_BLOCKER, blocker):
        raise StandupError(_l("Only the blocker's owner or the pod's coach can resolve it."), 403)
    changed = db.session.execute(
        update(Blocker)
        .where(Blocker.id == blocker.id, Blocker.status != BlockerStatus.RESOLVED.value)
        .values(status=BlockerStatus.RESOLVED.value, resolved_at=now, resolved_by_id=actor.id)
    ).rowcount
    if not changed:
        raise StandupError(_l("This blocker is resolved already."), 409)
    db.session.refresh(blocker)
    _bump_boards_showing(blocker.id)


def escalate_stale_blockers(now: datetime) -> int:
    """Job: escalate open blockers older than their pod's setting, in working days of the pod's own zone."""
    rows = db.session.execute(
        select(Blocker, Pod)
        .join(Pod, Pod.id == Blocker.pod_id)
        .where(Blocker.status == BlockerStatus.OPEN.value)
        .order_by(Blocker.id)
    ).all()
    if not rows:
        return 0
    limits = dict(db.session.execute(select(StandupSettings.pod_id, StandupSettings.escalate_after_days)).all())
    moved = 0
    for blocker, pod in rows:
        age = working_days_between(pod, blocker.raised_day, local_today(pod, now))
        if age > limits.get(pod.id, DEFAULT_ESCALATE_AFTER_DAYS):
            try:
                escalate_blocker(None, blocker, now)
            except StandupError:
                continue
            moved += 1
    return moved


# ---------------------------------------------------------------------------------------------- walk the board


def _require_coach(actor: User, board: StandupBoard) -> None:
    if not can(actor, COACH, board):
        raise StandupError(_l("Only the pod's coach can walk the board."), 403)
    if board.is_closed:
        raise StandupError(_l("This board is closed."), 409)


def start_walk(actor: User, board: StandupBoard, now: datetime | None = None) -> None:
    now = now or utcnow()
    _require_coach(actor, board)
    if board.is_walking:
        raise StandupError(_l("The stand-up has started already."), 409)
    order = [u.id for u in member_users(board.pod_id, board.day)]
    if not order:
        raise StandupError(_l("The pod has no members to walk through."))
    started = _move(board.id, StandupBoard.status == BoardStatus.OPEN.value, status=BoardStatus.WALKING.value,
                    walk_started_at=now, speaker_order=order, speaker_index=0, speaker_started_at=now)
    if not started:
        raise StandupError(_l("The stand-up has started already."), 409)
    db.session.refresh(board)


def advance_speaker(
    actor: User, board: StandupBoard, *, expected_index: int, skip: bool = False, now: datetime | None = None
) -> None:
    """Next (the speaker attended) or skip (absent); `expected_index` makes a double click advance only once."""
    now = now or utcnow()
    _require_coach(actor, board)
    if not board.is_walking:
        raise StandupError(_l("Start the stand-up first."), 409)
    speaker = board.current_speaker_id
    if speaker is None:
        raise StandupError(_l("Everyone has had their turn."), 409)
    advanced = _move(board.id, StandupBoard.speaker_index == expected_index,
                     StandupBoard.status == BoardStatus.WALKING.value,
                     speaker_index=expected_index + 1, speaker_started_at=now)
    if not advanced:
        raise StandupError(_l("The speaker changed in the meantime."), 409)
    db.session.merge(
        Attendance(board_id=board.id, user_id=speaker, status="skipped" if skip else "present", recorded_at=now)
    )
    db.session.flush()
    db.session.refresh(board)


def close_board(actor: User, board: StandupBoard, now: datetime | None = None) -> None:
    now = now or utcnow()
    _require_coach(actor, board)
    if not _freeze(board.id, now, actor.id):
        raise StandupError(_l("This board is closed."), 409)
    db.session.flush()
    db.session.refresh(board)


# ----------------------------------------------------------------------------------------------- reminders


def remind_missing(now: datetime) -> int:
    """Job: shortly before stand-up, remind members who have not posted; once per board at most."""
    sent = 0
    for pod in db.session.scalars(select(Pod).where(Pod.active).order_by(Pod.id)):
        local = to_local(now, pod.timezone)
        day = local.date()
        if not pod.is_working_day(day):
            continue
        standup = datetime.combine(day, pod.standup_time)
        if not standup - REMINDER_LEAD <= local.replace(tzinfo=None) < standup:
            continue
        board = ensure_board(pod, day, now=now, source="job")
        if board.is_closed or board.reminded_at is not None:
            continue
        claimed = db.session.execute(
            update(StandupBoard)
            .where(StandupBoard.id == board.id, StandupBoard.reminded_at.is_(None))
            .values(reminded_at=now)
        ).rowcount
        if not claimed:
            continue
        posted = set(db.session.scalars(select(StandupEntry.user_id).where(StandupEntry.board_id == board.id)))
        missing = [u for u in member_users(pod.id, day) if u.id not in posted]
        notify(
            missing,
            "standup_reminder",
            url=url_for("standups.pod_board", pod_id=pod.id),
            now=now,
            params={"pod": pod.name, "time": pod.standup_time.strftime("%H:%M")},
        )
        sent += len(missing)
    return sent


# --------------------------------------------------------------------------------------------- reading boards


@dataclass
class BlockerView:
    blocker: Blocker
    status: str
    age: int

    @property
    def label(self) -> str:
        return BlockerStatus(self.status).label


@dataclass
class BoardView:
    board: StandupBoard
    pod: Pod
    members: list[User]
    entries: dict[int, StandupEntry]
    blockers: list[BlockerView]
    attendance: dict[int, str]
    settings: StandupSettings
    mood_answers: int | None = None
    mood_average: float | None = None
    people: dict[int, User] = field(default_factory=dict)

    @property
    def posted(self) -> int:
        return len(self.entries)


def board_view(board: StandupBoard, now: datetime | None = None) -> BoardView:
    """Everything a board page shows, in a fixed number of queries however many entries and blockers."""
    now = now or utcnow()
    pod = board.pod
    members = member_users(pod.id, board.day)
    entries = {
        e.user_id: e
        for e in db.session.scalars(
            select(StandupEntry).options(joinedload(StandupEntry.user)).where(StandupEntry.board_id == board.id)
        )
    }
    links = db.session.execute(
        select(Blocker, BoardBlocker.status_at_close)
        .join(BoardBlocker, BoardBlocker.blocker_id == Blocker.id)
        .options(joinedload(Blocker.owner), joinedload(Blocker.raised_by))
        .where(BoardBlocker.board_id == board.id)
        .order_by(Blocker.raised_at, Blocker.id)
    ).all()
    reference = board.day if board.is_closed else max(board.day, local_today(pod, now))
    blockers = []
    for blocker, frozen in links:
        status = frozen if board.is_closed and frozen else blocker.status
        end_day = reference
        if blocker.resolved_at is not None and status == BlockerStatus.RESOLVED.value:
            end_day = min(reference, local_today(pod, blocker.resolved_at))
        blockers.append(BlockerView(blocker, status, working_days_between(pod, blocker.raised_day, end_day)))
    attendance = dict(
        db.session.execute(select(Attendance.user_id, Attendance.status).where(Attendance.board_id == board.id)).all()
    )
    answers, average = mood_summary(board, list(entries.values()))
    people = {u.id: u for u in members}
    people.update({e.user_id: e.user for e in entries.values()})
    missing = [uid for uid in (board.speaker_order or []) if uid not in people]
    if missing:
        people.update({u.id: u for u in db.session.scalars(select(User).where(User.id.in_(missing)))})
    return BoardView(board, pod, members, entries, blockers, attendance, settings_for(pod.id), answers, average, people)


OUTCOME_CODES = ("volume", "resolved", "backlog", "sla_attainment", "csat", "handoff_rate")


def outcomes_strip(pod: Pod, day: date) -> dict:
    """The pod's figures for the working day before `day`, against the working day before that."""
    last = previous_working_day(pod, day)
    before = previous_working_day(pod, last)
    scope = metrics.Scope(pod_id=pod.id)
    current = metrics.compute(last, last, scope, OUTCOME_CODES, tz=pod.timezone)
    previous = metrics.compute(before, before, scope, OUTCOME_CODES, tz=pod.timezone)
    items = []
    for code in OUTCOME_CODES:
        now_value, was = current[code].value, previous[code].value
        delta = None if now_value is None or was is None else now_value - was
        better = metrics.better(code, now_value, was)
        status = metrics.STATUS_NEUTRAL if better is None else metrics.status(code, now_value, was)
        items.append(
            {
                "code": code,
                "label": metrics.METRICS[code].label,
                "value": now_value,
                "previous": was,
                "delta": delta,
                "better": better,
                "status": status,
                "cases": metrics.drilldown_url(code, scope, last, last),  # the cases behind the figure
            }
        )
    return {"day": last, "previous_day": before, "items": items}


# ------------------------------------------------------------------------------------------------- history


@dataclass
class History:
    boards: dict[date, StandupBoard]
    entries_by_board: dict[int, int]
    participation: float | None
    raised: int
    resolved: int
    median_days_to_resolve: float | None


def history(pod: Pod, first: date, last: date) -> History:
    boards = {
        b.day: b
        for b in db.session.scalars(
            select(StandupBoard).where(
                StandupBoard.pod_id == pod.id, StandupBoard.day >= first, StandupBoard.day <= last
            )
        )
    }
    counts = dict(
        db.session.execute(
            select(StandupEntry.board_id, func.count())
            .join(StandupBoard, StandupBoard.id == StandupEntry.board_id)
            .where(StandupBoard.pod_id == pod.id, StandupBoard.day >= first, StandupBoard.day <= last)
            .group_by(StandupEntry.board_id)
        ).all()
    )
    expected = sum(b.expected_count for b in boards.values())
    posted = sum(min(counts.get(b.id, 0), b.expected_count or counts.get(b.id, 0)) for b in boards.values())
    participation = posted / expected if expected else None
    raised = (
        db.session.scalar(
            select(func.count())
            .select_from(Blocker)
            .where(Blocker.pod_id == pod.id, Blocker.raised_day >= first, Blocker.raised_day <= last)
        )
        or 0
    )
    start, end = _utc_bounds(pod, first, last)
    resolved_rows = db.session.execute(
        select(Blocker.raised_at, Blocker.resolved_at).where(
            Blocker.pod_id == pod.id, Blocker.resolved_at >= start, Blocker.resolved_at < end
        )
    ).all()
    durations = [(done - raised_at).total_seconds() / 86400 for raised_at, done in resolved_rows]
    median = round(statistics.median(durations), 1) if durations else None
    return History(boards, counts, participation, raised, len(resolved_rows), median)


def _utc_bounds(pod: Pod, first: date, last: date) -> tuple[datetime, datetime]:
    return local_day_bounds(first, last, pod.timezone)


# ---------------------------------------------------------------------------------------------------- home


def home_status(user: User, now: datetime) -> list[dict]:
    """Today's board of each pod the user belongs to or coaches, with whether the user has posted."""
    relations = pod_relations(user)
    pod_ids = relations.member_of | relations.coached
    if not pod_ids:
        return []
    pods = list(db.session.scalars(select(Pod).where(Pod.id.in_(pod_ids), Pod.active).order_by(Pod.name)))
    days = {pod.id: local_today(pod, now) for pod in pods}
    boards: dict[int, StandupBoard] = {}
    if pods:
        for board in db.session.scalars(
            select(StandupBoard).where(StandupBoard.pod_id.in_(days), StandupBoard.day.in_(set(days.values())))
        ):
            if days.get(board.pod_id) == board.day:
                boards[board.pod_id] = board
    counts: dict[int, int] = defaultdict(int)
    mine: set[int] = set()
    if boards:
        for board_id, user_id in db.session.execute(
            select(StandupEntry.board_id, StandupEntry.user_id).where(
                StandupEntry.board_id.in_([b.id for b in boards.values()])
            )
        ):
            counts[board_id] += 1
            if user_id == user.id:
                mine.add(board_id)
    result = []
    for pod in pods:
        board = boards.get(pod.id)
        result.append(
            {
                "pod": pod,
                "working": pod.is_working_day(days[pod.id]),
                "board": board,
                "posted": counts.get(board.id, 0) if board else 0,
                "mine": bool(board and board.id in mine),
                "time": pod.standup_time,
            }
        )
    return result


def standup_time_utc(pod: Pod, day: date) -> datetime:
    return local_to_utc(datetime.combine(day, pod.standup_time or time(9, 30)), pod.timezone)
