"""How autonomy shows in the navigation and on "My day"."""

from __future__ import annotations

from datetime import date

from flask_babel import lazy_gettext as _l

from app.autonomy import services
from app.extension_points import home_section, nav_item
from app.org.models import Role
from app.permissions import can

nav_item(50, "autonomy.index", _l("Autonomy"), active_prefix="autonomy.")
nav_item(50, "autonomy.action_type_list", _l("Autonomy actions"), menu="admin",
         visible=lambda user: user.has_role(Role.ADMIN))


@home_section(15, "autonomy/_home.html")
def my_autonomy_section(user, today: date) -> dict | None:
    queue = services.pending_for(user, limit=50) if can(user, "autonomy.use_queue") else []
    return {"allowances": services.my_autonomy(user), "waiting": len(queue)}
