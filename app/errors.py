"""Error pages that fit the layout, and short in-place messages for htmx requests."""

from flask import Flask, render_template
from flask_babel import gettext as _
from flask_wtf.csrf import CSRFError
from werkzeug.exceptions import HTTPException, InternalServerError

from app.extensions import db
from app.htmx import is_htmx


def _messages() -> dict[int, tuple[str, str]]:
    return {
        400: (_("Bad request"), _("The request could not be understood. Check what you entered and try again.")),
        401: (_("Sign-in needed"), _("Please sign in to continue.")),
        403: (_("Not allowed"), _("You do not have permission to do this.")),
        404: (_("Not found"), _("The page or item you asked for does not exist.")),
        405: (_("Not allowed"), _("This address does not accept that kind of request.")),
        413: (_("Too large"), _("What you sent is larger than Podium accepts.")),
        422: (_("Check your input"), _("Some of what you entered is not valid.")),
        429: (_("Too many attempts"), _("Too many attempts in a short time. Wait a minute and try again.")),
        500: (_("Something went wrong"), _("Podium hit an unexpected error. Nothing you saved before is lost; "
                                           "try again in a moment.")),
    }


def render_error(code: int, message: str | None = None):
    title, default = _messages().get(code, (_("Error"), _("Something went wrong.")))
    text = message or default
    if is_htmx():
        response = render_template("errors/_message.html", title=title, message=text, code=code)
        return response, code, {"HX-Retarget": "#flash-area", "HX-Reswap": "innerHTML"}
    return render_template("errors/error.html", title=title, message=text, code=code), code


def register(app: Flask) -> None:
    @app.errorhandler(CSRFError)
    def csrf_error(error):
        return render_error(400, _("Your form expired or was sent from elsewhere. Reload the page and try again; "
                                   "nothing was changed."))

    @app.errorhandler(HTTPException)
    def http_error(error: HTTPException):
        if error.code is None or error.code < 400:
            return error
        custom = error.description if error.description != type(error).description else None
        return render_error(error.code, custom)

    @app.errorhandler(InternalServerError)
    def server_error(error):
        db.session.rollback()
        return render_error(500)

    @app.errorhandler(Exception)
    def unhandled(error):
        if isinstance(error, HTTPException):
            return http_error(error)
        app.logger.exception("Unhandled error")
        db.session.rollback()
        return render_error(500)
