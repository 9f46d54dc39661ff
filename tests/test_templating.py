"""Templates translate in the request's language, also when code switches language inside one request (a
notification rendered in its reader's language), and see the globals features register."""

from flask import render_template_string
from flask_babel import force_locale, refresh


def test_template_strings_follow_the_language_within_one_request(app):
    page = "{{ _('Edit') }}|{{ ngettext('%(num)s card by others', '%(num)s cards by others', 2) }}"
    with app.app_context(), app.test_request_context("/", headers={"Accept-Language": "es"}):
        assert render_template_string(page).startswith("Editar|")
        with force_locale("it"):
            assert render_template_string(page).startswith("Modifica|")
            with force_locale("en"):
                assert render_template_string(page) == "Edit|2 cards by others"
            assert render_template_string(page).startswith("Modifica|")
        assert render_template_string(page).startswith("Editar|")
        with force_locale("it"):
            refresh()  # keeps the forced language
            assert render_template_string(page).startswith("Modifica|")
    with app.app_context(), app.test_request_context("/", headers={"Accept-Language": "it"}):
        assert render_template_string(page).startswith("Modifica|")  # nothing kept from another request


def test_page_language_and_feature_helpers_are_template_globals(app):
    with app.test_request_context("/", headers={"Accept-Language": "it"}):
        assert render_template_string("{{ current_locale() }}") == "it"
        env = app.jinja_env
        # registered by the retro and outcome blueprints, usable from an import without context
        assert {"retro_metric", "retro_phase_label", "request_type_label"} <= set(env.globals)
        assert env.from_string("{{ retro_phase_label('vote') }}").render() != ""


def test_the_page_says_its_language(client):
    html = client.get("/login", headers={"Accept-Language": "es"}).get_data(as_text=True)
    assert '<html lang="es">' in html
