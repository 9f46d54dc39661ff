"""Browser: an agent logs a decision above their limit, the coach approves it from the queue, the agent sees it.

Demo data: Sofía Delgado (agent@example.com) works in "Residential Care", coached by Lucía Fernández
(coach@example.com); the pod's refund limit is 75.00 EUR per case and the coach's own limit 250.00 EUR.
"""

import uuid

import pytest
from playwright.sync_api import expect

from app.demo.org_data import AGENT_EMAIL, COACH_EMAIL

pytestmark = pytest.mark.e2e


def test_agent_asks_coach_approves_from_queue_agent_sees_it(page, login):
    case_ref = f"E2E-{uuid.uuid4().hex[:8]}"
    login(page, AGENT_EMAIL)
    page.get_by_role("link", name="Autonomy", exact=True).first.click()
    page.wait_for_url("**/autonomy/")
    expect(page.locator("#allowance-refund")).to_contain_text("75.00")
    form = page.locator("#log-decision form")
    form.get_by_label("Action").select_option(label="Refund")
    form.get_by_label("Amount").fill("120.00")
    expect(form.get_by_label("Currency")).to_have_value("EUR")
    form.get_by_label("Case reference").fill(case_ref)
    form.get_by_label("Customer reference").fill("CUST-4471")
    form.get_by_label("Why").fill("Charged twice for the same month; customer has the bank statement.")
    form.get_by_role("button", name="Log decision").click()
    expect(page.locator("#flash-area")).to_contain_text("Above your limit: sent for approval.")
    row = page.locator("#ledger tr", has_text=case_ref)
    expect(row).to_contain_text("Waiting for approval")

    page.context.clear_cookies()
    login(page, COACH_EMAIL)
    page.goto("/autonomy/queue")
    request = page.locator("#approval-queue tbody tr", has_text=case_ref)
    expect(request).to_contain_text("120.00")
    expect(request).to_contain_text("Sofía Delgado")
    page.wait_for_function("() => window.htmx !== undefined")  # a function: a string predicate is re-evaluated with eval, which the CSP blocks
    request.get_by_label("Comment").fill("Fine: the statement shows the double charge.")
    request.get_by_role("button", name="Approve").click()
    expect(page.locator("#approval-queue tbody tr", has_text=case_ref)).to_contain_text("Approved.")

    page.context.clear_cookies()
    login(page, AGENT_EMAIL)
    page.goto("/autonomy/")
    row = page.locator("#ledger tr", has_text=case_ref)
    expect(row).to_contain_text("Approved")
    expect(row).to_contain_text("Lucía Fernández")
    row.get_by_role("link", name="Refund").click()
    expect(page.locator("#decision-comment")).to_have_text("Fine: the statement shows the double charge.")
