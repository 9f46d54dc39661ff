"""API endpoints: upsert cases, read the metrics, and the OpenAPI document that describes both."""

from __future__ import annotations

import json
from datetime import date

from flask import current_app, g, jsonify, request
from flask_babel import gettext as _
from sqlalchemy import select
from werkzeug.exceptions import HTTPException

from app import permissions as P
from app.api import bp
from app.api.auth import forbidden, json_error, request_token, token_required
from app.api.cases import MAX_CASES, store_items
from app.api.openapi import document
from app.errors import ServiceError
from app.extensions import client_address, db, limiter
from app.forms import parse_date, parse_int
from app.org import services as org
from app.org.models import LifecycleStage, Pod, Segment, User
from app.outcomes import metrics
from app.outcomes.models import CHANNELS, REQUEST_TYPES

DEFAULT_RATE_LIMIT = "300 per minute"
EARLIEST = date(2000, 1, 1)
LATEST = date(2099, 12, 31)
MAX_RANGE_DAYS = 3660
ID_PARAMETERS = {"pod": Pod, "agent": User, "segment": Segment, "stage": LifecycleStage}
CHOICE_PARAMETERS = {"channel": CHANNELS, "request_type": REQUEST_TYPES}
METRIC_PARAMETERS = ("from", "to", *ID_PARAMETERS, *CHOICE_PARAMETERS)


class BadRequest(ServiceError):
    """A request the API refuses: status, a machine-readable error code and a message (the API's JSON shape)."""

    def __init__(self, status: int, error: str, message: str) -> None:
        super().__init__(message, status, code=error)


def _rate_limit() -> str:
    return current_app.config.get("API_RATE_LIMIT") or DEFAULT_RATE_LIMIT


def _rate_key() -> str:
    """A valid token gets its own allowance; requests without one, or with an unknown, revoked or made-up one,
    share their client address's (so inventing tokens does not escape the limit)."""
    token = request_token()
    if token is not None:
        return f"api-token:{token.id}"
    return "api-address:" + client_address()


limited = limiter.limit(_rate_limit, key_func=_rate_key)


@bp.errorhandler(ServiceError)
def service_error(error: ServiceError):
    """Every refused rule under /api/v1 in the API's error shape; nothing from the request is kept."""
    db.session.rollback()
    return json_error(error.status, error.code, str(error.message))


@bp.errorhandler(HTTPException)
def http_error(error: HTTPException):
    """Errors of API requests (too large, too many, wrong method) answered in JSON like the rest."""
    messages = {
        400: _("The request could not be understood."),
        404: _("There is no such API endpoint."),
        405: _("This endpoint does not accept that method."),
        413: _("The request body is larger than Podium accepts."),
        429: _("Too many requests for this token. Wait a moment and try again."),
    }
    code = error.code or 500
    response = json_error(code, (error.name or "error").lower().replace(" ", "_"),
                          messages.get(code) or error.description or error.name)
    for key, value in error.get_response().headers.items():
        if key.lower() in ("retry-after", "allow") or key.lower().startswith("x-ratelimit"):
            response.headers[key] = value
    return response


@bp.errorhandler(Exception)
def unexpected_error(error: Exception):
    if isinstance(error, HTTPException):
        return http_error(error)
    current_app.logger.exception("Unhandled API error")
    db.session.rollback()
    return json_error(500, "internal_error", _("Podium hit an unexpected error; nothing from this request was saved."))


ENDPOINT_METHODS = {"cases": "POST", "metrics": "GET", "openapi.json": "GET", "opportunities": "GET", "pilots": "GET"}


@bp.route("/", defaults={"path": ""}, methods=["GET", "POST", "PUT", "PATCH", "DELETE"])
@bp.route("/<path:path>", methods=["GET", "POST", "PUT", "PATCH", "DELETE"])
def not_found(path: str):
    """Unknown addresses under /api/v1 (and known ones asked with the wrong method) answer in JSON too."""
    allowed = ENDPOINT_METHODS.get(path.rstrip("/"))
    if allowed and path == path.rstrip("/"):
        return json_error(405, "method_not_allowed", _("This endpoint does not accept that method."),
                          {"Allow": allowed})
    return json_error(404, "not_found", _("There is no such API endpoint."))


@bp.route("/openapi.json")
def openapi():
    response = jsonify(document())
    response.headers["Access-Control-Allow-Origin"] = "*"
    return response


# --- cases ----------------------------------------------------------------------------------------


def _json_body() -> object:
    raw = request.get_data(cache=False)
    try:
        return json.loads(raw, parse_constant=_reject_constant)
    except (ValueError, RecursionError):
        raise BadRequest(400, "invalid_json", _("The request body is not valid JSON.")) from None


def _reject_constant(name: str) -> None:
    raise ValueError(name)


def _case_items() -> list:
    body = _json_body()
    items = body.get("cases") if isinstance(body, dict) else body
    if not isinstance(items, list):
        raise BadRequest(400, "invalid_body", _("Send a JSON object with a “cases” list (or the list itself)."))
    if isinstance(body, dict) and set(body) - {"cases"}:
        raise BadRequest(400, "invalid_body", _("The body has fields other than “cases”."))
    if not items:
        raise BadRequest(400, "invalid_body", _("The “cases” list is empty."))
    if len(items) > MAX_CASES:
        raise BadRequest(413, "too_many_cases", _("Send at most %(limit)d cases per request; this one has %(count)d.",
                                                  limit=MAX_CASES, count=len(items)))
    return items


