"""What stand-ups report to other features: a pod's quarter for its quarterly review."""

from __future__ import annotations

from datetime import date

from app.extension_points import quarter_activity
from app.standups.services import history


@quarter_activity(10, "standups")
def standup_quarter(pod, start: date, end: date) -> dict:
    standups = history(pod, start, end)
    return {"participation": standups.participation, "boards": len(standups.boards),
            "blockers_raised": standups.raised, "blockers_resolved": standups.resolved,
            "median_days_to_resolve": standups.median_days_to_resolve}
