"""Browser: the main pages fit a 390 px phone, a 768 px tablet, a 1366 px laptop and a 1920 px wall screen
without sideways page scrolling; the menu button opens the navigation on a phone; presenting mode shows a board without the site's chrome.

Screenshots go to test-results/layout/ (gitignored) for a person to look at.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from playwright.sync_api import expect

from app.demo.org_data import ADMIN_EMAIL, COACH_EMAIL, LEADER_EMAIL

pytestmark = pytest.mark.e2e

SHOTS = Path(__file__).resolve().parents[2] / "test-results" / "layout"
WIDTHS = (390, 768, 1366, 1920)
# The navigation's sections and the pages wide tables live on; <pod> is the signed-in person's pod.
MAIN_PAGES = {
    LEADER_EMAIL: ["/", "/pods", "/coverage", "/outcomes/org", "/reviews/", "/reviews/all", "/autonomy/",
                   "/recognition/", "/retros", "/standups/", "/imports", "/notifications/", "/profile"],
    COACH_EMAIL: ["/", "/standups/pods/<pod>", "/standups/pods/<pod>/history", "/outcomes/pods/<pod>",
                  "/pods/<pod>/retros", "/pods/<pod>/actions", "/autonomy/queue", "/recognition/pods/<pod>"],
    ADMIN_EMAIL: ["/admin/users", "/autonomy/action-types", "/autonomy/limits", "/imports/mappings",
                  "/outcomes/cases?metric=volume&part=all"],
}


def _overflow(page) -> int:
    """How many pixels the page is wider than the window (0 when nothing sticks out)."""
    return page.evaluate("document.documentElement.scrollWidth - window.innerWidth")


def _pod_of(page) -> str:
    page.goto("/standups/")
    link = page.locator("main a[href*='/standups/pods/']").first
    return re.search(r"/standups/pods/(\d+)", link.get_attribute("href")).group(1)


@pytest.mark.parametrize("email", list(MAIN_PAGES))
def test_main_pages_fit_a_phone_a_tablet_a_laptop_and_a_wall_screen(browser, live_server, login, email):
    SHOTS.mkdir(parents=True, exist_ok=True)
    role = email.split("@")[0]
    too_wide = []
    for width in WIDTHS:
        context = browser.new_context(base_url=live_server, locale="en-GB", viewport={"width": width, "height": 900})
        page = context.new_page()
        try:
            login(page, email, locale="en")
            pod = _pod_of(page)
            for url in MAIN_PAGES[email]:
                page.goto(url.replace("<pod>", pod))
                page.wait_for_load_state("load")
                name = re.sub(r"[^a-z0-9]+", "-", url.replace("<pod>", "pod")).strip("-") or "home"
                page.screenshot(path=str(SHOTS / f"{role}-{width}-{name}.png"), full_page=True)
                if _overflow(page) > 0:
                    too_wide.append((width, url, _overflow(page)))
        finally:
            context.close()
    assert too_wide == []


def test_the_menu_button_opens_the_navigation_on_a_phone(browser, live_server, login):
    context = browser.new_context(base_url=live_server, locale="en-GB", viewport={"width": 390, "height": 800})
    page = context.new_page()
    try:
        login(page, COACH_EMAIL, locale="en")
        header = page.locator("header.site-header")
        outcomes = header.get_by_role("link", name="Outcomes")
        expect(outcomes).to_be_hidden()
        # the person, their bell and sign-out stay in view on the phone
        expect(header.locator(".nav-person")).to_be_visible()
        expect(header.locator("#notification-bell a")).to_be_visible()
        expect(header.get_by_role("button", name="Sign out")).to_be_visible()
        menu = header.get_by_role("button", name="Menu")
        expect(menu).to_have_attribute("aria-expanded", "false")
        menu.focus()
        page.keyboard.press("Enter")
        expect(menu).to_have_attribute("aria-expanded", "true")
        expect(outcomes).to_be_visible()
        assert _overflow(page) <= 0
        page.keyboard.press("Escape")
        expect(outcomes).to_be_hidden()
        page.goto("/coverage")
        menu.click()
        expect(header.get_by_role("link", name="Coverage")).to_have_attribute("aria-current", "page")
    finally:
        context.close()


def test_presenting_mode_shows_the_board_without_chrome(browser, live_server, login):
    context = browser.new_context(base_url=live_server, locale="en-GB", viewport={"width": 1920, "height": 1080})
    page = context.new_page()
    try:
        login(page, COACH_EMAIL, locale="en")
        pod = _pod_of(page)
        page.goto(f"/standups/pods/{pod}")
        normal = page.evaluate("parseFloat(getComputedStyle(document.documentElement).fontSize)")
        page.get_by_role("link", name="Present on a shared screen").click()
        page.wait_for_url("**present=1*")
        expect(page.locator("header.site-header")).to_be_hidden()
        expect(page.locator("#board-live")).to_be_visible()
        assert page.evaluate("parseFloat(getComputedStyle(document.documentElement).fontSize)") > normal * 1.2
        SHOTS.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(SHOTS / "coach-1920-standup-presenting.png"))
        page.get_by_role("link", name="Leave presenting mode").click()
        expect(page.locator("header.site-header")).to_be_visible()
    finally:
        context.close()
