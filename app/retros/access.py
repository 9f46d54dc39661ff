"""Who may see, take part in and facilitate a retro: pod members and coaches take part, leaders watch.

The rules are policies of the one permission registry; views, templates and services ask
``can(user, "retros.<verb>", obj)`` where ``obj`` is a retro, a pod or a pod id:

- ``retros.view``: see a pod's retros, boards and action register (who takes part, and leaders);
- ``retros.take_part``: write cards, vote, take notes, own actions (members and coaches of the pod);
- ``retros.run``: open retros and keep the pod's templates (the pod's coaches, and leaders);
- ``retros.facilitate``: move phases and set the timer (the chosen facilitator, or whoever may run);
- ``retros.group``: group cards (everyone who takes part, or only the facilitator if the retro says so);
- ``retros.see_case``: the facts of a case cited on a card (the pod's own cases, or outcomes the user may see).
"""

from __future__ import annotations

from app import permissions as P
from app.org.models import Pod, Role, User


def _pod_id(obj) -> int | None:
    """A retro, a template, an action (anything with ``pod_id``), a pod or a pod id."""
    if obj is None or isinstance(obj, int):
        return obj
    if isinstance(obj, Pod):
        return obj.id
    return obj.pod_id


@P.policy("retros.take_part")
def can_take_part(user: User, obj) -> bool:
    """Members of the pod and its coaches write cards, vote and own actions."""
    relations = P.pod_relations(user)
    pod_id = _pod_id(obj)
    return pod_id in relations.member_of or (pod_id in relations.coached and user.has_role(Role.COACH))


@P.policy("retros.view")
def can_view(user: User, obj) -> bool:
    return can_take_part(user, obj) or P.can(user, P.VIEW_ALL_PODS)


@P.policy("retros.run")
def can_run(user: User, obj) -> bool:
    """Open retros and save templates: the pod's coaches (and leaders, who may do what a coach does)."""
    return P.can(user, P.COACH_POD, _pod_id(obj))


@P.policy("retros.facilitate")
def can_facilitate(user: User, retro) -> bool:
    """The chosen facilitator, or anyone who coaches the pod (to take over when the facilitator is away)."""
    if retro.facilitator_id == user.id and can_take_part(user, retro):
        return True
    return can_run(user, retro)


@P.policy("retros.group")
def can_group(user: User, retro) -> bool:
    if retro.grouping == "facilitator":
        return can_facilitate(user, retro)
    return can_take_part(user, retro)


@P.policy("retros.see_case")
def can_see_case(user: User, pair) -> bool:
    """``pair`` is (retro, case): a case of the retro's own pod for whoever sees the retro, any other case only
    for someone who may see that pod's outcomes."""
    retro, case = pair
    if case.pod_id is not None and case.pod_id == retro.pod_id:
        return can_view(user, retro)
    return case.pod_id is not None and P.can(user, P.VIEW_POD_OUTCOMES, case.pod_id)
