"""Error pages that fit the layout, short in-place messages for htmx requests, JSON for the API.

Services raise ``ServiceError`` (or a feature's subclass of it) with an HTTP status and a message a person can
read; the one handler below turns it into a page, an htmx fragment or a JSON body, so views never wrap service
calls in try/except just to translate an error.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps

from flask import Flask, g, jsonify, make_response, render_template, request
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_wtf.csrf import CSRFError
from werkzeug.exceptions import HTTPException, InternalServerError

from app.extensions import db
from app.htmx import is_htmx


class ServiceError(Exception):
    """A rule refused what was asked. ``status`` is the HTTP status a view answers with (422 by default);
    ``message`` is shown to the person (a plain or lazy string); ``stale`` marks a request made from a page that
    is out of date (e.g. a vote sent after the phase moved on): htmx pages show the message and get the event
    ``podium-stale``, on which a live page fetches the current state at once (without a reload)."""

    status: int = 422
    code: str = "invalid"

    def __init__(self, message: object = "", status: int | None = None, *, stale: bool = False,
                 code: str | None = None) -> None:
        super().__init__(str(message))
        self.message = message
        if status is not None:
            self.status = status
        if code is not None:
            self.code = code
        self.stale = stale

    def __str__(self) -> str:
        return str(self.message)


# Each status's title and default message, translated when an error is shown: only the one shown (a refused vote
# translated all 26 on every refusal, a fifth of its CPU).
_MESSAGES: dict[int, tuple] = {
    400: (_l("Bad request"), _l("The request could not be understood. Check what you entered and try again.")),
    401: (_l("Sign-in needed"), _l("Please sign in to continue.")),
    403: (_l("Not allowed"), _l("You do not have permission to do this.")),
    404: (_l("Not found"), _l("The page or item you asked for does not exist.")),
    405: (_l("Not allowed"), _l("This address does not accept that kind of request.")),
    409: (_l("Conflict"), _l("Someone changed this at the same time. Reload and try again.")),
    413: (_l("Too large"), _l("What you sent is larger than Podium accepts.")),
    415: (_l("Unsupported type"), _l("Send this request as JSON.")),
    422: (_l("Check your input"), _l("Some of what you entered is not valid.")),
    429: (_l("Too many attempts"), _l("Too many attempts in a short time. Wait a minute and try again.")),
    500: (_l("Something went wrong"), _l("Podium hit an unexpected error. Nothing you saved before is lost; "
                                       "try again in a moment.")),
    503: (_l("Busy"), _l("Podium is busy for a moment. Try again in a few seconds; nothing was lost.")),
}


def wants_json() -> bool:
    return request.blueprint == "api" or request.path.startswith("/api/")


def render_error(code: int, message: str | None = None):
    found = _MESSAGES.get(code)
    title, default = (str(found[0]), found[1]) if found else (_("Error"), _("Something went wrong."))
    text = message or str(default)
    if wants_json():
        name = {400: "bad_request", 401: "unauthorized", 403: "forbidden", 404: "not_found",
                405: "method_not_allowed", 409: "conflict", 413: "too_large", 415: "unsupported_media_type",
                422: "invalid", 429: "rate_limited", 503: "unavailable"}.get(code, "error")
        return jsonify({"error": {"code": name, "message": str(text)}}), code
    if is_htmx():
        response = render_template("errors/_message.html", title=title, message=text, code=code)
        return response, code, {"HX-Retarget": "#flash-area", "HX-Reswap": "innerHTML"}
    return render_template("errors/error.html", title=title, message=text, code=code), code


def show_refusals_on(page: Callable[[list[str]], object]) -> None:
    """From here on in this request, a ServiceError is answered by ``page([message])`` (see ``refused_on``)."""
    g.refused_page = page


def refused_on(page: Callable[[list[str]], object]) -> Callable:
    """A form page's view: a ServiceError it raises is answered by ``page([message])`` (the form shown again, with
    what was typed and the refusal) instead of an error page, with the error's status (or the status ``page``
    returns with it). The view itself has no try/except; the one handler below renders the page after rolling
    back."""

    def decorator(view: Callable) -> Callable:
        @wraps(view)
        def wrapper(*args, **kwargs):
            show_refusals_on(page)
            return view(*args, **kwargs)

        return wrapper

    return decorator


def service_error_response(error: ServiceError):
    """The one translation of a refused rule into a response; nothing half-done is kept."""
    db.session.rollback()
    if wants_json():
        return jsonify({"error": {"code": error.code, "message": str(error.message)}}), error.status
    if error.stale and is_htmx():
        body, status, headers = render_error(error.status, str(error.message))
        response = make_response(body, status, headers)
        response.headers["HX-Trigger"] = "podium-stale"
        return response
    page = g.pop("refused_page", None)
    if page is not None:
        answer = page([str(error.message)])
        return answer if isinstance(answer, tuple) else (answer, error.status)
    return render_error(error.status, str(error.message))


def register(app: Flask) -> None:
    @app.errorhandler(ServiceError)
    def service_error(error: ServiceError):
        return service_error_response(error)

    @app.errorhandler(CSRFError)
    def csrf_error(error):
        return render_error(400, _("Your form expired or was sent from elsewhere. Reload the page and try again; "
                                   "nothing was changed."))

    @app.errorhandler(HTTPException)
    def http_error(error: HTTPException):
        if error.code is None or error.code < 400:
            return error
        if error.response is not None:  # a view built its own response (e.g. HX-Refresh for a stale page)
            return error.response
        custom = error.description if error.description != type(error).description else None
        db.session.rollback()
        return render_error(error.code, custom)

    @app.errorhandler(InternalServerError)
    def server_error(error):
        db.session.rollback()
        return render_error(500)

    @app.errorhandler(Exception)
    def unhandled(error):
        if isinstance(error, HTTPException):
            return http_error(error)
        if isinstance(error, ServiceError):
            return service_error_response(error)
        app.logger.exception("Unhandled error")
        db.session.rollback()
        return render_error(500)
