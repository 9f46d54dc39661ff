"""Who may see and do what in autonomy, for the object in hand."""

from __future__ import annotations

from app.autonomy import services as svc
from app.autonomy.models import Decision
from app.org.models import Role, User
from app.timeutil import utcnow


def can_view_decision(user: User, decision: Decision) -> bool:
    if decision.agent_id == user.id or user.has_role(Role.LEADER):
        return True
    return user.has_role(Role.COACH) and decision.pod_id in svc.coached_pod_ids(user)


def can_use_queue(user: User) -> bool:
    return user.has_role(Role.LEADER) or (user.has_role(Role.COACH) and bool(svc.coached_pod_ids(user)))


def can_view_pod(user: User, pod_id: int) -> bool:
    return user.has_role(Role.LEADER) or (user.has_role(Role.COACH) and pod_id in svc.coached_pod_ids(user))


def can_view_agent(user: User, agent_id: int) -> bool:
    if agent_id == user.id or user.has_role(Role.LEADER):
        return True
    if not user.has_role(Role.COACH):
        return False
    return agent_id in svc.members_of(svc.coached_pod_ids(user), utcnow().date())


def can_set_limits(user: User) -> bool:
    return user.has_role(Role.LEADER)


def can_propose(user: User) -> bool:
    return user.has_role(Role.COACH)
