"""What the skills matrix reports to other features: a pod's skill coverage then and now, for its quarterly review."""

from __future__ import annotations

from datetime import date

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from app.extension_points import quarter_activity
from app.skills.services import quarter_coverage


def describe(a: dict) -> list[str]:
    then, now = a["then"], a["now"]
    return [_("Skills two or more members resolve on their own: %(then)s of %(then_total)s at the start, %(now)s of "
              "%(now_total)s at the end", then=then["covered"], then_total=then["skills"], now=now["covered"],
              now_total=now["skills"]),
            _("Single points of failure: %(then)s at the start, %(now)s at the end",
              then=then["single_point"] + then["uncovered"], now=now["single_point"] + now["uncovered"])
            + " · " + _("Level changes: %(n)s (%(proposed)s proposed by members)", n=a["changes"],
                        proposed=a["from_proposals"])]


@quarter_activity(50, "skills", title=_l("Skills"), describe=describe)
def skills_quarter(pod, start: date, end: date) -> dict:
    return quarter_coverage(pod, start, end)
