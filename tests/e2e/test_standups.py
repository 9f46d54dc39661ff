"""Browser: two people on today's stand-up board; one posts and the other sees it appear without a reload; the
coach walks the board and both see the speaker change."""

import uuid

import pytest
from playwright.sync_api import expect
from sqlalchemy import select

from app.demo.org_data import AGENT_EMAIL, COACH_EMAIL

pytestmark = pytest.mark.e2e


def _coach_pod(live_app) -> tuple[int, list[str]]:
    """The demo coach's pod, made a stand-up day today whatever the weekday, and its members by name."""
    from app.extensions import db
    from app.org.models import Pod, User, pod_coaches
    from app.standups import services

    with live_app.app_context():
        pod_id = db.session.scalar(
            select(pod_coaches.c.pod_id).join(User, User.id == pod_coaches.c.user_id)
            .where(User.email == COACH_EMAIL).limit(1))
        pod = db.session.get(Pod, pod_id)
        day = services.local_today(pod, services.utcnow())
        if not pod.is_working_day(day):
            pod.working_days = "1234567"
            db.session.commit()
        names = [u.display_name for u in services.member_users(pod_id, day)]
        db.session.remove()
    return pod_id, names


def test_two_people_see_the_board_change_live(page, browser, live_server, live_app, login):
    pod_id, names = _coach_pod(live_app)
    login(page, COACH_EMAIL, locale="en")
    page.goto(f"/standups/pods/{pod_id}")
    expect(page.locator("#board-live")).to_be_visible()

    context = browser.new_context(base_url=live_server, locale="en-GB")
    agent_page = context.new_page()
    login(agent_page, AGENT_EMAIL, locale="en")
    agent_page.goto(f"/standups/pods/{pod_id}")
    agent_page.wait_for_function("() => window.htmx !== undefined")  # a function: a string predicate is re-evaluated with eval, which the CSP blocks
    page.evaluate("window.__podiumNoReload = 'still here'")
    posted = int(page.locator("#standup-posted").inner_text().split()[0])

    text = f"Called back the customers with SLA at risk ({uuid.uuid4().hex[:6]})"
    form = agent_page.locator("#entry-form form")
    form.locator("textarea[name=yesterday]").fill(text)
    form.locator("textarea[name=today]").fill("Refund queue")
    form.get_by_role("button").click()
    expect(agent_page.locator("#entry-form")).to_contain_text("Your update is on the board.")
    expect(page.locator("#entries")).to_contain_text(text, timeout=5000)  # the coach sees it without a reload
    expect(page.locator("#standup-posted")).to_contain_text(f"{posted + 1} of")  # the count comes with the row
    assert page.evaluate("window.__podiumNoReload") == "still here"

    page.get_by_role("button", name="Start the stand-up").click()
    first, second = names[0], names[1]
    expect(page.locator(".person.speaking")).to_contain_text(first)
    expect(agent_page.locator(".person.speaking")).to_contain_text(first, timeout=5000)
    expect(agent_page.locator(".countdown")).to_be_visible()

    page.get_by_role("button", name="Next").click()
    expect(page.locator(".person.speaking")).to_contain_text(second)
    expect(agent_page.locator(".person.speaking")).to_contain_text(second, timeout=5000)
    expect(agent_page.locator(f".person:has-text('{first}') .chip").first).to_have_text("Present")

    page.get_by_role("button", name="Close the board").click()  # closing freezes the board for everyone
    expect(agent_page.get_by_text("This board is closed and frozen")).to_be_visible(timeout=8000)
    expect(agent_page.locator("#entry-form")).to_have_count(0)
    expect(page.locator("#board-live")).to_have_attribute("data-status", "closed")
    context.close()
