"""Browser: a coach turns a suggestion from the data into a recognition; the receiver sees it with its evidence."""

import pytest
from playwright.sync_api import expect
from sqlalchemy import select

from app.demo.org_data import COACH_EMAIL

pytestmark = pytest.mark.e2e


def _coached_pod_id(live_app) -> int:
    from app.extensions import db
    from app.org.models import User, pod_coaches

    with live_app.app_context():
        pod_id = db.session.scalar(
            select(pod_coaches.c.pod_id).join(User, User.id == pod_coaches.c.user_id)
            .where(User.email == COACH_EMAIL).limit(1))
        db.session.remove()
    return pod_id


def _latest_recognition(live_app):
    from app.extensions import db
    from app.org.models import User
    from app.recognition.models import Recognition, RecognitionReceiver

    with live_app.app_context():
        recognition = db.session.scalar(select(Recognition).order_by(Recognition.id.desc()).limit(1))
        emails = list(db.session.scalars(
            select(User.email).join(RecognitionReceiver, RecognitionReceiver.user_id == User.id)
            .where(RecognitionReceiver.recognition_id == recognition.id)))
        result = (recognition.id, recognition.message, recognition.evidence_kind, emails)
        db.session.remove()
    return result


def test_a_coach_turns_a_suggestion_into_a_recognition_that_the_receiver_sees(page, browser, live_server, live_app,
                                                                              login):
    pod_id = _coached_pod_id(live_app)
    login(page, COACH_EMAIL, locale="en")
    page.locator("nav").get_by_role("link", name="Recognition", exact=True).click()
    page.locator(f"a[href='/recognition/pods/{pod_id}']").first.click()
    suggestions = page.locator("#suggestions article")
    expect(suggestions.first).to_be_visible()
    suggestions.first.get_by_role("link", name="Recognise this").click()

    form = page.locator("#recognition-form")
    expect(form).to_be_visible()
    message = form.locator("textarea[name=message]")
    expect(message).not_to_have_value("")  # the draft comes with a message and the evidence attached
    message.fill("Thank you for turning this around for the customer — recognised from Podium's suggestion.")
    form.get_by_role("button", name="Recognise").click()
    expect(page.get_by_text("Recognition shared.")).to_be_visible()

    recognition_id, text, kind, receivers = _latest_recognition(live_app)
    assert "recognised from Podium's suggestion" in text
    item = page.locator(f"#recognition-{recognition_id}")
    expect(item.locator(".evidence")).to_be_visible()

    context = browser.new_context(base_url=live_server, locale="en-GB")
    receiver_page = context.new_page()
    login(receiver_page, receivers[0], locale="en")
    receiver_page.goto("/recognition/")
    mine = receiver_page.locator(f"#recognition-{recognition_id}")
    expect(mine).to_contain_text("recognised from Podium's suggestion")
    evidence = mine.locator(".evidence")
    expect(evidence).to_be_visible()
    if kind == "case":
        expect(evidence).to_contain_text("CSAT")
        expect(evidence).to_contain_text("First-contact resolution")
    elif kind == "metric":
        expect(evidence).to_contain_text("→")
    context.close()
