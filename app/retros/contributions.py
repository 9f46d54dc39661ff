"""What retros offer other features: a pod's retro actions over a quarter (for its quarterly review) and a small
query API over finished actions, so no other feature needs to query retro models itself.

- ``finished_actions(pod_id, owner_ids=None, limit=None, newest_first=True)``: done actions of a pod;
- ``actions_by_id(ids)``: actions by id (any status), for evidence that cites them;
- ``actions_that_worked(pod_id, excluding=None, limit=3)``: done actions whose measured effect went the
  expected way, newest first;
- ``RetroAction.worked`` (app.retros.models): in Python, did this action's effect go the expected way; in a
  query, the same as an SQL condition.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import func, select
from sqlalchemy.orm import selectinload

from app.extension_points import quarter_activity
from app.extensions import db
from app.retros.models import OPEN_STATUSES, ActionStatus, RetroAction


def describe(a: dict) -> list[str]:
    return [_("%(done)s done, %(open)s open, %(dropped)s dropped of %(total)s due this quarter", done=a["done"],
              open=a["open"], dropped=a["dropped"], total=a["total"]),
            _("With a confirmed effect: %(n)s", n=a["confirmed_effect"])]


@quarter_activity(20, "retro_actions", title=_l("Retro actions"), describe=describe)
def retro_quarter(pod, start: date, end: date) -> dict:
    done = RetroAction.status == ActionStatus.DONE.value
    row = db.session.execute(select(
        func.count(),
        func.count().filter(done),
        func.count().filter(done, RetroAction.worked),
        func.count().filter(RetroAction.status.in_(OPEN_STATUSES)),
        func.count().filter(RetroAction.status == ActionStatus.DROPPED.value),
    ).where(RetroAction.pod_id == pod.id, RetroAction.due_date >= start, RetroAction.due_date <= end)).one()
    return dict(zip(("total", "done", "confirmed_effect", "open", "dropped"), (int(n or 0) for n in row), strict=True))


def finished_actions(pod_id: int, *, owner_ids: Iterable[int] | None = None, limit: int | None = None,
                     newest_first: bool = True) -> list[RetroAction]:
    """The pod's done retro actions (owners loaded), optionally only those owned by ``owner_ids``."""
    query = (select(RetroAction).options(selectinload(RetroAction.owner))
             .where(RetroAction.pod_id == pod_id, RetroAction.status == ActionStatus.DONE.value)
             .order_by(RetroAction.id.desc() if newest_first else RetroAction.id))
    if owner_ids is not None:
        query = query.where(RetroAction.owner_id.in_(list(owner_ids)))
    if limit is not None:
        query = query.limit(limit)
    return list(db.session.scalars(query))


def actions_by_id(ids: Iterable[int]) -> dict[int, RetroAction]:
    wanted = {i for i in ids if i}
    if not wanted:
        return {}
    return {a.id: a for a in db.session.scalars(select(RetroAction).where(RetroAction.id.in_(wanted)))}


def actions_that_worked(pod_id: int, *, excluding=None, limit: int = 3) -> list[RetroAction]:
    """Done actions with a measured effect that went the expected way, most recently closed first.
    ``excluding``: action ids to leave out (a list, or a select of ids such as the actions already cited)."""
    query = (select(RetroAction).options(selectinload(RetroAction.owner))
             .where(RetroAction.pod_id == pod_id, RetroAction.status == ActionStatus.DONE.value,
                    RetroAction.metric_code.is_not(None), RetroAction.worked)
             .order_by(RetroAction.closed_at.desc().nulls_last(), RetroAction.id.desc()).limit(limit))
    if excluding is not None:
        query = query.where(RetroAction.id.not_in(excluding))
    return list(db.session.scalars(query))
