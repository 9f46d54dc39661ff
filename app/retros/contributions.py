"""What retros report to other features: a pod's retro actions over a quarter, for its quarterly review."""

from __future__ import annotations

from datetime import date

from sqlalchemy import select

from app.extension_points import quarter_activity
from app.extensions import db
from app.retros.models import OPEN_STATUSES, ActionStatus, RetroAction


@quarter_activity(20, "retro_actions")
def retro_quarter(pod, start: date, end: date) -> dict:
    actions = db.session.execute(select(RetroAction.status, RetroAction.baseline_value, RetroAction.result_value,
                                        RetroAction.direction).where(
        RetroAction.pod_id == pod.id, RetroAction.due_date >= start, RetroAction.due_date <= end)).all()
    done = [a for a in actions if a.status == ActionStatus.DONE.value]
    confirmed = sum(1 for a in done if a.baseline_value is not None and a.result_value is not None
                    and a.direction is not None and a.result_value != a.baseline_value
                    and (a.result_value > a.baseline_value) == (a.direction == "up"))
    return {"total": len(actions), "done": len(done), "confirmed_effect": confirmed,
            "open": sum(1 for a in actions if a.status in OPEN_STATUSES),
            "dropped": sum(1 for a in actions if a.status == ActionStatus.DROPPED.value)}
