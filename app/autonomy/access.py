"""Who may see and do what in autonomy, registered as permission policies (ask `can(user, "autonomy.<verb>", obj)`)."""

from __future__ import annotations

from app.autonomy import services as svc
from app.autonomy.models import Decision
from app.org.models import Role, User
from app.permissions import minimum_role, policy
from app.timeutil import utcnow


@policy("autonomy.view_decision")
def can_view_decision(user: User, decision: Decision) -> bool:
    if decision.agent_id == user.id or user.has_role(Role.LEADER):
        return True
    return user.has_role(Role.COACH) and decision.pod_id in svc.coached_pod_ids(user)


@policy("autonomy.approve")
def can_approve(user: User, decision: Decision) -> bool:
    return svc.can_approve(user, decision)


@policy("autonomy.use_queue")
def can_use_queue(user: User, _obj=None) -> bool:
    return user.has_role(Role.LEADER) or (user.has_role(Role.COACH) and bool(svc.coached_pod_ids(user)))


@policy("autonomy.view_pod")
def can_view_pod(user: User, pod_id: int) -> bool:
    return user.has_role(Role.LEADER) or (user.has_role(Role.COACH) and pod_id in svc.coached_pod_ids(user))


@policy("autonomy.view_agent")
def can_view_agent(user: User, agent_id: int) -> bool:
    if agent_id == user.id or user.has_role(Role.LEADER):
        return True
    if not user.has_role(Role.COACH):
        return False
    return agent_id in svc.members_of(svc.coached_pod_ids(user), utcnow().date())


minimum_role("autonomy.view_limits", Role.COACH)
minimum_role("autonomy.set_limits", Role.LEADER)
minimum_role("autonomy.propose", Role.COACH)
minimum_role("autonomy.manage_catalog", Role.ADMIN)
