"""How autonomy shows in the navigation and on "My day"."""

from __future__ import annotations

from datetime import date

from flask_babel import lazy_gettext as _l
from sqlalchemy import true

from app.autonomy import services
from app.autonomy.models import Decision
from app.extension_points import home_section, nav_item
from app.org.models import Role
from app.outcomes.metrics import MetricDef, RateSource, register_rate_source
from app.permissions import can

register_rate_source(
    MetricDef("autonomy_rate", _l("Decisions within autonomy"), "higher", "rate"),
    RateSource(
        model=Decision, at=Decision.decided_at, flag=lambda: Decision.within_limit == true(), pod=Decision.pod_id,
        columns={"pod": (Decision.pod_id,), "agent": (Decision.agent_id,), "segment": (Decision.segment_id,),
                 "stage": (Decision.stage_id,), "cell": (Decision.segment_id, Decision.stage_id),
                 "request_type": (Decision.request_type,)},
        scope_columns={"pod_id": Decision.pod_id, "agent_id": Decision.agent_id, "segment_id": Decision.segment_id,
                       "stage_id": Decision.stage_id, "request_type": Decision.request_type},
    ),
)
nav_item(50, "autonomy.index", _l("Autonomy"), active_prefix="autonomy.")
nav_item(50, "autonomy.action_type_list", _l("Autonomy actions"), menu="admin",
         visible=lambda user: user.has_role(Role.ADMIN))


@home_section(15, "autonomy/_home.html")
def my_autonomy_section(user, today: date) -> dict | None:
    queue = services.pending_for(user, limit=50) if can(user, "autonomy.use_queue") else []
    return {"allowances": services.my_autonomy(user), "waiting": len(queue)}
