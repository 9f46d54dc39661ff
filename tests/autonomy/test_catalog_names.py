"""Action types are named per language: the admin enters a Spanish and an Italian name beside the base name, and
every page, notification and error shows the reader's, falling back to the base name."""

from __future__ import annotations

from sqlalchemy import select

from app.autonomy import services as svc
from app.autonomy.models import ActionType
from app.extensions import db
from app.notifications.models import Notification
from app.notifications.services import render_message


def _set_locale(user, locale):
    from flask_babel import refresh

    user.locale = locale
    db.session.commit()
    refresh()  # the catalog fixture's request context is shared with the test client's requests


def test_the_default_catalog_is_named_in_every_language(catalog):
    refund = catalog["refund"]
    assert (refund.label_in("en"), refund.label_in("es"), refund.label_in("it")) == ("Refund", "Reembolso", "Rimborso")
    assert refund.label_in("fr") == "Refund"


def test_an_admin_names_an_action_type_per_language_and_pages_follow_the_reader(client, auth, team, catalog):
    auth.login(team.admin)
    assert client.post("/autonomy/action-types", data={
        "code": "voucher", "name": "Voucher", "name_es": "Vale de compra", "name_it": "Buono acquisto",
        "unit": "count", "active": "y", "position": "9"}).status_code == 302
    voucher = db.session.scalar(select(ActionType).where(ActionType.code == "voucher"))
    assert voucher.names == {"es": "Vale de compra", "it": "Buono acquisto"}
    catalog_page = client.get("/autonomy/action-types").get_data(as_text=True)
    assert 'value="Vale de compra"' in catalog_page and 'value="Buono acquisto"' in catalog_page
    auth.logout()

    auth.login(team.agent)
    for locale, name in (("es", "Vale de compra"), ("it", "Buono acquisto"), ("en", "Voucher")):
        _set_locale(team.agent, locale)
        page = client.get("/autonomy/").get_data(as_text=True)
        assert f">{name}</option>" in page, locale

    # Clearing a language's name falls back to the base name for it.
    auth.logout()
    auth.login(team.admin)
    assert client.post(f"/autonomy/action-types/{voucher.id}", data={
        "code": "voucher", "name": "Voucher", "name_es": "", "name_it": "Buono acquisto", "unit": "count",
        "active": "y", "position": "9"}).status_code == 302
    db.session.refresh(voucher)
    assert voucher.names == {"it": "Buono acquisto"} and voucher.label_in("es") == "Voucher"


def test_a_notification_names_the_action_in_its_readers_language(app, team, catalog):
    refund = catalog["refund"]
    note = Notification(user_id=team.coach.id, kind="autonomy_proposal", url="/",
                        params={"coach": "Carla Coach", "action": refund.name_param, "scope": "Home pod"})
    for locale, word in (("es", "Reembolso"), ("it", "Rimborso"), ("en", "Refund")):
        _set_locale(team.coach, locale)
        with app.test_request_context("/"):
            from flask_babel import force_locale

            with force_locale(locale):
                assert word in render_message(note), locale


def test_names_per_language_are_checked_like_the_base_name(team, catalog):
    import pytest

    with pytest.raises(svc.AutonomyError):
        svc.save_action_type(team.admin, None, code="x1", name="X", unit="count", currency=None,
                             names={"es": "x" * 81})
    with pytest.raises(svc.AutonomyError):
        svc.save_action_type(team.admin, None, code="x2", name="X2", unit="count", currency=None,
                             names={"it": "bad\x00name"})
