"""The one place that answers "may this user do X (to this pod)?" for views and templates alike."""

from __future__ import annotations

from dataclasses import dataclass, field

from flask import abort, g
from flask_login import current_user
from sqlalchemy import select

from app.extensions import db
from app.org.models import Membership, Pod, Role, User, pod_coaches
from app.timeutil import utcnow

# Actions without an object: what a role may use anywhere.
MANAGE_USERS = "manage_users"
MANAGE_ORG = "manage_org"  # segments, lifecycle stages, organisation settings
CREATE_POD = "create_pod"
VIEW_ALL_PODS = "view_all_pods"
MANAGE_IMPORTS = "manage_imports"
MANAGE_API_TOKENS = "manage_api_tokens"

# Actions on a pod.
VIEW_POD = "view_pod"
EDIT_POD = "edit_pod"
MANAGE_MEMBERS = "manage_members"
COACH_POD = "coach_pod"  # run ceremonies, set targets
# Put a pod on, or take it off, a (segment, stage) cell of the coverage matrix. Leaders: any pod; coaches:
# the pods they coach (a coach owns their pod's journeys). Without a pod: may the user assign any cell at all.
ASSIGN_COVERAGE = "assign_coverage"
VIEW_POD_OUTCOMES = "view_pod_outcomes"

GLOBAL_MINIMUM = {
    MANAGE_USERS: Role.ADMIN,
    MANAGE_ORG: Role.ADMIN,
    MANAGE_API_TOKENS: Role.ADMIN,
    MANAGE_IMPORTS: Role.LEADER,
    CREATE_POD: Role.LEADER,
    VIEW_ALL_PODS: Role.LEADER,
}


@dataclass
class PodRelations:
    """Which pods a user coaches and belongs to now; loaded once per request."""

    coached: set[int] = field(default_factory=set)
    member_of: set[int] = field(default_factory=set)


def pod_relations(user: User) -> PodRelations:
    cache = g.setdefault("_pod_relations", {})
    if user.id in cache:
        return cache[user.id]
    today = utcnow().date()
    coached = set(db.session.scalars(select(pod_coaches.c.pod_id).where(pod_coaches.c.user_id == user.id)))
    member_of = set(
        db.session.scalars(
            select(Membership.pod_id).where(
                Membership.user_id == user.id,
                Membership.start_date <= today,
                (Membership.end_date.is_(None)) | (Membership.end_date >= today),
            )
        )
    )
    cache[user.id] = PodRelations(coached, member_of)
    return cache[user.id]


def _pod_id(obj: Pod | int | None) -> int | None:
    if obj is None:
        return None
    return obj if isinstance(obj, int) else obj.id


def can(user: User | None, action: str, obj: Pod | int | None = None) -> bool:
    if user is None or not getattr(user, "is_authenticated", False) or not user.active:
        return False
    if action in GLOBAL_MINIMUM:
        return user.has_role(GLOBAL_MINIMUM[action])
    pod_id = _pod_id(obj)
    if user.has_role(Role.LEADER):
        return True
    relations = pod_relations(user)
    coaches_it = pod_id in relations.coached and user.has_role(Role.COACH)
    member = pod_id in relations.member_of
    if action == VIEW_POD:
        return True
    if action == ASSIGN_COVERAGE:
        if pod_id is None:
            return bool(relations.coached) and user.has_role(Role.COACH)
        return coaches_it
    if action in (EDIT_POD, MANAGE_MEMBERS, COACH_POD):
        return coaches_it
    if action == VIEW_POD_OUTCOMES:
        return coaches_it or member
    return False


def require(action: str, obj: Pod | int | None = None) -> None:
    if not can(current_user, action, obj):
        abort(403)


def template_can(action: str, obj: Pod | int | None = None) -> bool:
    return can(current_user, action, obj)
