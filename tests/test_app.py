"""Application-wide behaviour: configuration, security headers, error pages and offline assets."""

import re
from pathlib import Path

import pytest

from config import ProductionConfig

ROOT = Path(__file__).resolve().parents[1]


def test_production_refuses_the_default_secret_key(monkeypatch):
    from app import create_app

    monkeypatch.setattr(ProductionConfig, "SECRET_KEY", "dev-only-change-me")
    with pytest.raises(RuntimeError, match="SECRET_KEY"):
        create_app(ProductionConfig)


def test_production_cookies_are_secure():
    assert ProductionConfig.SESSION_COOKIE_SECURE and ProductionConfig.REMEMBER_COOKIE_SECURE


def test_security_headers_and_csp_without_inline_scripts(client, auth, make_user):
    auth.login(make_user("admin"))
    response = client.get("/")
    csp = response.headers["Content-Security-Policy"]
    assert "script-src 'self'" in csp and "unsafe-inline" not in csp
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["X-Frame-Options"] == "DENY"
    assert response.headers["Cache-Control"] == "no-store"


@pytest.mark.parametrize("path", ["/", "/pods", "/coverage", "/profile", "/admin/users", "/admin/settings", "/login"])
def test_pages_have_no_inline_script_or_style(client, auth, make_user, path):
    if path != "/login":
        auth.login(make_user("admin"))
    page = client.get(path).get_data(as_text=True)
    assert not re.search(r"<script(?![^>]*\bsrc=)(?![^>]*application/json)[^>]*>", page), "inline script"
    assert " style=" not in page and "<style" not in page
    assert "onclick=" not in page and "hx-on" not in page


def test_assets_are_vendored_not_loaded_from_a_cdn():
    templates = "\n".join(p.read_text() for p in (ROOT / "templates").rglob("*.html"))
    assert not re.search(r"(src|href)=\"https?://", templates)
    assert (ROOT / "static" / "vendor" / "htmx-2.0.11.min.js").exists()


def test_unexpected_error_is_a_500_page_in_the_layout(app, client, auth, make_user, monkeypatch):
    auth.login(make_user("agent"))

    def boom():
        raise RuntimeError("kaboom")

    monkeypatch.setitem(app.view_functions, "org.pod_list", boom)
    response = client.get("/pods")
    assert response.status_code == 500
    body = response.get_data(as_text=True)
    assert "Something went wrong" in body and "kaboom" not in body and "Podium" in body
    htmx = client.get("/pods", headers={"HX-Request": "true"})
    assert htmx.status_code == 500 and htmx.headers["HX-Retarget"] == "#flash-area"
    assert "<html" not in htmx.get_data(as_text=True)


def test_static_files_are_cacheable(client, auth, make_user):
    auth.login(make_user("agent"))
    response = client.get("/static/css/app.css")
    assert response.status_code == 200
    assert response.headers.get("Cache-Control") != "no-store"


def test_csv_cells_in_each_locale():
    """Numbers, dates and yes/no as each locale's spreadsheet reads them; texts never run as formulas."""
    from datetime import date, datetime
    from decimal import Decimal

    from app.csvexport import CsvStyle, csv_text

    row = [date(2026, 3, 4), datetime(2026, 12, 3, 9, 5, 7), 0.85, Decimal("12.50"), 1200, -3, True, None, "=SUM(A1)"]
    assert csv_text([row], CsvStyle.for_locale("en")) == \
        "2026-03-04,2026-12-03 09:05:07,0.85,12.50,1200,-3,1,,'=SUM(A1)\r\n"
    assert csv_text([row], CsvStyle.for_locale("es")) == \
        "4/3/2026;3/12/2026 09:05:07;0,85;12,50;1200;-3;1;;'=SUM(A1)\r\n"
    assert csv_text([row], CsvStyle.for_locale("it")) == \
        "04/03/2026;03/12/2026 09:05:07;0,85;12,50;1200;-3;1;;'=SUM(A1)\r\n"
    assert csv_text([[1e-7, "a;b"]], CsvStyle.for_locale("it")) == '0,0000001;"a;b"\r\n'


def test_csrf_field_writes_what_an_empty_form_writes(app):
    from app.forms import EmptyForm, csrf_input

    before = app.config["WTF_CSRF_ENABLED"]
    for enabled in (True, False):
        app.config["WTF_CSRF_ENABLED"] = enabled
        try:
            with app.test_request_context("/"):
                form = EmptyForm(formdata=None)
                expected = str(form.csrf_token(id=False)) if enabled else ""
                rendered = app.jinja_env.from_string(
                    '{% from "macros/forms.html" import csrf_field %}{{ csrf_field() }}'
                ).render()
                assert str(csrf_input()) == rendered == expected
                assert ('name="csrf_token"' in rendered) == enabled
        finally:
            app.config["WTF_CSRF_ENABLED"] = before
