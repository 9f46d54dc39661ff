"""Demo content in the language of whoever wrote it.

A demo text is written once per language ("es", "it", "en"); the demo picks the version of its author's
locale, so a Madrid agent's card is Spanish, a Rome agent's Italian and an English speaker's English.
The texts are data: a demo step reads its own TOML file beside organisation.toml (`read_texts`), each text a
[Spanish, Italian, English] list that `said_of` turns into a Said. `texts_in(locale, table...)` gathers every text
of the demo tables in one language, for the tests that check a Spanish or Italian page carries no English demo
sentence.
"""

from __future__ import annotations

import tomllib
from collections.abc import Iterable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

LOCALES = ("es", "it", "en")
FALLBACK = "en"


class Said(dict):
    """One demo text in every demo language (a dict locale -> text)."""

    def __init__(self, es: str, it: str, en: str) -> None:
        super().__init__(es=es, it=it, en=en)

    def by(self, author: Any) -> str:
        """The text as `author` (a User, a locale code or None) would write it."""
        return self.in_locale(getattr(author, "locale", author))

    def in_locale(self, locale: str | None) -> str:
        return self.get(locale or FALLBACK) or self[FALLBACK]


def say(es: str, it: str, en: str) -> Said:
    return Said(es, it, en)


def said_of(texts: Sequence[str]) -> Said:
    """A demo file's [Spanish, Italian, English] text (any other length fails at import)."""
    es, it, en = texts
    return Said(es, it, en)


def read_texts(name: str) -> dict[str, Any]:
    """The data of app/demo/<name>.toml, a demo step's texts."""
    return tomllib.loads((Path(__file__).parent / f"{name}.toml").read_text(encoding="utf-8"))


def every_said(value: Any) -> Iterator[Said]:
    """Every Said inside a value made of tuples, lists and dicts (the shape of the demo content tables)."""
    if isinstance(value, Said):
        yield value
    elif isinstance(value, Mapping):
        for item in value.values():
            yield from every_said(item)
    elif isinstance(value, Iterable) and not isinstance(value, str | bytes):
        for item in value:
            yield from every_said(item)


def texts_in(locale: str, *values: Any) -> set[str]:
    """Every demo text of `values` in one language (placeholders left in place)."""
    return {said[locale] for value in values for said in every_said(value)}
