"""What the skills matrix reports to other features: a pod's skill coverage then and now, for its quarterly review."""

from __future__ import annotations

from datetime import date

from app.extension_points import quarter_activity
from app.skills.services import quarter_coverage


@quarter_activity(50, "skills")
def skills_quarter(pod, start: date, end: date) -> dict:
    return quarter_coverage(pod, start, end)
