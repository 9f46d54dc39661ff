"""Browser: the coach drafts this quarter's review, a leader signs it off, the PDF downloads with the pod's figures.

Demo data: Lucía Fernández (coach@example.com) coaches "Residential Care"; the demo leaves this quarter's review
of every pod in draft."""

import json

import pytest
from playwright.sync_api import expect
from sqlalchemy import select

from app.demo.org_data import COACH_EMAIL, LEADER_EMAIL
from tests.pdf_text import pdf_text

pytestmark = pytest.mark.e2e
POD = "Residential Care"


def _review_id(live_app) -> tuple[int, str]:
    from app.extensions import db
    from app.org.models import Pod
    from app.reviews import services as svc

    with live_app.app_context():
        pod = db.session.scalar(select(Pod).where(Pod.name == POD))
        review = svc.get_review(pod.id, *svc.current_quarter(pod))
        result = review.id, review.key
        db.session.remove()
    return result


def test_coach_drafts_leader_signs_off_pdf_has_the_figures(page, login, live_app):
    review_id, key = _review_id(live_app)
    login(page, COACH_EMAIL)
    page.get_by_role("link", name="Reviews", exact=True).first.click()
    page.wait_for_url("**/reviews/")
    page.locator("#review-list tr", has_text=POD).filter(has_text=key).get_by_role("link").click()
    page.wait_for_url(f"**/reviews/{review_id}")
    page.locator("#text-learnings").fill("Specialists pairing with newer agents cut reopens.")
    page.locator("#save-learnings").click()
    expect(page.locator("#flash-area")).to_contain_text("Saved.")
    page.locator("#objective-title").fill("Fewer handoffs")
    page.get_by_role("button", name="Add objective").click()
    expect(page.locator("#flash-area")).to_contain_text("Objective added.")
    objective = page.locator(".review-objective", has_text="Fewer handoffs")
    objective.get_by_label("Metric").select_option(label="Handoff rate")
    objective.get_by_label("Target (percent for rates, minutes for times)").fill("8")
    objective.get_by_role("button", name="Add key result").click()
    expect(page.locator("#flash-area")).to_contain_text("Key result added")
    page.locator("#submit-review").click()
    expect(page.locator("#flash-area")).to_contain_text("Sent to a leader for sign-off.")
    expect(page.locator("#sign-off")).to_have_count(0)

    page.context.clear_cookies()
    login(page, LEADER_EMAIL)
    page.goto(f"/reviews/{review_id}")
    expect(page.locator("#section-learnings")).to_contain_text("Specialists pairing")
    page.locator("#sign-off").click()
    expect(page.locator("#flash-area")).to_contain_text("Signed off; the figures are frozen.")
    expect(page.locator("#frozen-note")).to_be_visible()
    volume_shown = page.locator("#score-volume .review-value").inner_text().strip()
    with page.expect_download() as download_info:
        page.locator("#pdf-link").click()
    download = download_info.value
    assert download.suggested_filename.endswith(f"{key}.pdf")
    body = open(download.path(), "rb").read()
    assert body.startswith(b"%PDF")
    text = pdf_text(body)  # the PDF embeds a Unicode font: text is stored as glyph ids, not Latin-1 bytes
    assert POD in text
    assert volume_shown in text

    from app.extensions import db
    from app.reviews.models import Review

    with live_app.app_context():
        review = db.session.get(Review, review_id)
        assert review.status == "signed_off"
        volume = next(r for r in json.loads(review.snapshot)["scorecard"] if r["code"] == "volume")["value"]
        db.session.remove()
    assert volume and volume > 0
