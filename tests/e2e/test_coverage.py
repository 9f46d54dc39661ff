"""Browser: the demo coach assigns their pod's journeys on the coverage matrix in place, in English and Spanish.

Demo data (app/demo/org_data.py): the coach, Lucía Fernández, coaches "Residential Care"; the matrix has one
gap (Enterprise · Pre-sale) and one overlap (Residential · Post-sale & warranty, with Residential Retention &
Closure). Each test puts the matrix back as it found it.
"""

import pytest
from playwright.sync_api import expect

from app.demo.org_data import COACH_EMAIL

pytestmark = pytest.mark.e2e

POD = "Residential Care"
GAP = 'td[aria-label="Enterprise · Pre-sale"]'
OVERLAP = 'td[aria-label="Residential · Post-sale & warranty"]'


def _mark_window(page):
    """A marker that only survives if the page is never reloaded."""
    page.evaluate("window.__podiumNoReload = 'still here'")


def _window_survived(page) -> bool:
    return page.evaluate("window.__podiumNoReload") == "still here"


def _open_matrix(page, link_text: str):
    page.get_by_role("link", name=link_text, exact=True).first.click()
    page.wait_for_url("**/coverage")
    page.wait_for_function("() => window.htmx !== undefined")  # a function: a string predicate is re-evaluated with eval, which the CSP blocks


def test_coach_fills_the_gap_in_place_in_english(page, login):
    login(page, COACH_EMAIL)
    _open_matrix(page, "Coverage")
    expect(page.get_by_role("heading", name="Coverage matrix")).to_be_visible()
    expect(page.get_by_test_id("gap-count")).to_have_text("1")
    expect(page.get_by_test_id("overlap-count")).to_have_text("1")
    expect(page.get_by_text("You can assign the journeys of the pod you coach: Residential Care.")).to_be_visible()
    # Only the coach's own pod is offered; other pods' chips have no remove button.
    gap = page.locator(GAP)
    expect(gap.locator("select[name=pod_id] option")).to_have_text([POD])
    expect(page.locator(OVERLAP).get_by_role("button", name="Remove Residential Retention & Closure from this journey")
           ).to_have_count(0)

    _mark_window(page)
    gap.locator("select[name=pod_id]").select_option(label=POD)
    gap.get_by_role("button", name="Assign").click()

    expect(page.get_by_test_id("gap-count")).to_have_text("0")
    expect(page.get_by_test_id("overlap-count")).to_have_text("1")
    expect(gap).to_have_class("cell-ok")
    expect(gap.get_by_role("link", name=POD)).to_be_visible()
    expect(page.locator("#flash-area")).to_contain_text("Residential Care now covers Enterprise · Pre-sale.")
    assert _window_survived(page), "the assignment reloaded the page"

    gap.get_by_role("button", name=f"Remove {POD} from this journey").click()
    expect(page.get_by_test_id("gap-count")).to_have_text("1")
    expect(gap).to_have_class("cell-gap")
    expect(page.locator("#flash-area")).to_contain_text("Residential Care no longer covers Enterprise · Pre-sale.")
    assert _window_survived(page)

    page.reload()
    expect(page.get_by_test_id("gap-count")).to_have_text("1")
    expect(page.locator(GAP)).to_have_class("cell-gap")


def test_coach_resolves_the_overlap_in_place_in_spanish(page_es, login):
    page = page_es
    page.goto("/login")
    expect(page.get_by_role("button", name="Iniciar sesión")).to_be_visible()
    expect(page.get_by_label("Correo electrónico")).to_be_visible()
    login(page, COACH_EMAIL)
    expect(page.locator("nav").get_by_text("Mi día")).to_be_visible()
    _open_matrix(page, "Cobertura")
    expect(page.get_by_role("heading", name="Matriz de cobertura")).to_be_visible()
    summary = page.locator("#coverage-summary")
    expect(summary).to_contain_text("1 hueco")
    expect(summary).to_contain_text("1 solapamiento")

    overlap = page.locator(OVERLAP)
    expect(overlap).to_have_class("cell-overlap")
    expect(overlap.get_by_text("Solapamiento")).to_be_visible()
    _mark_window(page)
    overlap.get_by_role("button", name=f"Quitar {POD} de este recorrido").click()

    expect(page.get_by_test_id("overlap-count")).to_have_text("0")
    expect(summary).to_contain_text("0 solapamientos")
    expect(overlap).to_have_class("cell-ok")
    expect(page.locator("#flash-area")).to_contain_text(
        "Residential Care ya no cubre Residential · Post-sale & warranty.")
    assert _window_survived(page), "the change reloaded the page"

    overlap.locator("select[name=pod_id]").select_option(label=POD)
    overlap.get_by_role("button", name="Asignar").click()
    expect(page.get_by_test_id("overlap-count")).to_have_text("1")
    expect(overlap).to_have_class("cell-overlap")
    expect(page.locator("#flash-area")).to_contain_text(
        "Residential Care ahora cubre Residential · Post-sale & warranty.")
    assert _window_survived(page)


def test_coach_cannot_post_for_another_pod(page, login, live_app):
    """The server holds the rule: a forged request for another pod is refused (403) and changes nothing."""
    from sqlalchemy import select

    from app.extensions import db
    from app.org.models import LifecycleStage, Pod, Segment

    with live_app.app_context():
        other = db.session.scalar(select(Pod.id).where(Pod.name == "SMB Growth"))
        segment = db.session.scalar(select(Segment.id).where(Segment.name == "Enterprise"))
        stage = db.session.scalar(select(LifecycleStage.id).where(LifecycleStage.name == "Pre-sale"))
        db.session.remove()
    login(page, COACH_EMAIL)
    _open_matrix(page, "Coverage")
    status = page.evaluate(
        """async ([url, pod]) => {
            const token = JSON.parse(document.body.getAttribute('hx-headers'))['X-CSRFToken'];
            const body = new URLSearchParams({pod_id: pod, op: 'assign'});
            const response = await fetch(url, {method: 'POST', body, headers: {'X-CSRFToken': token}});
            return response.status;
        }""",
        [f"/coverage/{segment}/{stage}", str(other)],
    )
    assert status == 403
    page.reload()
    expect(page.get_by_test_id("gap-count")).to_have_text("1")
