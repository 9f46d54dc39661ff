"""What recognition reports to other features: what was recognised in a pod's quarter."""

from __future__ import annotations

from datetime import date

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from app.extension_points import quarter_activity
from app.formatting import format_share
from app.recognition.insights import alignment


def describe(a: dict) -> list[str]:
    line = _("%(total)s recognitions, %(good)s backed by a good customer outcome", total=a["total"],
             good=a["good_outcome"])
    return [line + (f" ({format_share(a['good_share'])})" if a["good_share"] is not None else "")]


@quarter_activity(40, "recognition", title=_l("Recognition"), describe=describe)
def recognition_quarter(pod, start: date, end: date) -> dict:
    recognition = alignment(pod, start, end)
    return {"total": recognition.total, "good_outcome": recognition.good,
            "good_share": recognition.good_share, "by_principle": recognition.by_principle}
