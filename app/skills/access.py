"""Who may read and change a pod's skills matrix, registered as policies in app.permissions.

- ``skills.view`` (a pod or pod id): the pod's current members, its coaches, leaders and admins.
- ``skills.set`` (a pod): the pod's coaches set any current member's level, add and retire skills, and confirm or
  decline proposals; so do leaders and admins, for every pod (roles are cumulative upward, DESIGN.md).
- ``skills.propose`` (a pod): a current member proposes a level of their own (the coach confirms).
"""

from __future__ import annotations

from app import permissions
from app.org.models import Pod, Role, User

VIEW = "skills.view"
SET = "skills.set"
PROPOSE = "skills.propose"


def _pod_id(target) -> int | None:
    if target is None:
        return None
    if isinstance(target, int):
        return target
    if isinstance(target, Pod):
        return target.id
    return getattr(target, "pod_id", None)


def coaches(user: User, pod_id: int | None) -> bool:
    return (pod_id is not None and user.has_role(Role.COACH)
            and pod_id in permissions.pod_relations(user).coached)


def member_of(user: User, pod_id: int | None) -> bool:
    return pod_id is not None and pod_id in permissions.pod_relations(user).member_of


@permissions.policy(VIEW)
def can_view(user: User, target) -> bool:
    pod_id = _pod_id(target)
    if pod_id is None:
        return False
    return user.has_role(Role.LEADER) or coaches(user, pod_id) or member_of(user, pod_id)


@permissions.policy(SET)
def can_set(user: User, target) -> bool:
    pod_id = _pod_id(target)
    return pod_id is not None and (user.has_role(Role.LEADER) or coaches(user, pod_id))


@permissions.policy(PROPOSE)
def can_propose(user: User, target) -> bool:
    return member_of(user, _pod_id(target))
