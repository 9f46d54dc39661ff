"""Who may read, post on, coach and handle blockers of a pod's stand-up: policies asked through ``can``.

Actions: ``standups.view`` and ``standups.coach`` (on a pod, a board, a blocker or a pod id), ``standups.post`` (on a
board), ``standups.handle_blocker`` (on a blocker). Views, templates and services all ask
``can(user, "standups.<verb>", obj)``.
"""

from __future__ import annotations

from app import permissions
from app.org.models import Pod, Role, User

VIEW = "standups.view"
COACH = "standups.coach"
POST = "standups.post"
HANDLE_BLOCKER = "standups.handle_blocker"


def pod_id_of(target) -> int:
    """The pod a stand-up object belongs to: a pod id, a Pod, or anything with a ``pod_id`` (board, blocker)."""
    if isinstance(target, int):
        return target
    if isinstance(target, Pod):
        return target.id
    return target.pod_id


@permissions.policy(VIEW)
def can_view(user: User, target) -> bool:
    """Members and coaches see their pods' boards; coaches and leaders read every pod's; agents only their own."""
    pod_id = pod_id_of(target)
    if not permissions.can(user, permissions.VIEW_POD, pod_id):
        return False
    if user.has_role(Role.COACH):
        return True
    return pod_id in permissions.pod_relations(user).member_of


@permissions.policy(COACH)
def can_coach(user: User, target) -> bool:
    """Walk the board, close it, change the pod's stand-up settings: the pod's coaches (and leaders)."""
    return permissions.can(user, permissions.COACH_POD, pod_id_of(target))


@permissions.policy(POST)
def can_post(user: User, board) -> bool:
    """Post an entry or raise a blocker on an open board: the pod's members and its coaches."""
    if board.is_closed:
        return False
    relations = permissions.pod_relations(user)
    return board.pod_id in relations.member_of or (board.pod_id in relations.coached and user.has_role(Role.COACH))


@permissions.policy(HANDLE_BLOCKER)
def can_handle_blocker(user: User, blocker) -> bool:
    """Resolve or escalate a blocker: its owner or the pod's coach."""
    return blocker.owner_id == user.id or can_coach(user, blocker.pod_id)
