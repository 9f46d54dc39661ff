"""Changed polls of a retro board answered before Flask runs (app/live.py), where the answer is small and the
same rules give it: while reflecting, another person's card changes only the counts of others' cards.

The token in the poll was signed when the page was rendered, after the permission check, and names the person
and their language; it is accepted here only while young (live.ANSWER_MAX_AGE), after which the view answers
(asking the rules again) and signs a new one. One statement (the retro's version, phase and columns with the counts
of others' cards, from one snapshot), two small templates: no session, user load, ORM or Babel context.
"""

from __future__ import annotations

from types import SimpleNamespace
from urllib.parse import urlencode

from sqlalchemy import bindparam, select, true

from app.retros.board import OTHERS_BY_COLUMN
from app.retros.models import Phase, Retro

# Built once: a poll only binds the ids. A row per column that has others' cards (or one row with no column).
_OTHERS = OTHERS_BY_COLUMN.subquery()
_RETRO = (
    select(Retro.version, Retro.phase, Retro.columns, *_OTHERS.c)
    .select_from(Retro)
    .outerjoin(_OTHERS, true())
    .where(Retro.id == bindparam("retro"))
)


def answer(poll) -> bytes | bool | None:
    """The reflect counts and the poller at the new version, True when the version is still the one the page shows
    (``poll.seen``), or None (the view answers: a phase change, a check-in, anything else)."""
    if poll.arg("phase") != Phase.REFLECT.value:
        return None
    with poll.engine.connect() as conn:
        rows = conn.execute(_RETRO, {"retro": poll.ident, "viewer": poll.user_id}).all()
    if not rows or rows[0].phase != Phase.REFLECT.value:
        return None
    row = rows[0]
    if row.version == poll.seen:  # asked before the version was checked (a busy board): unchanged
        return True
    others = {found[3]: found[4] for found in rows if found[3] is not None}
    catalog = poll.translations()
    columns = [
        SimpleNamespace(key=c["key"], hidden_count=others.get(c["key"], 0))
        for c in row.columns
    ]
    url = f"/retros/{poll.ident}/board?" + urlencode({"t": poll.token, "v": row.version, "phase": row.phase})
    view = SimpleNamespace(retro=SimpleNamespace(is_closed=False, phase=row.phase, version=row.version))
    env = poll.app.jinja_env
    body = env.get_template("retros/_poll.html").render(board=view, poll_url=url, oob=True)
    body += env.get_template("retros/_reflect_counts.html").render(
        board=SimpleNamespace(columns=columns),
        oob=True,
        ngettext=lambda singular, plural, n: catalog.ngettext(singular, plural, n) % {"num": n},
    )
    return body.encode()
