"""How reviews show in the navigation."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l

from app.extension_points import nav_item

nav_item(70, "reviews.index", _l("Reviews"), active_prefix="reviews.")
