"""Recognition's one door to the retro actions it cites as evidence.

Every read of retros data by recognition goes through this module (services, insights, views, demo), so when
retros publish a query API only this file changes. Recognition sits above retros, so importing its models is
allowed; nothing else in recognition imports app.retros.
"""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import and_, exists, or_, select
from sqlalchemy.orm import joinedload

from app.extensions import db
from app.recognition.models import Recognition
from app.retros.models import ActionStatus, RetroAction

__all__ = ["RetroAction", "action", "actions_by_id", "confirmed_uncited", "done_actions", "is_done"]


def action(action_id: int | None) -> RetroAction | None:
    return db.session.get(RetroAction, action_id) if action_id else None


def is_done(retro_action: RetroAction) -> bool:
    return retro_action.status == ActionStatus.DONE.value


def actions_by_id(ids: Iterable[int]) -> dict[int, RetroAction]:
    ids = list(ids)
    if not ids:
        return {}
    return {a.id: a for a in db.session.scalars(select(RetroAction).where(RetroAction.id.in_(ids)))}


def done_actions(pod_id: int, *, owner_ids: Iterable[int] | None = None, newest_first: bool = True,
                 limit: int = 50) -> list[RetroAction]:
    """The pod's done actions (owners loaded), optionally only those owned by `owner_ids`."""
    query = (select(RetroAction).options(joinedload(RetroAction.owner))
             .where(RetroAction.pod_id == pod_id, RetroAction.status == ActionStatus.DONE.value))
    if owner_ids is not None:
        query = query.where(RetroAction.owner_id.in_(list(owner_ids) or [-1]))
    order = RetroAction.id.desc() if newest_first else RetroAction.id
    return list(db.session.scalars(query.order_by(order).limit(limit)))


def confirmed_uncited(pod_id: int, limit: int = 3) -> list[RetroAction]:
    """The pod's done actions whose measured effect went the expected way and that no recognition cites yet,
    most recently closed first."""
    cited = exists().where(Recognition.action_id == RetroAction.id)
    confirmed = or_(
        and_(RetroAction.direction == "up", RetroAction.result_value > RetroAction.baseline_value),
        and_(RetroAction.direction == "down", RetroAction.result_value < RetroAction.baseline_value),
    )
    return list(db.session.scalars(
        select(RetroAction).options(joinedload(RetroAction.owner))
        .where(RetroAction.pod_id == pod_id, RetroAction.status == ActionStatus.DONE.value,
               RetroAction.metric_code.isnot(None), confirmed, ~cited)
        .order_by(RetroAction.closed_at.desc().nullslast(), RetroAction.id.desc()).limit(limit)
    ))
