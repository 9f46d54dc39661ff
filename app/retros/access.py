"""Who may see, take part in and facilitate a retro: pod members and coaches take part, leaders watch."""

from __future__ import annotations

from app import permissions as P
from app.org.models import Role, User


def participates(user: User | None, pod_id: int) -> bool:
    """Members of the pod and its coaches write cards, vote and own actions."""
    if user is None or not getattr(user, "is_authenticated", False) or not user.active:
        return False
    relations = P.pod_relations(user)
    return pod_id in relations.member_of or (pod_id in relations.coached and user.has_role(Role.COACH))


def may_view(user: User | None, pod_id: int) -> bool:
    return participates(user, pod_id) or P.can(user, P.VIEW_ALL_PODS)


def may_run(user: User | None, pod_id: int) -> bool:
    """Open retros and save templates: the pod's coaches (and leaders, who may do what a coach does)."""
    return P.can(user, P.COACH_POD, pod_id)


def may_facilitate(user: User | None, retro) -> bool:
    """The chosen facilitator, or anyone who coaches the pod (to take over when the facilitator is away)."""
    if user is None or not getattr(user, "is_authenticated", False):
        return False
    if retro.facilitator_id == user.id and participates(user, retro.pod_id):
        return True
    return may_run(user, retro.pod_id)
