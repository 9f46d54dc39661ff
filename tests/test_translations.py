"""Every user-visible string has a Spanish and an Italian translation, and the catalogs are in use."""

from pathlib import Path

import pytest
from babel.messages.extract import extract_from_dir
from babel.messages.pofile import read_po
from flask_babel import refresh

ROOT = Path(__file__).resolve().parents[1]
KEYWORDS = {"_": None, "gettext": None, "_l": None, "lazy_gettext": None, "ngettext": (1, 2),
            "lazy_ngettext": (1, 2)}
METHODS = [("app/**.py", "python"), ("templates/**.html", "jinja2")]


def _source_messages() -> set[str]:
    found: set[str] = set()
    for _filename, _lineno, message, _comments, _context in extract_from_dir(
        str(ROOT), METHODS, keywords=KEYWORDS, options_map={"templates/**.html": {"extensions": "jinja2.ext.i18n"}},
    ):
        found.add(message[0] if isinstance(message, tuple) else message)
    return found


@pytest.fixture(scope="module")
def source_messages():
    return _source_messages()


@pytest.mark.parametrize("locale", ["es", "it"])
def test_catalog_translates_every_string(source_messages, locale):
    path = ROOT / "app" / "translations" / locale / "LC_MESSAGES" / "messages.po"
    assert path.exists(), f"missing catalog {path}; run `make extract-messages`"
    with path.open("rb") as handle:
        catalog = read_po(handle)
    translated = set()
    for message in catalog:
        if not message.id or message.fuzzy:
            continue
        key = message.id[0] if isinstance(message.id, tuple) else message.id
        strings = message.string if isinstance(message.string, tuple) else (message.string,)
        if all(strings):
            translated.add(key)
    missing = sorted(source_messages - translated)
    assert not missing, f"{locale}: {len(missing)} untranslated strings, e.g. {missing[:15]}"


@pytest.mark.parametrize(("locale", "label", "button"), [
    ("es", "Correo electrónico", "Iniciar sesión"),
    ("it", "Email", "Accedi"),
])
def test_sign_in_page_follows_the_browser_language(client, locale, label, button):
    page = client.get("/login", headers={"Accept-Language": f"{locale},en;q=0.5"}).get_data(as_text=True)
    assert f'lang="{locale}"' in page
    assert label in page and button in page


def test_signed_in_user_language_beats_the_browser(client, auth, make_user):
    user = make_user("agent", locale="it")
    auth.login(user)
    page = client.get("/", headers={"Accept-Language": "es"}).get_data(as_text=True)
    assert 'lang="it"' in page and "La mia giornata" in page


def test_a_new_user_follows_the_browser_until_they_choose_a_language(client, auth, make_user):
    user = make_user("agent")
    assert user.locale is None
    auth.login(user)

    def get(url, **headers):
        refresh()  # the test's app context outlives requests; forget the locale Flask-Babel cached in it
        return client.get(url, headers=headers).get_data(as_text=True)

    assert 'lang="es"' in get("/", **{"Accept-Language": "es"})
    assert 'lang="it"' in get("/", **{"Accept-Language": "it,en;q=0.5"})
    profile = get("/profile", **{"Accept-Language": "es"})
    assert '<option selected value="">' in profile or '<option value="" selected>' in profile
    form = {"display_name": user.display_name, "locale": "it", "timezone": user.timezone}
    assert client.post("/profile", data=form, headers={"Accept-Language": "es"}).status_code == 302
    assert user.locale == "it"
    assert 'lang="it"' in get("/", **{"Accept-Language": "es"})
    form["locale"] = ""  # back to following the browser
    assert client.post("/profile", data=form).status_code == 302
    assert user.locale is None
    assert 'lang="es"' in get("/", **{"Accept-Language": "es"})
