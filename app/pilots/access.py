"""Who may see "where to start" and pilots, and who steers them (policies of the one permission registry):

- ``pilots.where_to_start``: the ranked cells and the pilot list: leaders, and coaches read-only;
- ``pilots.view``: a pilot's page: leaders and coaches, and the members of the pilot's pod;
- ``pilots.manage``: start, widen, end or adopt a pilot: leaders;
- ``pilots.settings``: which request types are complaints and which are expected at each stage: admins.
"""

from __future__ import annotations

from app import permissions as P
from app.org.models import Role, User


@P.policy("pilots.where_to_start")
def can_where_to_start(user: User, _obj=None) -> bool:
    return user.has_role(Role.COACH)


@P.policy("pilots.view")
def can_view(user: User, pilot) -> bool:
    if user.has_role(Role.COACH):
        return True
    pod_id = getattr(pilot, "pod_id", None)
    return pod_id is not None and pod_id in P.pod_relations(user).member_of


@P.policy("pilots.manage")
def can_manage(user: User, _obj=None) -> bool:
    return user.has_role(Role.LEADER)


@P.policy("pilots.settings")
def can_settings(user: User, _obj=None) -> bool:
    return P.can(user, P.MANAGE_ORG)
