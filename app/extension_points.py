"""Extension points that feature packages register with, so shared pages need no edits per feature.

- ``nav_item``: a link in the main navigation (or the admin menu), shown when ``visible(user)`` is true.
- ``home_section``: a section of the "My day" page; the function returns the template context or None.
- ``demo_step``: a function ``(now)`` run by ``flask demo load`` after the organisation and cases exist.
- ``quarter_activity``: what a feature reports about a pod's quarter (for quarterly reviews): a function
  ``(pod, start, end) -> dict`` registered under a key, with the feature's heading and a ``describe(figures)``
  that words them; reviews gather every registered key and show each part (page and PDF) from
  ``quarter_parts(activity)``, naming no feature's figures themselves.
- ``on_user_deactivated``: a function ``(actor, user, now)`` run when an account is deactivated, so a feature
  above the organisation model ends what it granted the person (the API revokes their tokens).
- ``coverage_note``: a note a feature adds to cells of the coverage matrix (pilots: cases whose request type is
  not expected at the stage); ``quarter_activity_of(key, pod, start, end)`` reads one feature's quarter (the
  leader's quarter view asks pilots for every pod with ``pod=None``).
- ``metric_provider``: extra figures the metric engine computes from a feature's own data (e.g. autonomy's
  "decisions within autonomy"), so the engine never imports a feature above it.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any


@dataclass(frozen=True)
class NavItem:
    order: int
    endpoint: str
    label: Any  # a lazy string
    visible: Callable[[Any], bool]
    menu: str = "main"  # "main" or "admin"
    active_prefix: str | None = None  # endpoint prefix that marks the link as current


@dataclass(frozen=True)
class HomeSection:
    order: int
    template: str
    context: Callable[[Any, date], dict | None]


@dataclass(frozen=True)
class DemoStep:
    order: int
    name: str
    run: Callable[[datetime], None]


@dataclass(frozen=True)
class QuarterActivity:
    order: int
    key: str
    collect: Callable[[Any, date, date], dict]
    title: Any = None  # a lazy string: the heading of the feature's part of a review
    describe: Callable[[dict], list[str]] | None = None  # the figures in words, one sentence a line
    template: str | None = None  # a richer block for the review page (it reads ``a``, the whole activity)


@dataclass(frozen=True)
class QuarterPart:
    key: str
    title: str
    lines: list[str]
    template: str | None


NAV_ITEMS: list[NavItem] = []
QUARTER_ACTIVITIES: list[QuarterActivity] = []
HOME_SECTIONS: list[HomeSection] = []
DEMO_STEPS: list[DemoStep] = []
USER_DEACTIVATED: dict[str, Callable[[Any, Any, datetime], None]] = {}
COVERAGE_NOTES: dict[str, Callable[[Any], dict]] = {}


def _register(registry: list, entry: Any, identity: Callable[[Any], Any]) -> None:
    """Add ``entry`` unless an entry with the same identity is there (a module imported twice registers once),
    keeping the registry sorted by ``order``."""
    if not any(identity(item) == identity(entry) for item in registry):
        registry.append(entry)
        registry.sort(key=lambda item: item.order)


def nav_item(order: int, endpoint: str, label: Any, visible: Callable[[Any], bool] = lambda user: True,
             menu: str = "main", active_prefix: str | None = None) -> None:
    _register(NAV_ITEMS, NavItem(order, endpoint, label, visible, menu, active_prefix),
              lambda item: (item.endpoint, item.menu))


def home_section(order: int, template: str):
    def decorator(func: Callable[[Any, date], dict | None]):
        _register(HOME_SECTIONS, HomeSection(order, template, func), lambda section: section.template)
        return func

    return decorator


def demo_step(order: int, name: str):
    def decorator(func: Callable[[datetime], None]):
        _register(DEMO_STEPS, DemoStep(order, name, func), lambda step: step.name)
        return func

    return decorator


def quarter_activity(order: int, key: str, *, title: Any = None, describe: Callable[[dict], list[str]] | None = None,
                     template: str | None = None):
    """Register ``func(pod, start, end) -> dict``: a feature's activity in a pod over local days start..end (plain
    data: a signed-off review keeps it as JSON). ``title`` and ``describe(figures) -> [sentence, ...]`` are how the
    review page and its PDF show it; ``template`` replaces the sentences on the page. Without ``describe`` the
    figures are gathered but not shown (a feature read by a view of its own, as pilots are by the leader's)."""

    def decorator(func: Callable[[Any, date, date], dict]):
        _register(QUARTER_ACTIVITIES, QuarterActivity(order, key, func, title, describe, template),
                  lambda item: item.key)
        return func

    return decorator


def quarter_parts(activity: dict | None) -> list[QuarterPart]:
    """Each registered feature's part of a gathered (or frozen) quarter, in order, worded by the feature; a feature
    with no figures, or whose ``describe`` finds nothing to say, is left out."""
    parts = []
    for item in QUARTER_ACTIVITIES:
        figures = (activity or {}).get(item.key)
        lines = item.describe(figures) if figures and item.describe else []
        if lines:
            parts.append(QuarterPart(item.key, str(item.title or item.key), lines, item.template))
    return parts


def quarter_activities_for(pod: Any, start: date, end: date) -> dict[str, dict]:
    return {item.key: item.collect(pod, start, end) for item in QUARTER_ACTIVITIES}


def quarter_activity_of(key: str, pod: Any, start: date, end: date) -> dict | None:
    """One registered feature's part of a quarter (None when no feature registered `key`); a collector that
    accepts ``pod=None`` answers for every pod (the leader's quarter view)."""
    for item in QUARTER_ACTIVITIES:
        if item.key == key:
            return item.collect(pod, start, end)
    return None


def coverage_note(name: str):
    """Register ``func(user) -> {(segment_id, stage_id): {"text": str, "url": str | None}}``: a note a feature
    adds to cells of the coverage matrix (pilots flag cases whose request type is unexpected at the stage)."""

    def decorator(func: Callable[[Any], dict]):
        COVERAGE_NOTES.setdefault(name, func)
        return func

    return decorator


def coverage_notes_for(user: Any) -> dict[tuple[int, int], list[dict]]:
    notes: dict[tuple[int, int], list[dict]] = {}
    for func in COVERAGE_NOTES.values():
        for cell, note in func(user).items():
            notes.setdefault(cell, []).append(note)
    return notes


def nav_items_for(user: Any, menu: str = "main") -> list[NavItem]:
    return [item for item in NAV_ITEMS if item.menu == menu and item.visible(user)]


def home_sections_for(user: Any, today: date) -> list[tuple[str, dict]]:
    sections = []
    for section in HOME_SECTIONS:
        context = section.context(user, today)
        if context is not None:
            sections.append((section.template, context))
    return sections


def on_user_deactivated(name: str):
    """Register ``func(actor, user, now)``, run (in the same transaction) when ``user`` is deactivated."""

    def decorator(func: Callable[[Any, Any, datetime], None]):
        USER_DEACTIVATED.setdefault(name, func)
        return func

    return decorator


def user_deactivated(actor: Any, user: Any, now: datetime) -> None:
    for func in USER_DEACTIVATED.values():
        func(actor, user, now)
