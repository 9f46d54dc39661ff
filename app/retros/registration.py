"""How retros show in the navigation and on "My day": open actions you own and retros in progress."""

from __future__ import annotations

from datetime import date

from flask_babel import lazy_gettext as _l
from sqlalchemy import select
from sqlalchemy.orm import selectinload

from app import live
from app import permissions as P
from app.extension_points import home_section, nav_item
from app.extensions import db
from app.retros import poll, writes
from app.retros.models import OPEN_STATUSES, Phase, Retro, RetroAction

nav_item(40, "retros.index", _l("Retros"), active_prefix="retros.")

HOME_LIMIT = 5


@home_section(40, "retros/_home.html")
def my_retro_section(user, today: date) -> dict | None:
    """Open retro actions the user owns and retros in progress in the user's pods; None when there are none."""
    actions = list(db.session.scalars(
        select(RetroAction).options(selectinload(RetroAction.retro))
        .where(RetroAction.owner_id == user.id, RetroAction.status.in_(OPEN_STATUSES))
        .order_by(RetroAction.due_date, RetroAction.id).limit(HOME_LIMIT)))
    relations = P.pod_relations(user)
    pod_ids = set(relations.member_of) | set(relations.coached)
    in_progress = list(db.session.scalars(
        select(Retro).options(selectinload(Retro.pod))
        .where(Retro.pod_id.in_(pod_ids), Retro.phase != Phase.CLOSED.value).order_by(Retro.created_at))) \
        if pod_ids else []
    if not actions and not in_progress:
        return None
    return {"actions": actions, "in_progress": in_progress, "today": today}

# The live check answers unchanged polls of the board from its version column, and the reflect counts from the
# token alone (app/live.py, app/retros/poll.py).
live.register("retro", r"/retros/([0-9]{1,10})/board", "retros", answer=poll.answer, answers_unchanged=True)
# Votes and plain cards, the commonest writes of a full room, on the lean path (app/live.py, app/retros/writes.py).
live.register_write(r"/retros/([0-9]{1,10})/votes", writes.vote)
live.register_write(r"/retros/([0-9]{1,10})/votes/remove", writes.unvote)
live.register_write(r"/retros/([0-9]{1,10})/cards", writes.add_card)
# The checks LivePolls passes on (a new phase, an older token) load the person, the retro and their relation in one
# statement too.
live.register_read(r"/retros/([0-9]{1,10})/board", writes.board)
