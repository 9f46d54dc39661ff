"""Browser: every page each demo role can reach has no serious or critical axe-core violation and no console error.

One sign-in per role. The crawl follows links from My day (one page per kind of URL) in English; Spanish and
Italian check the main pages of that crawl (set PODIUM_A11Y_FULL=1 to check every crawled page in all three).
A summary of what was checked is written to test-results/accessibility.txt.
"""

from __future__ import annotations

import os
import time
from pathlib import Path

import pytest

from app.demo.org_data import ADMIN_EMAIL, AGENT_EMAIL, COACH_EMAIL, LEADER_EMAIL
from tests.e2e.crawl import axe_violations, crawl

pytestmark = pytest.mark.e2e

ROLES = {"admin": ADMIN_EMAIL, "leader": LEADER_EMAIL, "coach": COACH_EMAIL, "agent": AGENT_EMAIL}
MAIN_PAGE_COUNT = 12  # the first pages of the breadth-first crawl: the navigation's sections
RESULTS = Path(__file__).resolve().parents[2] / "test-results"


def _check(page, url: str, errors: list[str]) -> list[str]:
    errors.clear()
    page.goto(url)
    page.wait_for_load_state("load")
    problems = [f"{v['id']} ({v['impact']}) at {', '.join(v['targets'])}" for v in axe_violations(page)]
    problems += [f"console: {e}" for e in errors]
    return problems


@pytest.mark.parametrize("role", list(ROLES))
def test_every_page_a_role_reaches_passes_axe_in_every_language(browser, live_server, login, set_user_locale, role):
    email = ROLES[role]
    full = os.environ.get("PODIUM_A11Y_FULL") == "1"
    context = browser.new_context(base_url=live_server, locale="en-GB", viewport={"width": 1366, "height": 900})
    page = context.new_page()
    errors: list[str] = []
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: errors.append(str(e)))
    started = time.monotonic()
    failures: dict[str, list[str]] = {}
    checked = 0
    try:
        login(page, email, locale="en")
        urls = crawl(page)
        assert len(urls) >= 5, urls
        for locale in ("en", "es", "it"):
            set_user_locale(email, locale)
            for url in urls if (full or locale == "en") else urls[:MAIN_PAGE_COUNT]:
                checked += 1
                problems = _check(page, url, errors)
                if problems:
                    failures[f"{locale} {url}"] = problems
    finally:
        set_user_locale(email, "en")
        context.close()
    elapsed = time.monotonic() - started
    RESULTS.mkdir(exist_ok=True)
    with (RESULTS / "accessibility.txt").open("a", encoding="utf-8") as report:
        report.write(f"{role}: {len(urls)} pages crawled, {checked} page loads checked in {elapsed:.0f}s, "
                     f"{len(failures)} with problems\n")
        for key, problems in failures.items():
            report.write(f"  {key}\n" + "".join(f"    {p}\n" for p in problems))
        report.write("".join(f"  checked {u}\n" for u in urls))
    assert failures == {}, "\n".join(f"{k}: {p}" for k, p in failures.items())
