"""What autonomy reports to other features: a pod's decisions and limit changes over a quarter."""

from __future__ import annotations

from datetime import date

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import func, select

from app.autonomy.models import Decision, DecisionStatus, Limit, LimitVersion, ScopeLevel
from app.extension_points import quarter_activity
from app.extensions import db
from app.formatting import format_share
from app.timeutil import local_day_bounds


def describe(a: dict) -> list[str]:
    approvals = _("Approvals: %(approved)s approved, %(rejected)s rejected", approved=a["approved"],
                  rejected=a["rejected"])
    if a["approval_rate"] is not None:
        approvals += f" ({format_share(a['approval_rate'])})"
    return [_("%(total)s decisions, %(within)s within the limit", total=a["decisions"], within=a["within_limit"]),
            approvals + " · " + _("Limit changes: %(n)s", n=a["limit_changes"])]


@quarter_activity(30, "autonomy", title=_l("Autonomy"), describe=describe)
def autonomy_quarter(pod, start: date, end: date) -> dict:
    lower, upper = local_day_bounds(start, end, pod.timezone)
    decisions = dict(db.session.execute(
        select(Decision.status, func.count()).where(Decision.pod_id == pod.id, Decision.decided_at >= lower,
                                                    Decision.decided_at < upper).group_by(Decision.status)).all())
    within = db.session.scalar(select(func.count()).select_from(Decision).where(
        Decision.pod_id == pod.id, Decision.decided_at >= lower, Decision.decided_at < upper,
        Decision.within_limit.is_(True))) or 0
    approved = decisions.get(DecisionStatus.APPROVED.value, 0)
    rejected = decisions.get(DecisionStatus.REJECTED.value, 0)
    limit_changes = db.session.scalar(
        select(func.count()).select_from(LimitVersion).join(Limit, Limit.id == LimitVersion.limit_id).where(
            LimitVersion.created_at >= lower, LimitVersion.created_at < upper,
            (Limit.pod_id == pod.id) | (Limit.level == ScopeLevel.ORG.value))) or 0
    return {"decisions": sum(decisions.values()), "within_limit": within, "approved": approved,
            "rejected": rejected, "approval_rate": approved / (approved + rejected) if approved + rejected else None,
            "limit_changes": limit_changes}
