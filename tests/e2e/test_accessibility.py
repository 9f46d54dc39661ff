"""Browser: every page each demo role can reach has no serious or critical axe-core violation and no console error,
in English, Spanish and Italian.

Per role: the person's language is cleared, so pages follow the browser's (as for a new user). An English browser
crawls from My day (one page per kind of URL) and checks each page as the crawl reaches it; a Spanish and an
Italian browser, each in its own thread with its own Chromium, check every page the crawl reached as soon as it
reached it, so the three languages run side by side.
axe-core is installed once per browser context (an init script), not sent with every page. Every rule axe-core
has runs. A summary of what was checked is written to test-results/accessibility.txt.
"""

from __future__ import annotations

import queue
import threading
import time
from pathlib import Path

import pytest

from app.demo.org_data import ADMIN_EMAIL, AGENT_EMAIL, COACH_EMAIL, DEFAULT_PASSWORD, LEADER_EMAIL
from tests.e2e.conftest import CHROMIUM, CHROMIUM_ARGS, TIMEOUT_MS
from tests.e2e.crawl import axe_violations, crawl, install_axe

pytestmark = pytest.mark.e2e

ROLES = {"admin": ADMIN_EMAIL, "leader": LEADER_EMAIL, "coach": COACH_EMAIL, "agent": AGENT_EMAIL}
BROWSER_LANGUAGES = {"en": ("en-GB", "en-GB,en;q=0.9"), "es": ("es-ES", "es-ES,es;q=0.9"),
                     "it": ("it-IT", "it-IT,it;q=0.9")}
RESULTS = Path(__file__).resolve().parents[2] / "test-results"


class Checker:
    """One signed-in browser context in one language; checks pages and keeps what it found."""

    def __init__(self, browser, base_url: str, language: str):
        locale, accept = BROWSER_LANGUAGES[language]
        self.language = language
        self.context = browser.new_context(base_url=base_url, locale=locale, viewport={"width": 1366, "height": 900},
                                           extra_http_headers={"Accept-Language": accept})
        self.context.set_default_timeout(TIMEOUT_MS)
        self.context.set_default_navigation_timeout(TIMEOUT_MS)
        install_axe(self.context)
        self.page = self.context.new_page()
        self.errors: list[str] = []
        self.page.on("console", lambda m: self.errors.append(m.text) if m.type == "error" else None)
        self.page.on("pageerror", lambda e: self.errors.append(str(e)))
        self.failures: dict[str, list[str]] = {}
        self.checked = 0

    def sign_in(self, email: str) -> None:
        page = self.page
        page.goto("/login")
        page.fill("input[name=email]", email)
        page.fill("input[name=password]", DEFAULT_PASSWORD)
        with page.expect_navigation():
            page.click("main form [type=submit]")
        if page.url.split("?")[0].endswith("/login"):
            raise AssertionError(f"sign-in failed for {email}")
        lang = page.evaluate("document.documentElement.lang")
        assert lang == self.language, f"pages are in {lang}, the browser asked for {self.language}"

    def check_current(self, url: str) -> None:
        """The page as loaded now: serious/critical axe violations and the console errors since the visit."""
        self.checked += 1
        problems = [f"{v['id']} ({v['impact']}) at {', '.join(v['targets'])}" for v in axe_violations(self.page)]
        problems += [f"console: {e}" for e in self.errors]
        if problems:
            self.failures[f"{self.language} {url}"] = problems

    def check(self, url: str) -> None:
        self.errors.clear()
        self.page.goto(url)
        self.check_current(url)

    def close(self) -> None:
        self.context.close()


def _check_in_own_browser(base_url: str, email: str, language: str, urls: queue.Queue, out: dict) -> None:
    """Check every URL put on ``urls`` (until None) in ``language`` with a Chromium of this thread (Playwright
    objects belong to one thread)."""
    from playwright.sync_api import sync_playwright

    try:
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
            try:
                checker = Checker(browser, base_url, language)
                checker.sign_in(email)
                while (url := urls.get()) is not None:
                    checker.check(url)
                out[language] = checker
            finally:
                browser.close()
    except BaseException as error:  # reported by the test's thread
        out[language] = error
        while urls.get() is not None:  # let the crawl finish
            pass


@pytest.mark.parametrize("role", list(ROLES))
def test_every_page_a_role_reaches_passes_axe_in_every_language(browser, live_server, set_user_locale, role):
    email = ROLES[role]
    started = time.monotonic()
    set_user_locale(email, None)  # no language of their own: every browser gets its language
    english = Checker(browser, live_server, "en")
    results: dict[str, object] = {}
    queues = {lang: queue.Queue() for lang in ("es", "it")}
    threads = [threading.Thread(target=_check_in_own_browser, args=(live_server, email, lang, queues[lang], results),
                                name=f"axe-{role}-{lang}") for lang in queues]
    for thread in threads:
        thread.start()

    def check_everywhere(url: str) -> None:
        english.check_current(url)
        for waiting in queues.values():
            waiting.put(url)

    try:
        english.sign_in(email)
        urls = crawl(english.page, on_page=check_everywhere, errors=english.errors)
        results["en"] = english
    finally:
        for waiting in queues.values():
            waiting.put(None)
        for thread in threads:
            thread.join()
        english.close()
        set_user_locale(email, "en")
    assert len(urls) >= 5, urls
    for lang in ("es", "it"):
        if isinstance(results.get(lang), BaseException):
            raise results[lang]
    checkers = [results[lang] for lang in ("en", "es", "it")]
    failures = {key: problems for checker in checkers for key, problems in checker.failures.items()}
    checked = sum(checker.checked for checker in checkers)
    elapsed = time.monotonic() - started
    RESULTS.mkdir(exist_ok=True)
    with (RESULTS / "accessibility.txt").open("a", encoding="utf-8") as report:
        report.write(f"{role}: {len(urls)} pages crawled, {checked} page loads checked (en/es/it) in {elapsed:.0f}s, "
                     f"{len(failures)} with problems\n")
        for key, problems in failures.items():
            report.write(f"  {key}\n" + "".join(f"    {p}\n" for p in problems))
        report.write("".join(f"  checked {u}\n" for u in urls))
    assert checked == 3 * len(urls)
    assert failures == {}, "\n".join(f"{k}: {p}" for k, p in failures.items())
