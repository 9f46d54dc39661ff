"""htmx helpers: tell fragments from pages, and answer with HX-* headers."""

import json
from collections.abc import Callable

from flask import Response, flash, make_response, redirect, render_template, request
from flask.typing import ResponseReturnValue

from app.extensions import db


def is_htmx() -> bool:
    return request.headers.get("HX-Request") == "true" and not is_history_restore()


def is_history_restore() -> bool:
    return request.headers.get("HX-History-Restore-Request") == "true"


def render_page_or_fragment(page: str, fragment: str, **context) -> Response:
    """Render the fragment for htmx requests and the whole page otherwise; vary the cache on it."""
    template = fragment if is_htmx() else page
    response = make_response(render_template(template, **context))
    response.headers["Vary"] = "HX-Request"
    return response


def hx_redirect(url: str) -> Response:
    response = make_response("", 204)
    response.headers["HX-Redirect"] = url
    return response


def with_trigger(response: Response, event: str, detail: object | None = None) -> Response:
    payload = {event: detail if detail is not None else True}
    existing = response.headers.get("HX-Trigger")
    if existing:
        payload = {**json.loads(existing), **payload}
    response.headers["HX-Trigger"] = json.dumps(payload)
    return response


def answer_change(fragment: Callable[[], ResponseReturnValue] | None, message: str, url: str) -> ResponseReturnValue:
    """What a post that changed something answers, once it has committed the change: htmx gets the changed part
    of the page (``fragment()``, where the page has one); a plain form post gets ``message`` as a flash and a
    redirect to ``url``, the page it came from. A caller that committed already (with `commit_keeping`, so the
    answer is drawn from what it holds) leaves no transaction open, and nothing is committed or expired again."""
    if db.session().in_transaction():
        db.session.commit()
    if fragment is not None and is_htmx():
        return fragment()
    flash(message, "success")
    return redirect(url)
