"""How stand-ups show in the navigation and on "My day"."""

from __future__ import annotations

from datetime import date

from flask_babel import lazy_gettext as _l

from app import live
from app.extension_points import home_section, nav_item
from app.standups import poll, services
from app.timeutil import utcnow

nav_item(10, "standups.index", _l("Stand-up"), active_prefix="standups.")


@home_section(10, "standups/_home.html")
def my_standups_section(user, today: date) -> dict | None:
    rows = services.home_status(user, utcnow())
    return {"rows": rows} if rows else None

# The live check answers unchanged polls of the board from its version column (app/live.py), and polls after entries
# only with those entries (app/standups/poll.py).
live.register("standup", r"/standups/boards/([0-9]{1,10})/live", "standup_boards", answer=poll.answer)
