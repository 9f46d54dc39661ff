"""Extension points that feature packages register with, so shared pages need no edits per feature.

- ``nav_item``: a link in the main navigation (or the admin menu), shown when ``visible(user)`` is true.
- ``home_section``: a section of the "My day" page; the function returns the template context or None.
- ``demo_step``: a function ``(now)`` run by ``flask demo load`` after the organisation and cases exist.
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


NAV_ITEMS: list[NavItem] = []
HOME_SECTIONS: list[HomeSection] = []
DEMO_STEPS: list[DemoStep] = []


def nav_item(order: int, endpoint: str, label: Any, visible: Callable[[Any], bool] = lambda user: True,
             menu: str = "main", active_prefix: str | None = None) -> None:
    if any(item.endpoint == endpoint and item.menu == menu for item in NAV_ITEMS):
        return
    NAV_ITEMS.append(NavItem(order, endpoint, label, visible, menu, active_prefix))
    NAV_ITEMS.sort(key=lambda item: item.order)


def home_section(order: int, template: str):
    def decorator(func: Callable[[Any, date], dict | None]):
        if not any(section.template == template for section in HOME_SECTIONS):
            HOME_SECTIONS.append(HomeSection(order, template, func))
            HOME_SECTIONS.sort(key=lambda section: section.order)
        return func

    return decorator


def demo_step(order: int, name: str):
    def decorator(func: Callable[[datetime], None]):
        if not any(step.name == name for step in DEMO_STEPS):
            DEMO_STEPS.append(DemoStep(order, name, func))
            DEMO_STEPS.sort(key=lambda step: step.order)
        return func

    return decorator


def nav_items_for(user: Any, menu: str = "main") -> list[NavItem]:
    return [item for item in NAV_ITEMS if item.menu == menu and item.visible(user)]


def home_sections_for(user: Any, today: date) -> list[tuple[str, dict]]:
    sections = []
    for section in HOME_SECTIONS:
        context = section.context(user, today)
        if context is not None:
            sections.append((section.template, context))
    return sections
