"""A pod's own retro template can be named per language: its name and column titles show in each reader's
language, with the base name and titles as the fallback; the retro opened from it keeps them."""

from __future__ import annotations

import pytest
from flask_babel import force_locale
from sqlalchemy import select

from app.extensions import db
from app.retros.catalog import column_title
from app.retros.models import Retro, RetroTemplate
from tests.conftest import PASSWORD


@pytest.fixture
def as_user(app):
    def _client(user):
        client = app.test_client()
        assert client.post("/login", data={"email": user.email, "password": PASSWORD}).status_code in (302, 303)
        return client

    return _client


def _set_locale(user, locale):
    from flask_babel import refresh

    user.locale = locale
    db.session.commit()
    refresh()  # the tests' application context is shared with the test client's requests


def test_a_template_named_per_language_reads_in_each_language(team, as_user):
    coach = as_user(team.coach)
    response = coach.post(f"/pods/{team.pod.id}/retro-templates", data={
        "name": "Queues", "columns": "Phone\nChat\nEmail",
        "name_es": "Colas", "columns_es": "Teléfono\nChat en vivo\nCorreo",
        "name_it": "Code", "columns_it": "Telefono\nChat dal vivo\nPosta"})
    assert response.status_code == 302
    template = db.session.scalar(select(RetroTemplate).where(RetroTemplate.pod_id == team.pod.id))
    assert template.names == {"es": "Colas", "it": "Code"}

    expected = {"en": ("Queues", "Phone · Chat · Email"), "es": ("Colas", "Teléfono · Chat en vivo · Correo"),
                "it": ("Code", "Telefono · Chat dal vivo · Posta")}
    for locale, (name, columns) in expected.items():
        _set_locale(team.coach, locale)
        page = coach.get(f"/pods/{team.pod.id}/retros").get_data(as_text=True)
        assert f"{name} (" in page and columns in page, locale

    # A retro opened from it keeps the names: the board's columns and its template read in the reader's language.
    _set_locale(team.coach, "en")
    assert coach.post(f"/pods/{team.pod.id}/retros", data={
        "title": "Queues retro", "template": f"custom-{template.id}", "facilitator_id": str(team.coach.id),
        "votes_per_person": "5", "max_votes_per_item": "3"}).status_code == 302
    retro = db.session.scalar(select(Retro).where(Retro.title == "Queues retro"))
    assert retro.template_names == {"es": "Colas", "it": "Code"}
    member = as_user(team.members[0])
    for locale, name, first_column in (("es", "Colas", "Teléfono"), ("it", "Code", "Telefono"), ("en", "Queues", "Phone")):
        _set_locale(team.members[0], locale)
        page = member.get(f"/retros/{retro.id}").get_data(as_text=True)
        assert f"· {name}" in page, locale
        with force_locale(locale):
            assert column_title(retro.columns[0]) == first_column


def test_a_name_in_one_language_only_falls_back_for_the_other(team, as_user):
    coach = as_user(team.coach)
    assert coach.post(f"/pods/{team.pod.id}/retro-templates", data={
        "name": "Queues", "columns": "Phone\nChat", "name_es": "Colas"}).status_code == 302
    _set_locale(team.coach, "it")
    page = coach.get(f"/pods/{team.pod.id}/retros").get_data(as_text=True)
    assert "Queues (" in page and "Phone · Chat" in page


def test_columns_in_another_language_must_match_line_for_line(team, as_user):
    coach = as_user(team.coach)
    response = coach.post(f"/pods/{team.pod.id}/retro-templates", data={
        "name": "Queues", "columns": "Phone\nChat\nEmail", "columns_es": "Teléfono\nChat"})
    assert response.status_code == 422
    assert db.session.scalar(select(RetroTemplate).where(RetroTemplate.pod_id == team.pod.id)) is None


def test_the_markdown_summary_writes_dates_as_the_reader_does(team, make_retro, as_user):
    from datetime import UTC
    from zoneinfo import ZoneInfo

    from babel.dates import format_date

    retro = make_retro("closed")
    reader = team.members[0]
    day = retro.created_at.replace(tzinfo=UTC).astimezone(ZoneInfo(reader.timezone or "UTC")).date()
    member = as_user(reader)
    for locale in ("es", "it", "en"):
        _set_locale(reader, locale)
        markdown = member.get(f"/retros/{retro.id}/export.md").get_data(as_text=True)
        assert format_date(day, "medium", locale=locale) in markdown, locale
        assert day.isoformat() not in markdown
