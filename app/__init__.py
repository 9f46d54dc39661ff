"""Podium: the web app agile customer-service pods run on."""

from __future__ import annotations

import sqlite3

from flask import Flask, g, has_request_context, request
from flask_babel import format_date, format_datetime, format_decimal, format_percent, get_locale
from flask_login import current_user
from sqlalchemy import event
from sqlalchemy.engine import Engine
from werkzeug.middleware.proxy_fix import ProxyFix
from werkzeug.routing import IntegerConverter

from app import templating
from app.extensions import babel, csrf, db, limiter, login_manager, migrate
from app.forms import INT_MAX
from config import Config, ProductionConfig, config_from_env

CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "font-src 'self'; connect-src 'self'; object-src 'none'; base-uri 'self'; "
    "form-action 'self'; frame-ancestors 'none'"
)


@event.listens_for(Engine, "connect")
def _sqlite_pragmas(dbapi_connection, connection_record):
    if isinstance(dbapi_connection, sqlite3.Connection):
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA busy_timeout=10000")
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=NORMAL")
        # Metric aggregates scan many case rows: a 64 MB page cache and memory-mapped reads halve their time.
        cursor.execute("PRAGMA cache_size=-65536")
        cursor.execute("PRAGMA mmap_size=268435456")
        cursor.execute("PRAGMA temp_store=MEMORY")
        cursor.close()


class BoundedIntConverter(IntegerConverter):
    """``<int:...>`` in every route: ASCII digits only (``\\d`` would take "١") and at most 2^31 - 1, the largest
    id PostgreSQL's INTEGER holds, so a hostile id is a 404 and never a database error."""

    regex = r"[0-9]{1,10}"

    def __init__(self, map, *args, **kwargs):
        kwargs.setdefault("max", INT_MAX)
        super().__init__(map, *args, **kwargs)


def select_locale() -> str | None:
    if not has_request_context():
        return None  # jobs and the CLI: the caller forces a locale where it matters
    if current_user and current_user.is_authenticated and current_user.locale:
        return current_user.locale  # chosen in the profile; without a choice, the browser's language
    from flask import current_app

    return request.accept_languages.best_match(current_app.config["LANGUAGES"]) or "en"


def select_timezone() -> str | None:
    if not has_request_context():
        return None
    if current_user and current_user.is_authenticated:
        return current_user.timezone
    return None


def create_app(config: type[Config] | None = None) -> Flask:
    config = config or config_from_env()
    if issubclass(config, ProductionConfig):
        config.validate()

    app = Flask(__name__, template_folder="../templates", static_folder="../static", instance_relative_config=True)
    templating.use_environment(app)
    app.config.from_object(config)
    _ensure_instance_dir(app)
    app.url_map.converters["int"] = BoundedIntConverter
    hops = int(app.config.get("PROXY_HOPS") or 0)
    if hops > 0:  # behind a TLS proxy: the client address is the one the trusted proxies saw
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=hops, x_proto=hops, x_host=hops, x_port=hops)  # type: ignore[method-assign]

    from app import connections  # built-time import: see _register_models

    cheap_checks = connections.watched_by_socket(app.config["SQLALCHEMY_DATABASE_URI"])
    if cheap_checks:  # a pooled connection is checked through its socket, not with a SELECT 1 per request
        options = app.config.get("SQLALCHEMY_ENGINE_OPTIONS") or {}
        app.config["SQLALCHEMY_ENGINE_OPTIONS"] = {**options, "pool_pre_ping": False}
    db.init_app(app)
    if cheap_checks:
        with app.app_context():
            connections.watch(db.engine)
    migrate.init_app(app, db, render_as_batch=True, compare_type=True)
    login_manager.init_app(app)
    csrf.init_app(app)
    babel.init_app(app, locale_selector=select_locale, timezone_selector=select_timezone)
    templating.install_gettext(app)
    limiter.init_app(app)

    _register_models()
    _register_blueprints(app)
    _register_template_helpers(app)
    _register_security_headers(app)

    from app import errors  # built-time import: see _register_models

    errors.register(app)

    from app.cli import register_cli  # built-time import: see _register_models

    register_cli(app)

    from app import live  # built-time import: see _register_models

    live.init_app(app)  # outermost: an unchanged live poll is answered before sessions, users and routing

    if app.config.get("SCHEDULER_IN_PROCESS"):
        from app.scheduler.runner import start_in_process  # built-time import: see _register_models

        start_in_process(app)
    return app


def _ensure_instance_dir(app: Flask) -> None:
    import os

    os.makedirs(app.instance_path, exist_ok=True)


