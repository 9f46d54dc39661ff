"""htmx helpers: tell fragments from pages, and answer with HX-* headers."""

import json

from flask import Response, make_response, render_template, request


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
