"""Podium's Jinja environment, set up for a live room's many small renders a second.

A card's answer, a poll's counts or a vote's bar is a render of a few hundred bytes, so what every render pays
before its first byte counts:

- **Globals**: Jinja gives each template its globals as a ``ChainMap`` over the environment's, and copies them into
  every top-level render's context key by key through Python-level look-ups (~20 us for our ~40 globals).
  ``Environment.make_globals`` here gives each template a plain ``dict`` instead (a C-level copy). Globals are
  therefore read when a template is first loaded: every global is registered in ``create_app``, before any render,
  as Jinja's own documentation asks ("avoid modifying any globals after a template is loaded").
- **Translations**: Flask-Babel's template ``_()``/``ngettext()`` find the request's catalogue again for every string
  (three look-ups of its per-request state through ``flask.g``, the locale's name rebuilt as a string, a dictionary
  look-up: ~13 us each). ``translations()`` keeps the catalogue with the locale it is for in the same per-request
  state, so a string after the first costs two attribute reads; another locale (Flask-Babel's ``force_locale``,
  ``refresh``) is another object and is looked up again.
"""

from __future__ import annotations

from flask import Flask, g, has_app_context
from flask.templating import Environment
from flask_babel import get_translations

_KEPT = "podium_translations"


class TemplateEnvironment(Environment):
    def make_globals(self, d):
        return {**self.globals, **(d or {})}


def translations():
    """The catalogue Flask-Babel's ``get_translations()`` gives for the current locale."""
    state = g.get("_flask_babel") if has_app_context() else None
    if state is not None:
        kept = getattr(state, _KEPT, None)
        if kept is not None and kept[0] is getattr(state, "babel_locale", None):
            return kept[1]
    found = get_translations()
    state = g.get("_flask_babel") if has_app_context() else None  # made by get_translations in a context
    if state is not None:
        setattr(state, _KEPT, (getattr(state, "babel_locale", None), found))
    return found


def use_environment(app: Flask) -> None:
    """Before anything touches ``app.jinja_env``: it is made a TemplateEnvironment."""
    assert "jinja_env" not in app.__dict__, "the Jinja environment was made before use_environment"
    app.jinja_environment = TemplateEnvironment


def install_gettext(app: Flask) -> None:
    """Templates translate through ``translations()`` (after Flask-Babel's ``init_app``, which installed its own)."""
    app.jinja_env.install_gettext_callables(
        gettext=lambda s: translations().ugettext(s),
        ngettext=lambda s, p, n: translations().ungettext(s, p, n),
        newstyle=True,
        pgettext=lambda c, s: translations().upgettext(c, s),
        npgettext=lambda c, s, p, n: translations().unpgettext(c, s, p, n),
    )
