"""Helpers for the accessibility crawl: find the pages a signed-in person can reach, run axe-core on them.

axe-core is vendored in tests/e2e/assets (from the npm registry, MPL-2.0, licence alongside). It is injected
through the DevTools protocol, which the page's Content Security Policy does not govern: once per browser
context with ``install_axe`` (an init script every page of the context runs before its own scripts), else by
``page.evaluate`` on a page that lacks it.
"""

from __future__ import annotations

import re
from collections import deque
from collections.abc import Callable
from pathlib import Path
from urllib.parse import urlsplit

ASSETS = Path(__file__).resolve().parent / "assets"
AXE_SOURCE = (ASSETS / "axe-4.14.1.min.js").read_text(encoding="utf-8")
SERIOUS = ("serious", "critical")

# Links a crawl must not follow: they sign out, download files, or change data on GET (none should).
SKIP_PATTERNS = (
    re.compile(r"^/static/"),
    re.compile(r"^/api/"),
    re.compile(r"^/logout"),
    re.compile(r"\.(csv|pdf|json|ics|txt|svg|png|md|xlsx)$"),
    re.compile(r"/(csv|pdf|export|download)(/|$)"),
)


def url_pattern(url: str) -> str:
    """A page's kind: its path with ids replaced, so the crawl visits one /pods/<n>/actions, not every one."""
    return re.sub(r"/\d+(?=/|$)", "/<n>", urlsplit(url).path)


def _links(page) -> list[str]:
    return page.eval_on_selector_all(
        "a[href]:not([download])",
        "els => els.map(a => a.getAttribute('href'))",
    )


def crawl(page, start: str = "/", limit: int = 120, on_page: Callable[[str], None] | None = None,
          errors: list | None = None) -> list[str]:
    """Breadth-first over same-site links from ``start``: one URL per page kind, at most ``limit``.

    ``on_page(url)`` runs on every HTML page reached, as loaded (the accessibility check, so the crawl's own visit
    is checked rather than loading the page twice); ``errors`` (the page's console log) is emptied before each
    visit, so what it holds during ``on_page`` belongs to that page."""
    seen_patterns: set[str] = set()
    order: list[str] = []
    queue = deque([start])
    while queue and len(order) < limit:
        url = queue.popleft()
        pattern = url_pattern(url)
        if pattern in seen_patterns:
            continue
        seen_patterns.add(pattern)
        if errors is not None:
            errors.clear()
        try:
            response = page.goto(url)
        except Exception as error:  # a download (Playwright cannot navigate to it) is not a page
            if "Download is starting" in str(error):
                continue
            raise
        if response is None or response.status != 200 or "text/html" not in response.headers.get("content-type", ""):
            continue
        order.append(url)
        links = _links(page)
        if on_page is not None:
            on_page(url)
        for href in links:
            if not href or not href.startswith("/") or href.startswith("//"):
                continue
            href = href.split("#")[0]
            path = urlsplit(href).path
            if any(p.search(path) for p in SKIP_PATTERNS):
                continue
            if url_pattern(href) not in seen_patterns:
                queue.append(href)
    return order


def install_axe(context) -> None:
    """Every page of ``context`` gets axe-core before its own scripts run (sent to the browser once)."""
    context.add_init_script(script=AXE_SOURCE)


def axe_violations(page) -> list[dict]:
    """Serious and critical axe-core violations on the page as it is now (every rule axe-core has)."""
    if not page.evaluate("typeof window.axe !== 'undefined'"):
        page.evaluate(AXE_SOURCE + "\n;true")
    result = page.evaluate(
        """async () => {
            const r = await axe.run(document, {resultTypes: ['violations']});
            return r.violations.map(v => ({id: v.id, impact: v.impact,
                targets: v.nodes.slice(0, 3).map(n => n.target.join(' '))}));
        }"""
    )
    return [v for v in result if v["impact"] in SERIOUS]
