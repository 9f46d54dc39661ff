"""What pilots add to a pod's quarterly review: the pilots the pod ran during the quarter."""

from __future__ import annotations

from datetime import date

from app.extension_points import quarter_activity
from app.pilots.services import quarter_pilots


@quarter_activity(35, "pilots")
def pilots_quarter(pod, start: date, end: date) -> dict:
    """Plain data (a signed-off review freezes it as JSON). `pod` None: every pod (the leader's quarter view)."""
    found = quarter_pilots(pod.id if pod is not None else None, start, end)
    return {"count": len(found), "pilots": found}
