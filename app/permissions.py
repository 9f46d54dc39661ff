"""The one place that answers "may this user do X (to this object)?" for views, the API, services and templates.

Core actions (below) are about pods and the organisation. Features add their own actions by registering a
policy: ``@policy("retros.vote")`` on a function ``(user, obj) -> bool``; every question then goes through
``can(user, action, obj)`` (``can(...)`` in templates, ``require(...)`` in views). Actions are named
``<feature>.<verb>``; policy functions are named ``can_<verb>``. ``authorize(Model, action)`` loads the object a
view's URL names and checks the action once, before the view runs (404 when it does not exist, 403 when the
user may not), so views receive the object ready to use.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from functools import wraps
from typing import Any

from flask import abort, g
from flask_login import current_user, login_required
from sqlalchemy import exists, literal, select, union_all

from app.extensions import db
from app.org.models import Membership, Pod, Role, User, pod_coaches
from app.timeutil import utcnow

Policy = Callable[[User, Any], bool]
POLICIES: dict[str, Policy] = {}


def policy(action: str) -> Callable[[Policy], Policy]:
    """Register the rule for a feature's action (``\"<feature>.<verb>\"``); the user passed is signed in and active."""

    def decorator(func: Policy) -> Policy:
        POLICIES[action] = func
        return func

    return decorator


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
# Action on a person (a User or a user id): see their individual outcomes. Themselves, leaders everyone, a coach
# the current members of the pods they coach.
VIEW_AGENT_OUTCOMES = "view_agent_outcomes"

GLOBAL_MINIMUM = {
    MANAGE_USERS: Role.ADMIN,
    MANAGE_ORG: Role.ADMIN,
    MANAGE_API_TOKENS: Role.ADMIN,
    MANAGE_IMPORTS: Role.LEADER,
    CREATE_POD: Role.LEADER,
    VIEW_ALL_PODS: Role.LEADER,
}


def minimum_role(action: str, role: Role) -> None:
    """Register a feature's action that any active user of ``role`` or above may do, about no object in
    particular (``minimum_role("autonomy.set_limits", Role.LEADER)``)."""
    GLOBAL_MINIMUM[action] = role


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
    # One round trip for both sets: live pages ask on every changed poll and every write.
    coached_q = select(pod_coaches.c.pod_id, literal(True).label("coach")).where(pod_coaches.c.user_id == user.id)
    member_q = user.pod_ids_on(today).add_columns(literal(False).label("coach"))
    relations = PodRelations()
    for pod_id, coach in db.session.execute(union_all(coached_q, member_q)):
        (relations.coached if coach else relations.member_of).add(pod_id)
    cache[user.id] = relations
    return cache[user.id]


def pod_relation_columns(user_id, pod_id, today):
    """What ``pod_relations`` knows about one pod, as two SQL columns (``coaches_pod``, ``member_of_pod``), for a
    statement that reads them along with the object they are about (values or bind parameters)."""
    coaches = exists().where(pod_coaches.c.user_id == user_id, pod_coaches.c.pod_id == pod_id)
    member = exists().where(Membership.user_id == user_id, Membership.pod_id == pod_id, Membership.current(today))
    return coaches.label("coaches_pod"), member.label("member_of_pod")


def know_pod_relations(user: User, pod_id: int, *, coaches: bool, member: bool) -> None:
    """Hold, for this request, what ``pod_relation_columns`` read about one pod, so ``can`` asks no query about
    it. Only for a request that asks about no other pod (a retro's lean write)."""
    g.setdefault("_pod_relations", {})[user.id] = PodRelations(
        coached={pod_id} if coaches else set(), member_of={pod_id} if member else set()
    )


def _pod_id(obj: Pod | int | None) -> int | None:
    if obj is None:
        return None
    return obj if isinstance(obj, int) else obj.id


def signed_in(user: User | None) -> bool:
    return user is not None and getattr(user, "is_authenticated", False) and bool(user.active)


def can(user: User | None, action: str, obj: Any = None) -> bool:
    if not signed_in(user):
        return False
    if action in POLICIES:
        return bool(POLICIES[action](user, obj))
    if action in GLOBAL_MINIMUM:
        return user.has_role(GLOBAL_MINIMUM[action])
    if action == VIEW_AGENT_OUTCOMES:
        return _can_view_agent(user, obj if isinstance(obj, int) else obj.id)
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


def _can_view_agent(user: User, agent_id: int) -> bool:
    if user.id == agent_id or user.has_role(GLOBAL_MINIMUM[VIEW_ALL_PODS]):
        return True
    coached = pod_relations(user).coached
    if not coached or not user.has_role(Role.COACH):
        return False
    found = db.session.scalar(
        select(Membership.id)
        .where(Membership.user_id == agent_id, Membership.pod_id.in_(coached), Membership.current(utcnow().date()))
        .limit(1)
    )
    return found is not None


def require(action: str, obj: Any = None) -> None:
    if not can(current_user, action, obj):
        abort(403)


def template_can(action: str, obj: Any = None) -> bool:
    return can(current_user, action, obj)


def authorize(model: type, action: str, arg: str | None = None, *, options: tuple = ()) -> Callable:
    """Load the ``model`` row named by the view argument ``arg`` (default: ``<table singular>_id``), answer 404
    when it does not exist and 403 when the current user may not do ``action`` to it; the view receives the
    object under the argument's name without ``_id`` (``retro_id`` -> ``retro``). It signs in first, as
    ``login_required`` does (a visitor is sent to the sign-in page before anything is loaded), so a view needs no
    ``@login_required`` of its own."""

    def decorator(view: Callable) -> Callable:
        name = arg or f"{model.__name__.lower()}_id"
        target = name.removesuffix("_id")

        @wraps(view)
        def wrapper(*args, **kwargs):
            if action in GLOBAL_MINIMUM and action not in POLICIES:
                require(action)  # a role's right anywhere: refused before saying whether the row exists
            ident = kwargs.pop(name)
            stmt = select(model).where(model.id == ident)
            if options:
                stmt = stmt.options(*options)
            obj = db.session.scalar(stmt)
            if obj is None:
                abort(404)
            require(action, obj)
            kwargs[target] = obj
            return view(*args, **kwargs)

        return login_required(wrapper)

    return decorator
