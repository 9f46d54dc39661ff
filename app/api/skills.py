"""GET /api/v1/pods/<id>/skills: a pod's skills matrix as JSON, with the same permission as its page."""

from __future__ import annotations

from flask import g, jsonify
from flask_babel import gettext as _

from app.api import bp
from app.api.auth import forbidden, json_error, token_required
from app.api.views import limited
from app.extensions import db
from app.org.models import Pod
from app.permissions import can
from app.skills.access import VIEW
from app.skills.services import matrix


def _number(value):
    return value if value is None or isinstance(value, int) else float(value)


def _figure(figure) -> dict | None:
    if figure is None:
        return None
    return {"value": _number(figure.value), "numerator": _number(figure.numerator),
            "denominator": _number(figure.denominator)}


@bp.route("/pods/<int:pod_id>/skills")
@limited
@token_required
def get_pod_skills(pod_id: int):
    pod = db.session.get(Pod, pod_id)
    if pod is None:
        return json_error(404, "not_found", _("There is no pod with this id."))
    if not can(g.api_user, VIEW, pod):
        return forbidden(_("This token's user may not see this pod's skills: its members, its coaches and leaders "
                           "may."))
    m = matrix(pod)
    return jsonify({
        "pod": {"id": pod.id, "name": pod.name},
        "from": m.start.isoformat(), "to": m.today.isoformat(), "timezone": pod.timezone,
        "members": [{"id": u.id, "name": u.display_name} for u in m.members],
        "skills": [{
            "key": row.key, "kind": {"rt": "request_type", "ch": "channel", "c": "custom"}[row.kind],
            "name": row.label,
            "demand": _figure(row.demand), "resolved": _figure(row.resolved), "fcr": _figure(row.fcr),
            "handoff_rate": _figure(row.handoff_rate),
            "levels": [{"member": uid, "level": level} for uid, level in sorted(row.levels.items())],
            "independent": len(row.covering_ids), "single_point_of_failure": row.single_point,
            "mentors": row.mentor_ids, "best_fcr_member": row.best_fcr_id,
        } for row in m.skills],
        "single_points_of_failure": [row.key for row in m.single_points],
        "training_needs": [row.key for row in m.training_needs],
        "pending_proposals": [{"id": p.id, "member": p.user_id, "skill": p.skill_key, "level": p.level,
                               "proposed_at": p.proposed_at.isoformat() + "Z"} for p in m.pending],
    })
