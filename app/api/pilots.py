"""API for where to start and pilots: the ranked cells of a period and pilots with their effects. Same permissions
as the pages (app.pilots.access)."""

from __future__ import annotations

from flask import g, jsonify, request
from flask_babel import gettext as _

from app.api import bp
from app.api.auth import forbidden, token_required
from app.api.views import BadRequest, _number, _period, limited
from app.org import services as org
from app.outcomes import opportunities
from app.permissions import can
from app.pilots import services as pilot_services


def _cell_json(cell: opportunities.Opportunity) -> dict:
    return {
        "rank": cell.rank, "segment": {"id": cell.segment_id, "name": cell.segment},
        "stage": {"id": cell.stage_id, "name": cell.stage}, "avoidable_rework": cell.rework,
        "pods": [{"id": pod_id, "name": name} for pod_id, name in cell.pods], "gap": cell.gap,
        "unexpected_request_types": cell.unexpected,
        "metrics": {code: {"value": _number(f.value), "numerator": _number(f.numerator),
                           "denominator": _number(f.denominator)} for code, f in cell.figures.items()},
    }


@bp.route("/opportunities")
@limited
@token_required
def get_opportunities():
    unknown = sorted(set(request.args) - {"from", "to"})
    if unknown:
        raise BadRequest(400, "invalid_parameter", _("Unknown parameters: %(names)s.",
                                                     names=", ".join(n[:40] for n in unknown[:5])))
    start, end = _period()
    if not can(g.api_user, "pilots.where_to_start"):
        return forbidden(_("Where to start is for coaches and leaders."))
    timezone = org.get_organisation().timezone
    ranking = opportunities.rank(start, end, timezone)
    return jsonify({"from": start.isoformat(), "to": end.isoformat(), "timezone": timezone,
                    "min_resolved": opportunities.MIN_RESOLVED,
                    "ranked": [_cell_json(cell) for cell in ranking.ranked],
                    "too_few_cases": [_cell_json(cell) for cell in ranking.too_few]})


@bp.route("/pilots")
@limited
@token_required
def get_pilots():
    if not can(g.api_user, "pilots.where_to_start"):
        return forbidden(_("The list of pilots is for coaches and leaders."))
    return jsonify({"pilots": [pilot_services.pilot_json(pilot) for pilot in pilot_services.pilots_list()]})


@bp.route("/pilots/<int:pilot_id>")
@limited
@token_required
def get_pilot(pilot_id: int):
    pilot = pilot_services.load(pilot_id)
    if pilot is None:
        raise BadRequest(404, "not_found", _("There is no pilot with id %(id)d.", id=pilot_id))
    if not can(g.api_user, "pilots.view", pilot):
        return forbidden(_("This token's user may not see this pilot."))
    return jsonify(pilot_services.pilot_json(pilot, pilot_services.measure_pilot(pilot)))
