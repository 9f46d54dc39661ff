"""Browser: the demo coach sets a level in her pod's skills matrix in place and sees the single points of failure
update (htmx, no reload); then puts the level back.

Demo data (app/skills/demo.py): every pod's least asked request type has a single independent member, so the
coach of "Residential Care" (Lucía Fernández) sees it among the single points of failure.
"""

import pytest
from playwright.sync_api import expect

from app.demo.org_data import COACH_EMAIL

pytestmark = pytest.mark.e2e


def test_coach_sets_a_level_and_single_points_of_failure_update(page, login):
    login(page, COACH_EMAIL)
    page.get_by_role("link", name="Skills", exact=True).first.click()
    page.wait_for_url("**/pods/*/skills")
    page.wait_for_function("() => window.htmx !== undefined")
    expect(page.get_by_role("heading", name="Skills matrix of Residential Care")).to_be_visible()

    count = page.get_by_test_id("spof-count")
    before = int(count.inner_text())
    single = page.locator("#skills-single-points li", has_text="only").first
    key = single.get_attribute("data-skill")
    row = page.locator(f'#skills-table tr[data-skill="{key}"]')
    expect(row.locator("td").last).to_have_text("1")
    cell = row.locator('td[data-level="none"], td[data-level="learning"]').first
    member_id = cell.get_attribute("data-member")
    original = cell.get_attribute("data-level")

    page.evaluate("window.__podiumNoReload = 'still here'")
    cell.locator("select[name=level]").select_option("independent")

    expect(count).to_have_text(str(before - 1))
    expect(page.locator(f'#skills-single-points li[data-skill="{key}"]')).to_have_count(0)
    expect(row.locator("td").last).to_have_text("2")
    expect(page.locator("#skills-history")).to_contain_text("to Independent")
    assert page.evaluate("window.__podiumNoReload") == "still here", "setting a level reloaded the page"

    # Put it back: the skill is a single point of failure again.
    page.locator(f'#skills-table tr[data-skill="{key}"] td[data-member="{member_id}"] select[name=level]'
                 ).select_option(original)
    expect(count).to_have_text(str(before))
    expect(page.locator(f'#skills-single-points li[data-skill="{key}"]')).to_have_count(1)
