"""Browser: the outcome dashboards: a leader switches the period on the organisation page; a coach's pod page."""

import re

import pytest
from playwright.sync_api import expect

from app.demo.org_data import COACH_EMAIL, LEADER_EMAIL

pytestmark = pytest.mark.e2e


def _charts_drawn(page) -> None:
    for key in ("volume", "rates", "times"):
        canvas = page.locator(f"#outcomes-chart-{key}")
        expect(canvas).to_be_visible()
        expect(canvas).to_have_attribute("data-drawn", "true")  # static/js/charts.js drew it with Chart.js


def test_leader_switches_the_period_on_the_organisation_dashboard(page, login):
    errors = []
    page.on("console", lambda message: errors.append(message.text) if message.type == "error" else None)
    login(page, LEADER_EMAIL)
    page.locator("nav").get_by_role("link", name="Outcomes").click()
    page.wait_for_url("**/outcomes/org*")
    expect(page.get_by_role("heading", name=re.compile("Outcomes · Organisation"))).to_be_visible()
    expect(page.locator("#score-fcr .score-value")).not_to_have_text("—")
    _charts_drawn(page)
    heat = page.locator("#outcomes-heat-map table.heat-map")
    expect(heat).to_be_visible()
    expect(heat.locator("td.heat-cell").first).to_be_visible()
    assert heat.locator("td.heat-cell:not(.heat-empty)").count() > 0
    expect(page.locator("#outcomes-pods")).to_contain_text("Residential Care")

    shown = page.locator("#outcomes-period-shown").inner_text()
    page.select_option("#outcomes-period-key", "90d")
    page.select_option("#outcomes-grain", "month")
    page.get_by_role("button", name="Show").click()
    page.wait_for_url("**period=90d*")
    expect(page.locator("#outcomes-period-shown")).not_to_have_text(shown)
    expect(page.locator("#outcomes-period-shown")).to_contain_text("90 days")
    _charts_drawn(page)
    expect(page.locator("#outcomes-heat-map td.heat-cell").first).to_be_visible()

    page.select_option("#outcomes-period-key", "custom")
    page.fill("#outcomes-from", "2026-09-30")
    page.fill("#outcomes-to", "2026-07-01")
    page.get_by_role("button", name="Show").click()
    expect(page.locator("#outcomes-period-error")).to_contain_text("The first day must be on or before the last day.")
    expect(page.locator("#outcomes-scorecard")).to_be_visible()
    assert not [e for e in errors if "Content Security Policy" in e], errors


def test_coach_opens_their_pods_dashboard(page, login):
    login(page, COACH_EMAIL)
    page.locator("nav").get_by_role("link", name="Outcomes").click()
    page.wait_for_url(re.compile(r".*/outcomes/pods/\d+.*"))
    expect(page.get_by_role("heading", name=re.compile("Residential Care"))).to_be_visible()
    expect(page.locator("#score-handoff_rate .score-target")).not_to_have_text("—")  # demo targets are set
    _charts_drawn(page)
    expect(page.locator("#outcomes-heat-map td.heat-covered").first).to_be_visible()
    expect(page.locator("#outcomes-people")).to_contain_text("Sofía Delgado")
    page.get_by_role("link", name="Set targets").click()
    expect(page.get_by_role("heading", name=re.compile("Targets of Residential Care"))).to_be_visible()
    response = page.goto("/outcomes/org")
    assert response.status == 403
    expect(page.get_by_text("You do not have permission to do this.")).to_be_visible()
