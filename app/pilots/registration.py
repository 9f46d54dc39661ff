"""Where pilots show in the navigation, and their note on the coverage matrix (unexpected request types)."""

from __future__ import annotations

from datetime import timedelta

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from app.extension_points import coverage_note, nav_item
from app.outcomes import metrics
from app.outcomes.opportunities import unexpected_counts
from app.permissions import VIEW_ALL_PODS, can
from app.timeutil import utcnow

nav_item(25, "pilots.where_to_start", _l("Where to start"), visible=lambda user: can(user, "pilots.where_to_start"),
         active_prefix="pilots.")
nav_item(95, "pilots.settings", _l("Request types"), visible=lambda user: can(user, "pilots.settings"),
         menu="admin")


NOTE_DAYS = 90


@coverage_note("pilots.unexpected")
def unexpected_notes(user) -> dict:
    """Cells whose cases of the last 90 days include request types not expected at the stage (one query)."""
    end = utcnow().date()  # UTC days: a note over the last 90 days needs no time zone (and no query for one)
    start = end - timedelta(days=NOTE_DAYS - 1)
    drill = can(user, VIEW_ALL_PODS)
    notes = {}
    for (segment_id, stage_id), count in unexpected_counts(start, end, "UTC").items():
        url = None
        if drill:
            url = metrics.drilldown_url("volume", metrics.Scope(segment_id=segment_id, stage_id=stage_id), start,
                                        end) + "&unexpected=1"
        notes[(segment_id, stage_id)] = {
            "text": _("%(n)s cases of a request type not expected at this stage (last %(days)s days)", n=count,
                      days=NOTE_DAYS), "url": url}
    return notes
