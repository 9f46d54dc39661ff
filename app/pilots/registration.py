"""Where pilots show in the navigation."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l

from app.extension_points import nav_item
from app.permissions import can

nav_item(25, "pilots.where_to_start", _l("Where to start"), visible=lambda user: can(user, "pilots.where_to_start"),
         active_prefix="pilots.")
nav_item(95, "pilots.settings", _l("Request types"), visible=lambda user: can(user, "pilots.settings"),
         menu="admin")