def _register_models() -> None:
    # imported when the app is built: every app.<module> import runs this file first, so a top-level import here
    # would import each feature from inside its own import (a cycle through the package).
    import app.api.models  # noqa: F401
    import app.auth.models  # noqa: F401
    import app.autonomy.models  # noqa: F401
    import app.notifications.models  # noqa: F401
    import app.org.models  # noqa: F401
    import app.outcomes.models  # noqa: F401
    import app.outcomes.request_types  # noqa: F401
    import app.pilots.models  # noqa: F401
    import app.recognition.models  # noqa: F401
    import app.retros.models  # noqa: F401
    import app.reviews.models  # noqa: F401
    import app.scheduler.models  # noqa: F401
    import app.skills.models  # noqa: F401
    import app.standups.models  # noqa: F401


def _register_blueprints(app: Flask) -> None:
    # built-time imports: see _register_models
    from app.api import bp as api_bp
    from app.auth import bp as auth_bp
    from app.autonomy import bp as autonomy_bp
    from app.main import bp as main_bp
    from app.notifications import bp as notifications_bp
    from app.orgpages import bp as org_bp
    from app.outcomes import bp as outcomes_bp
    from app.pilots import bp as pilots_bp
    from app.recognition import bp as recognition_bp
    from app.retros import bp as retros_bp
    from app.reviews import bp as reviews_bp
    from app.skills import bp as skills_bp
    from app.standups import bp as standups_bp

    app.register_blueprint(main_bp)
    app.register_blueprint(auth_bp)
    app.register_blueprint(org_bp)
    app.register_blueprint(outcomes_bp)
    app.register_blueprint(api_bp)
    app.register_blueprint(notifications_bp)
    app.register_blueprint(standups_bp)
    app.register_blueprint(autonomy_bp)
    app.register_blueprint(retros_bp)
    app.register_blueprint(recognition_bp)
    app.register_blueprint(reviews_bp)
    app.register_blueprint(skills_bp)
    app.register_blueprint(pilots_bp)
    csrf.exempt(api_bp)


def _register_template_helpers(app: Flask) -> None:
    app.jinja_env.globals.update(_template_globals())


def current_locale() -> str:
    """The page's language, for ``<html lang>``."""
    return str(get_locale() or "en")


def _template_globals() -> dict:
    """Every name templates call besides Jinja's own: helpers under their own names, then the few exposed under
    another name."""
    # built-time imports: see _register_models
    from app import permissions
    from app.extension_points import nav_items_for
    from app.formatting import format_minutes
    from app.forms import EmptyForm, csrf_input
    from app.htmx import is_htmx
    from app.notifications.services import unread_count
    from app.outcomes.metrics import format_value

    # csrf_input: the CSRF field without a form (macros/forms.html csrf_field())
    own_names = (csrf_input, is_htmx, format_date, format_datetime, format_decimal, format_percent, format_minutes,
                 weekday_names, current_locale)
    return {helper.__name__: helper for helper in own_names} | {
        "empty_form": lambda: EmptyForm(formdata=None),  # a CSRF field only: never reads the request body
        "can": permissions.template_can,
        "P": permissions,
        "role_label": permissions.Role.label_of,
        "unread_notifications": lambda: unread_count(current_user) if current_user.is_authenticated else 0,
        "nav_items": nav_items_for,
        "format_metric": format_value,
    }


def weekday_names(days: list[int]) -> list[str]:
    from babel.dates import get_day_names

    names = get_day_names("abbreviated", locale=get_locale() or "en")
    return [names[day - 1] for day in days]


def _register_security_headers(app: Flask) -> None:
    # built-time import: see _register_models
    from app.validators import refuse_hostile_input

    @app.before_request
    def fresh_request_state():
        # An app context can outlive one request (tests, CLI): never let a user or cache leak across requests.
        g.pop("_login_user", None)
        g.pop("_pod_relations", None)
        g.pop("refused_page", None)  # app.errors.refused_on: a form page of an earlier request

    app.before_request(refuse_hostile_input)

    @app.after_request
    def security_headers(response):
        response.headers.setdefault("Content-Security-Policy", CSP)
        response.headers.setdefault("X-Content-Type-Options", "nosniff")
        response.headers.setdefault("X-Frame-Options", "DENY")
        response.headers.setdefault("Referrer-Policy", "same-origin")
        response.headers.setdefault("Permissions-Policy", "camera=(), microphone=(), geolocation=()")
        if app.config.get("SESSION_COOKIE_SECURE"):
            response.headers.setdefault("Strict-Transport-Security", "max-age=31536000; includeSubDomains")
        if request.endpoint != "static" and current_user and current_user.is_authenticated:
            response.headers.setdefault("Cache-Control", "no-store")
        return response
