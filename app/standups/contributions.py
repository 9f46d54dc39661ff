"""What stand-ups report to other features: a pod's quarter for its quarterly review."""

from __future__ import annotations

from datetime import date

from flask_babel import format_decimal
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from app.extension_points import quarter_activity
from app.formatting import format_share
from app.standups.services import history


def describe(a: dict) -> list[str]:
    blockers = _("Blockers raised: %(raised)s, resolved: %(resolved)s", raised=a["blockers_raised"],
                 resolved=a["blockers_resolved"])
    if a["median_days_to_resolve"] is not None:
        blockers += " · " + _("median %(days)s days to resolve", days=format_decimal(a["median_days_to_resolve"]))
    return [_("Participation") + ": " + format_share(a["participation"]) + " · " + _("%(n)s boards", n=a["boards"]),
            blockers]


@quarter_activity(10, "standups", title=_l("Stand-ups"), describe=describe)
def standup_quarter(pod, start: date, end: date) -> dict:
    standups = history(pod, start, end)
    return {"participation": standups.participation, "boards": len(standups.boards),
            "blockers_raised": standups.raised, "blockers_resolved": standups.resolved,
            "median_days_to_resolve": standups.median_days_to_resolve}
