"""What pilots add to a pod's quarterly review: the pilots the pod ran during the quarter."""

from __future__ import annotations

from datetime import date

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from app.extension_points import quarter_activity
from app.pilots.models import PilotStatus
from app.pilots.services import quarter_pilots


def describe(a: dict) -> list[str]:
    lines = []
    for pilot in a["pilots"]:
        when = _("from %(day)s", day=pilot["start_date"])
        if pilot["ended_on"]:
            when += " " + _("to %(day)s", day=pilot["ended_on"])
        lines.append(f"{pilot['name']} · {pilot['pod']} · {when} · {PilotStatus.label_of(pilot['status'])}")
    return lines


@quarter_activity(35, "pilots", title=_l("Pilots"), describe=describe, template="pilots/_quarter.html")
def pilots_quarter(pod, start: date, end: date) -> dict:
    """Plain data (a signed-off review freezes it as JSON). `pod` None: every pod (the leader's quarter view)."""
    found = quarter_pilots(pod.id if pod is not None else None, start, end)
    return {"count": len(found), "pilots": found}
