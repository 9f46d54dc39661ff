"""Browser: a leader opens "where to start", starts a pilot on the top cell and sees its page.

Demo data: Javier Ortega (leader@example.com) is a leader; the demo's where-to-start ranks every segment × stage
cell of the last twelve weeks."""

import pytest
from playwright.sync_api import expect

from app.demo.org_data import LEADER_EMAIL

pytestmark = pytest.mark.e2e


def test_leader_starts_a_pilot_on_the_top_cell(page, login):
    login(page, LEADER_EMAIL)
    page.get_by_role("link", name="Where to start", exact=True).first.click()
    page.wait_for_url("**/pilots/where-to-start")
    top = page.locator("#opportunities tbody tr").first
    cell_name = top.locator("th").inner_text().splitlines()[0].strip()
    expect(top.locator(".why")).to_contain_text("changed hands")
    top.get_by_role("link", name="Start a pilot").click()
    page.wait_for_url("**/pilots/new**")
    page.get_by_label("Name", exact=True).fill("Browser pilot on the top cell")
    if page.locator("#pod_id").input_value() == "":  # a gap: the pilot creates its pod
        page.get_by_label("Or create a pod named").fill("Browser pilot pod")
    page.get_by_label("Hypothesis").fill("One team owning these cases end to end cuts rework.")
    page.locator("#start-pilot").click()
    page.wait_for_url("**/pilots/*")
    expect(page.locator("#pilot-name")).to_have_text("Browser pilot on the top cell")
    expect(page.locator("#phase-1")).to_contain_text(cell_name)
    expect(page.locator("#phase-1")).to_contain_text("Rework rate")
    expect(page.locator("#phase-1 .not-enough").first).to_contain_text("Not enough data yet")
