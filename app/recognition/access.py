"""Who may do what with recognition, registered as policies in app.permissions (ask ``can(user, action, obj)``).

- ``recognition.give`` (a pod): recognise people of a pod one belongs to or coaches; leaders any pod. The form
  of a pod lists its members and finished retro actions, so nobody else may open it.
- ``recognition.suggest`` (a pod): see the pod's suggestions (people of the pod, coaches, leaders).
- ``recognition.coach`` (a pod): the pod's coaches and leaders (alignment view, fairness signals).
- ``recognition.view`` (a recognition): leaders all; others what is public, their pods', their own.
"""

from __future__ import annotations

from datetime import date

from sqlalchemy import func, or_, select

from app.extensions import db
from app.org.models import Membership, Pod, Role, User, pod_coaches
from app.permissions import policy
from app.recognition.models import Recognition, RecognitionReceiver, Visibility
from app.timeutil import to_local, utcnow


def today_for(user: User, tz: str | None = None) -> date:
    return to_local(utcnow(), tz or user.timezone or "UTC").date()


def current_member_ids(pod_id: int, on: date) -> set[int]:
    return set(db.session.scalars(select(Membership.user_id).where(Membership.pod_id == pod_id,
                                                                   Membership.current(on))))


def coach_ids(pod_id: int) -> set[int]:
    return set(db.session.scalars(select(pod_coaches.c.user_id).where(pod_coaches.c.pod_id == pod_id)))


def pods_related_to(user: User, on: date) -> set[int]:
    """The pods the person is a member of on ``on`` or coaches."""
    member = set(db.session.scalars(user.pod_ids_on(on)))
    return member | set(db.session.scalars(select(pod_coaches.c.pod_id).where(pod_coaches.c.user_id == user.id)))


def can_give_on(user: User, pod_id: int, on: date) -> bool:
    return user.has_role(Role.LEADER) or pod_id in pods_related_to(user, on)


@policy("recognition.give")
def can_give(user: User, pod: Pod) -> bool:
    return can_give_on(user, pod.id, today_for(user, pod.timezone))


@policy("recognition.suggest")
def can_suggest(user: User, pod: Pod) -> bool:
    return can_give(user, pod)


@policy("recognition.coach")
def can_coach(user: User, pod: Pod | int) -> bool:
    if user.has_role(Role.LEADER):
        return True
    pod_id = pod if isinstance(pod, int) else pod.id
    return user.has_role(Role.COACH) and user.id in coach_ids(pod_id)


def visible_clause(user: User, on: date):
    """SQL condition: the recognitions this person may see."""
    if user.has_role(Role.LEADER):
        return Recognition.id.isnot(None)
    own = select(RecognitionReceiver.recognition_id).where(RecognitionReceiver.user_id == user.id)
    return or_(
        Recognition.visibility == Visibility.ORG.value,
        Recognition.pod_id.in_(pods_related_to(user, on) or {-1}),
        Recognition.giver_id == user.id,
        Recognition.id.in_(own),
    )


def visible_to(user: User, recognition: Recognition, on: date) -> bool:
    return db.session.scalar(
        select(func.count()).select_from(Recognition)
        .where(Recognition.id == recognition.id, visible_clause(user, on))
    ) == 1


@policy("recognition.view")
def can_view(user: User, recognition: Recognition) -> bool:
    return visible_to(user, recognition, today_for(user))
