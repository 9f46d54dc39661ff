"""Browser: a whole retro with three people in three pages, through every phase, with drag-and-drop grouping.

Demo data: "SMB Care" is coached by Diego Serrano; Álvaro Prieto and Beatriz Núñez are members. The pod has
closed retros with open actions, so the review phase has something to review. Pages follow each other by
polling (every 2 s), as on the stand-up board.
"""

from __future__ import annotations

import re
import uuid

import pytest
from playwright.sync_api import expect

pytestmark = pytest.mark.e2e

COACH = "diego.serrano@example.com"
ANA = "alvaro.prieto@example.com"
BEA = "beatriz.nunez@example.com"
POLL_MS = 10_000


@pytest.fixture
def three_pages(browser, live_server):
    from tests.e2e.conftest import _new_page

    contexts = []
    pages = []
    for _ in range(3):
        context, page = _new_page(browser, live_server, "en-GB", "en-GB,en;q=0.9")
        page.on("dialog", lambda dialog: dialog.accept())
        contexts.append(context)
        pages.append(page)
    yield pages
    for context in contexts:
        context.close()


def _advance(coach, to_section: str, *others) -> None:
    with coach.expect_navigation():
        coach.locator("#retro-advance").click()
    for page in (coach, *others):
        expect(page.locator(to_section)).to_be_visible(timeout=POLL_MS)
        page.wait_for_function("() => window.htmx !== undefined")  # a function: a string predicate is re-evaluated with eval, which the CSP blocks


def _drag(page, source, target) -> None:
    """A real mouse drag (SortableJS runs in fallback mode, so mouse events drive it)."""
    source.scroll_into_view_if_needed()
    box = source.locator(".retro-card-text").bounding_box()
    page.mouse.move(box["x"] + 10, box["y"] + box["height"] / 2)
    page.mouse.down()
    page.mouse.move(box["x"] + 20, box["y"] + box["height"] / 2 + 5, steps=5)
    target.scroll_into_view_if_needed()
    goal = target.bounding_box()
    page.mouse.move(goal["x"] + goal["width"] / 2, goal["y"] + goal["height"] / 2, steps=15)
    page.mouse.move(goal["x"] + goal["width"] / 2 + 2, goal["y"] + goal["height"] / 2 + 2, steps=3)
    page.mouse.up()