@bp.route("/cases", methods=["POST"])
@limited
@token_required
def upsert_cases():
    if not P.can(g.api_user, P.MANAGE_IMPORTS):
        return forbidden(_("Only leaders and admins can write cases."))
    if not request.is_json:
        raise BadRequest(415, "unsupported_media_type",
                         _("Send the cases as JSON, with the header Content-Type: application/json."))
    result = store_items(_case_items(), org.get_organisation().timezone)
    return jsonify(result.as_json())


# --- metrics --------------------------------------------------------------------------------------


def _day(name: str) -> date:
    text = (request.args.get(name) or "").strip()
    if not text:
        raise BadRequest(400, "missing_parameter", _("The parameter “%(name)s” is required (YYYY-MM-DD).", name=name))
    day = parse_date(text, earliest=date.min, latest=date.max)
    if day is None:
        raise BadRequest(400, "invalid_date", _("“%(name)s” must be a date written as YYYY-MM-DD.", name=name))
    if not EARLIEST <= day <= LATEST:
        raise BadRequest(400, "invalid_date", _("“%(name)s” must fall between 2000-01-01 and 2099-12-31.", name=name))
    return day


def _period() -> tuple[date, date]:
    start, end = _day("from"), _day("to")
    if start > end:
        raise BadRequest(400, "invalid_period", _("“from” must not be after “to”."))
    if (end - start).days + 1 > MAX_RANGE_DAYS:
        raise BadRequest(400, "invalid_period", _("Ask for at most %(days)d days at once.", days=MAX_RANGE_DAYS))
    return start, end


def _ids() -> dict[str, int]:
    ids = {}
    for name in ID_PARAMETERS:
        text = request.args.get(name)
        if text is None:
            continue
        number = parse_int(text, minimum=1)
        if number is None:
            raise BadRequest(400, "invalid_parameter", _("“%(name)s” must be a positive whole number (an id).",
                                                         name=name))
        ids[name] = number
    return ids


def _choices() -> dict[str, str]:
    chosen = {}
    for name, allowed in CHOICE_PARAMETERS.items():
        text = request.args.get(name)
        if text is None:
            continue
        if text.strip() not in allowed:
            raise BadRequest(400, "invalid_parameter", _("“%(name)s” must be one of %(allowed)s.", name=name,
                                                         allowed=", ".join(allowed)))
        chosen[name] = text.strip()
    return chosen


def _check_exist(ids: dict[str, int]) -> None:
    """404 for an id that names nothing: one small query per id given (at most four)."""
    for name, wanted in ids.items():
        model = ID_PARAMETERS[name]
        if db.session.scalar(select(model.id).where(model.id == wanted)) is None:
            raise BadRequest(404, "not_found", _("There is no %(name)s with id %(id)d.", name=name, id=wanted))


def _allowed(user: User, ids: dict[str, int]) -> bool:
    """The dashboards' rule: leaders see everything; others a pod they coach or belong to, and the agents a
    coach coaches (or themselves). Organisation-wide figures are for leaders."""
    if P.can(user, P.VIEW_ALL_PODS):
        return True
    if "pod" not in ids and "agent" not in ids:
        return False
    if "pod" in ids and not P.can(user, P.VIEW_POD_OUTCOMES, ids["pod"]):
        return False
    return "agent" not in ids or P.can(user, P.VIEW_AGENT_OUTCOMES, ids["agent"])


def _number(value):
    if value is None or isinstance(value, int):
        return value
    return float(value)


@bp.route("/metrics")
@limited
@token_required
def get_metrics():
    unknown = sorted(set(request.args) - set(METRIC_PARAMETERS))
    if unknown:
        raise BadRequest(400, "invalid_parameter", _("Unknown parameters: %(names)s.",
                                                     names=", ".join(n[:40] for n in unknown[:5])))
    start, end = _period()
    ids = _ids()
    choices = _choices()
    _check_exist(ids)
    if not _allowed(g.api_user, ids):
        return forbidden(_("This token's user may not see these figures: ask for a pod you belong to or coach, "
                           "or an agent you coach."))
    timezone = org.get_organisation().timezone
    scope = metrics.Scope(pod_id=ids.get("pod"), agent_id=ids.get("agent"), segment_id=ids.get("segment"),
                          stage_id=ids.get("stage"), channel=choices.get("channel"),
                          request_type=choices.get("request_type"))
    figures = metrics.compute(start, end, scope, tz=timezone)
    return jsonify({
        "from": start.isoformat(),
        "to": end.isoformat(),
        "timezone": timezone,
        "scope": {**{name: ids.get(name) for name in ID_PARAMETERS},
                  **{name: choices.get(name) for name in CHOICE_PARAMETERS}},
        "metrics": {code: {"value": _number(f.value), "numerator": _number(f.numerator),
                           "denominator": _number(f.denominator)} for code, f in figures.items()},
    })
