"""Browser: sign in, sign out and switch the interface language from the profile."""

import pytest
from playwright.sync_api import expect

from app.demo.org_data import AGENT_EMAIL, COACH_EMAIL

pytestmark = pytest.mark.e2e


def test_sign_in_and_sign_out(page, login):
    page.goto("/")
    assert page.url.split("?")[0].endswith("/login")  # "My day" needs a signed-in user
    login(page, COACH_EMAIL)
    expect(page.locator("nav").get_by_text("My day")).to_be_visible()
    page.get_by_role("button", name="Sign out").click()
    page.wait_for_url("**/login*")
    expect(page.get_by_text("You are signed out.")).to_be_visible()
    page.goto("/")
    assert page.url.split("?")[0].endswith("/login")


def test_wrong_password_stays_on_the_sign_in_page(page):
    page.goto("/login")
    page.fill("input[name=email]", COACH_EMAIL)
    page.fill("input[name=password]", "not-the-password")
    page.click("main form [type=submit]")
    expect(page.get_by_text("Email or password is not right.")).to_be_visible()
    assert page.url.split("?")[0].endswith("/login")


def test_profile_language_switch_to_italian(page, login):
    login(page, AGENT_EMAIL)
    expect(page.locator("nav").get_by_text("My day")).to_be_visible()
    page.goto("/profile")
    page.get_by_label("Language").select_option("it")
    with page.expect_navigation():
        page.get_by_role("button", name="Save profile").click()
    expect(page.locator("nav").get_by_text("La mia giornata")).to_be_visible()
    expect(page.locator("html")).to_have_attribute("lang", "it")
    page.goto("/profile")
    expect(page.get_by_role("heading", name="Il tuo profilo")).to_be_visible()
    expect(page.get_by_label("Lingua")).to_have_value("it")
