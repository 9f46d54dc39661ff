"""Changed polls of a stand-up board answered before Flask runs (app/live.py) when only entries changed since the
version the page shows: the answer is those people's rows, the "posted" count and the poll at the new version,
out of band, instead of the whole board.

Whether anything else changed is settled by ``StandupBoard.layout_version`` (the version of the last change other
than an entry: a blocker, the walk, closing): from a version before it, or for an entry whose author has no row on
the page (not a member, not in the speaking order), the view answers with the whole board. Entries are the same for
everyone who may see the board; the per-person parts (coach buttons, blocker actions, the entry form) are not in
what is sent. The token was signed when the page was rendered, after the permission check, and names the person,
their language and time zone; it is accepted here only while young (live.ANSWER_MAX_AGE), after which the view
answers (asking the rules again) and signs a new one. Two reads, small templates: no session, user load, ORM or
Babel context.
"""

from __future__ import annotations

from types import SimpleNamespace
from urllib.parse import urlencode

from babel import dates as babel_dates
from sqlalchemy import and_, bindparam, exists, func, select

from app.org.models import Membership, User
from app.standups.models import Attendance, BoardStatus, StandupBoard, StandupEntry

_MEMBERS = (
    select(func.count())
    .select_from(Membership)
    .join(User, User.id == Membership.user_id)
    .where(Membership.pod_id == StandupBoard.pod_id, Membership.current(StandupBoard.day), User.active)
    .correlate(StandupBoard)
    .scalar_subquery()
)
_POSTED = (
    select(func.count())
    .select_from(StandupEntry)
    .where(StandupEntry.board_id == StandupBoard.id)
    .correlate(StandupBoard)
    .scalar_subquery()
)
# Built once: a poll only binds the ids.
_BOARD = select(
    StandupBoard.version,
    StandupBoard.layout_version,
    StandupBoard.status,
    StandupBoard.speaker_order,
    StandupBoard.speaker_index,
    _MEMBERS.label("members"),
    _POSTED.label("posted"),
).where(StandupBoard.id == bindparam("board"))
_CHANGED = (
    select(
        StandupEntry.user_id,
        StandupEntry.yesterday,
        StandupEntry.today,
        StandupEntry.updated_at,
        User.display_name,
        Attendance.status.label("attendance"),
        exists()
        .where(
            Membership.user_id == StandupEntry.user_id,
            Membership.pod_id == StandupBoard.pod_id,
            Membership.current(StandupBoard.day),
            User.active,
        )
        .label("member"),
    )
    .join(StandupBoard, StandupBoard.id == StandupEntry.board_id)
    .join(User, User.id == StandupEntry.user_id)
    .outerjoin(Attendance, and_(Attendance.board_id == StandupEntry.board_id, Attendance.user_id == StandupEntry.user_id))
    .where(StandupEntry.board_id == bindparam("board"), StandupEntry.version > bindparam("seen"))
    .order_by(StandupEntry.user_id)
)
MAX_ROWS = 20  # more entries than this since the page's version: the whole board is as cheap


def answer(poll) -> bytes | None:
    """The rows of the entries written since the page's version, or None (the view answers with the whole board)."""
    seen = int(poll.arg("v"))
    role, _sep, zone = poll.sees.partition(" ")
    with poll.engine.connect() as conn:
        board = conn.execute(_BOARD, {"board": poll.ident}).first()
        if board is None or board.status == BoardStatus.CLOSED.value or board.layout_version > seen:
            return None
        rows = conn.execute(_CHANGED, {"board": poll.ident, "seen": seen}).all()
    walking = board.status == BoardStatus.WALKING.value
    order = board.speaker_order or []
    if len(rows) > MAX_ROWS or any(not (row.user_id in order if order else row.member) for row in rows):
        return None  # an author without a row on the page: the whole board places them
    speaker = order[board.speaker_index] if walking and board.speaker_index < len(order) else None
    app = poll.app
    locale = poll.locale or app.config.get("BABEL_DEFAULT_LOCALE", "en")
    zone = zone or app.config.get("BABEL_DEFAULT_TIMEZONE", "UTC")
    catalog = poll.translations()

    def gettext(message, **values):
        text = catalog.gettext(message)
        return text % values if values else text

    def ngettext(singular, plural, n, **values):
        return catalog.ngettext(singular, plural, n) % {"num": n, **values}

    def format_datetime(value, form="medium"):
        return babel_dates.format_datetime(value, form, tzinfo=babel_dates.get_timezone(zone), locale=locale)

    env = app.jinja_env
    context = {"_": gettext, "gettext": gettext, "ngettext": ngettext, "format_datetime": format_datetime}
    url = f"/standups/boards/{poll.ident}/live?" + urlencode({"t": poll.token, "v": board.version})
    body = env.get_template("standups/_poll.html").render(
        board=SimpleNamespace(is_closed=False, version=board.version), poll_url=url, poll_seconds=2
    )
    person = env.get_template("standups/_person.html")
    for row in rows:
        body += person.render(
            uid=row.user_id,
            person=SimpleNamespace(display_name=row.display_name),
            entry=row,
            attendance=row.attendance,
            speaker=speaker,
            oob=True,
            **context,
        )
    if not walking:
        body += env.get_template("standups/_posted.html").render(
            posted=board.posted, total=board.members, oob=True, **context
        )
    return body.encode()
