"""What recognition reports to other features: what was recognised in a pod's quarter."""

from __future__ import annotations

from datetime import date

from app.extension_points import quarter_activity
from app.recognition.insights import alignment


@quarter_activity(40, "recognition")
def recognition_quarter(pod, start: date, end: date) -> dict:
    recognition = alignment(pod, start, end)
    return {"total": recognition.total, "good_outcome": recognition.good,
            "good_share": recognition.good_share, "by_principle": recognition.by_principle}
