"""Real Chromium, driven by Playwright, against the live Django server."""

import re

import pytest
from playwright.sync_api import expect

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

DEMO_PASSWORD = "demo-portfolio-2026"


def sign_in(page, live_server, username, password=DEMO_PASSWORD):
    page.goto(f"{live_server.url}/")
    expect(page).to_have_url(re.compile(r"/login/"))
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Sign in").click()


def test_demo_pm_signs_in_and_sees_the_initiative_list(page, live_server, demo_portfolio,
                                                       screenshots):
    sign_in(page, live_server, "pm")

    expect(page).to_have_url(re.compile(r"/initiatives/\?mine=true$"))
    expect(page.get_by_role("heading", name="My initiatives")).to_be_visible()
    expect(page.get_by_text("Product manager")).to_be_visible()
    rows = page.locator("table.data tbody tr")
    expect(rows.first).to_be_visible()
    page.screenshot(path=screenshots / "initiative-list-pm.png", full_page=True)

    page.get_by_role("link", name="All initiatives").click()
    expect(page.get_by_role("heading", name="All initiatives")).to_be_visible()
    expect(page.get_by_text(re.compile(r"\d+ initiatives"))).to_be_visible()
    page.screenshot(path=screenshots / "initiative-list-all.png", full_page=True)


def test_wrong_password_shows_an_error_and_stays_on_login(page, live_server, demo_portfolio):
    sign_in(page, live_server, "pm", password="not-the-password")

    expect(page.get_by_role("alert")).to_contain_text("correct username and password")
    expect(page).to_have_url(re.compile(r"/login/"))


def test_signing_out_returns_to_the_login_page(page, live_server, demo_portfolio):
    sign_in(page, live_server, "leader")
    expect(page.get_by_text("Leadership")).to_be_visible()

    page.get_by_role("button", name="Sign out").click()

    expect(page).to_have_url(re.compile(r"/login/"))