def test_three_people_run_a_whole_retro(three_pages, login):
    coach, ana, bea = three_pages
    tag = uuid.uuid4().hex[:6]
    login(coach, COACH)
    login(ana, ANA)
    login(bea, BEA)

    # The coach opens the retro from the pod's page, facilitating it.
    coach.get_by_role("link", name="Retros", exact=True).first.click()
    coach.get_by_role("link", name="SMB Care", exact=True).click()
    form = coach.locator("#retros-new form")
    form.locator("input[name=title]").fill(f"E2E retro {tag}")
    form.locator("select[name=template]").select_option(label="Start / Stop / Continue")
    form.locator("select[name=facilitator_id]").select_option(label="Diego Serrano")
    with coach.expect_navigation():
        form.get_by_role("button", name="Open the retro").click()
    expect(coach.locator("h1")).to_have_text(f"E2E retro {tag}")
    retro_url = coach.url
    for page in (ana, bea):
        page.goto(retro_url)
    for page in (coach, ana, bea):
        expect(page.locator("#retro-checkin")).to_be_visible()
        page.wait_for_function("() => window.htmx !== undefined")  # a function: a string predicate is re-evaluated with eval, which the CSP blocks

    # Check-in: three pulses; only the count shows until the check-in ends, then the aggregate.
    for page, pulse in ((coach, "4"), (ana, "3"), (bea, "5")):
        page.get_by_role("button", name=f"Pulse {pulse}", exact=True).click()
        expect(page.locator("#retro-checkin")).to_contain_text(f"You said {pulse}")
    expect(ana.locator("#retro-checkin")).to_contain_text("3 answers so far", timeout=POLL_MS)

    # Review past actions: an action of an earlier retro is marked done.
    _advance(coach, "#retro-review", ana, bea)
    expect(ana.locator("#retro-pulse")).to_contain_text("Team pulse: 4.0 from 3 answers")
    first_action = ana.locator("#retro-review article").first
    title = first_action.locator("strong").first.inner_text()
    first_action.get_by_role("button", name="Done", exact=True).click()
    expect(bea.locator("#retro-review article", has_text=title)).to_contain_text("Status: Done", timeout=POLL_MS)

    # Reflect: everyone writes; nobody sees another person's text.
    _advance(coach, "#retro-reflect", ana, bea)
    cards = {
        ana: [("start", f"Own billing disputes end to end {tag}")],
        bea: [("start", f"Call back after every reopen {tag}"), ("stop", f"Closing before the customer confirms {tag}")],
        coach: [("continue", f"Pairing on refund macros {tag}")],
    }
    for page, items in cards.items():
        for column, text in items:
            form = page.locator(f"#retro-column-{column} form.retro-add-card")
            form.locator("textarea").fill(text)
            form.get_by_role("button", name="Add card").click()
            expect(page.locator(f"#retro-column-{column} .retro-card-mine", has_text=text)).to_be_visible()
    expect(ana.locator("#retro-column-start")).to_contain_text("1 card by others", timeout=POLL_MS)
    expect(ana.locator("#retro-reflect")).not_to_contain_text("Call back after every reopen")
    expect(bea.locator("#retro-reflect")).not_to_contain_text("Own billing disputes")
    expect(coach.locator("#retro-reflect")).not_to_contain_text("Own billing disputes")

    # Group: drag a card into a new group, drag another onto it; group one more without a mouse.
    _advance(coach, "#retro-group", ana, bea)
    expect(ana.locator(".retro-column .retro-card .retro-merge").first).to_have_attribute(
        "data-target", re.compile(r"^card-[0-9]+$"))  # each loose card takes another (added by retro.js)
    ana_card = ana.locator(".retro-card", has_text="Own billing disputes")
    _drag(ana, ana_card, ana.locator(".retro-group-new .retro-dropzone"))
    group = ana.locator("article.retro-group:not(.retro-group-new)", has_text="Own billing disputes")
    expect(group).to_be_visible()
    expect(bea.locator("article.retro-group:not(.retro-group-new)", has_text="Own billing disputes")).to_be_visible(
        timeout=POLL_MS)
    bea_group_zone = bea.locator("article.retro-group:not(.retro-group-new) .retro-dropzone").first
    _drag(bea, bea.locator(".retro-column .retro-card", has_text="Call back after every reopen"), bea_group_zone)
    expect(bea.locator("article.retro-group:not(.retro-group-new)").first).to_contain_text(
        "Call back after every reopen")
    rename = ana.locator("article.retro-group:not(.retro-group-new) form.retro-inline").first
    expect(rename).to_contain_text("Rename")
    expect(ana.locator("article.retro-group:not(.retro-group-new)").first).to_contain_text(
        "Call back after every reopen", timeout=POLL_MS)
    rename.locator("input[name=title]").fill(f"Owning the customer's problem {tag}")
    rename.get_by_role("button", name="Rename").click()
    expect(ana.locator("article.retro-group:not(.retro-group-new) input[name=title]").first).to_have_value(
        f"Owning the customer's problem {tag}")
    coach_card = coach.locator(".retro-column .retro-card", has_text="Closing before the customer confirms")
    expect(coach.locator("#retro-move-dialog select[name=target]")).to_contain_text(
        f"Owning the customer's problem {tag}", timeout=POLL_MS)  # the board's one list of groups
    coach_card.get_by_role("link", name="Move to group").click()
    dialog = coach.get_by_role("dialog", name="Move a card")
    expect(dialog).to_contain_text("Closing before the customer confirms")
    dialog.get_by_role("combobox", name="Move to group").select_option(label=f"Owning the customer's problem {tag}")
    dialog.get_by_role("button", name="Move", exact=True).click()
    expect(coach.locator("article.retro-group:not(.retro-group-new)").first).to_contain_text(
        "Closing before the customer confirms")

    # Vote: dots within the budget; totals stay hidden while voting.
    _advance(coach, "#retro-vote", ana, bea)
    group_topic = ana.locator("#retro-vote article", has_text=f"Owning the customer's problem {tag}")
    for left in (4, 3):
        group_topic.get_by_role("button", name="Vote for").click()
        expect(ana.locator(".retro-votes-left")).to_contain_text(f"Votes left: {left} of 5")
    bea.locator("#retro-vote article", has_text=f"Owning the customer's problem {tag}").get_by_role(
        "button", name="Vote for").click()
    expect(bea.locator(".retro-votes-left")).to_contain_text("Votes left: 4 of 5")
    bea.locator("#retro-vote article", has_text="Pairing on refund macros").get_by_role(
        "button", name="Vote for").click()
    expect(bea.locator(".retro-votes-left")).to_contain_text("Votes left: 3 of 5")
    expect(ana.locator("#retro-vote")).not_to_contain_text("3 votes")
    group_topic.get_by_role("button", name="Take back a vote").click()
    expect(ana.locator(".retro-votes-left")).to_contain_text("Votes left: 4 of 5")

    # Discuss: topics by votes, a note and an action with an expected effect.
    _advance(coach, "#retro-discuss", ana, bea)
    top = bea.locator("#retro-discuss article.retro-topic").first
    expect(top).to_contain_text(f"Owning the customer's problem {tag}")
    expect(top).to_contain_text("2 votes")
    top.locator("input[name=text]").fill("Start with billing disputes this week.")
    top.get_by_role("button", name="Add note").click()
    expect(bea.locator("#retro-discuss article.retro-topic").first).to_contain_text("Start with billing disputes")
    action = bea.locator("#retro-action-form")
    action.locator("input[name=title]").fill(f"Resolve billing disputes in the pod {tag}")
    action.locator("select[name=owner_id]").select_option(label="Beatriz Núñez")
    action.locator("input[name=due_date]").fill("2099-01-15")
    action.locator("select[name=principle]").select_option(label="End-to-end")
    action.locator("select[name=topic]").select_option(index=1)
    action.locator("select[name=metric]").select_option(label="Handoff rate")
    action.get_by_role("button", name="Add action").click()
    expect(bea.locator("#retro-actions table")).to_contain_text(f"Resolve billing disputes in the pod {tag}")
    expect(coach.locator("#retro-actions table")).to_contain_text("Handoff rate", timeout=POLL_MS)

    # Closed: everyone sees the summary; exports carry no author of an anonymous card.
    _advance(coach, "#retro-exports", ana, bea)
    expect(ana.locator("#retro-discuss")).to_contain_text("Summary")
    markdown = ana.request.get(retro_url + "/export.md").text()
    assert f"Own billing disputes end to end {tag}" in markdown
    assert "Álvaro Prieto" not in markdown
    assert f"Resolve billing disputes in the pod {tag}" in markdown and "Beatriz Núñez" in markdown
