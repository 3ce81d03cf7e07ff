"""The demo PM's journeys in real Chromium: intake with duplicates, keeping an initiative
current, the kill log, refusals, and a stale second tab."""

import re

import pytest
from axe_playwright_python.sync_playwright import Axe
from playwright.sync_api import expect

from portfolio.management.demo_data import DEMO_DUPLICATE_PROBE
from tests.e2e.test_sign_in import sign_in

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def test_pm_logs_an_initiative_after_seeing_a_planted_duplicate(page, live_server,
                                                                 demo_portfolio, screenshots):
    title, summary, twin = DEMO_DUPLICATE_PROBE
    sign_in(page, live_server, "pm")
    page.get_by_role("link", name="Log an initiative").click()
    live = page.locator("#live-matches[aria-live='polite']")
    expect(live).to_be_empty()
    page.get_by_label("Title").press_sequentially(title, delay=20)

    # The planted duplicate appears while the PM types, before anything is submitted.
    expect(live.locator(".match").first).to_contain_text(twin)
    expect(live.locator(".match").first).to_contain_text("Why:")
    expect(live.locator(".tier-badge").first).to_have_text("Probably the same idea")
    expect(page).to_have_url(re.compile(r"/initiatives/new/$"))
    for width in (390, 1440):
        page.set_viewport_size({"width": width, "height": 900})
        page.screenshot(path=screenshots / f"intake-live-duplicates-{width}.png",
                        full_page=True)

    page.get_by_label("Summary").fill(summary)
    page.get_by_label("Category").select_option(label="Customer support AI")
    page.get_by_label("Team").select_option(label="Sales Enablement")
    page.get_by_label("Risk tier").select_option(label="Not sure")
    page.get_by_label("Autonomy level").select_option(label="Human in the loop")
    page.get_by_label("Effort (engineer-weeks)").fill("6")
    page.get_by_role("button", name="Check for duplicates and log it").click()

    duplicates = page.get_by_role("region", name=re.compile("similar initiative"))
    expect(duplicates).to_be_visible()
    expect(duplicates.locator(".match").first).to_contain_text(twin)
    expect(duplicates.locator(".why").first).to_contain_text("Why:")
    page.screenshot(path=screenshots / "intake-duplicates.png", full_page=True)

    page.get_by_role("button", name="It’s different — log it").click()

    expect(page.get_by_role("heading", level=1, name=title)).to_be_visible()
    expect(page.get_by_text("is logged. You own it")).to_be_visible()
    expect(page.get_by_text("tier not chosen by the owner").first).to_be_visible()


def test_pm_keeps_an_initiative_current_and_retires_it_into_the_kill_log(
        page, live_server, demo_portfolio, screenshots):
    sign_in(page, live_server, "pm")
    page.get_by_role("link", name="Proactive outage notification agent").click()
    expect(page.get_by_role("heading", level=1)).to_have_text(
        "Proactive outage notification agent")

    page.get_by_label("What happened").fill("Ops agreed to share the incident feed.")
    page.get_by_label("Health").select_option(label="At risk")
    page.get_by_role("button", name="Post update").click()
    expect(page.get_by_text("Update posted.")).to_be_visible()
    expect(page.locator(".update").first).to_contain_text("Ops agreed to share the incident feed.")
    expect(page.locator(".badges .health-at_risk")).to_be_visible()

    page.get_by_label("Move", exact=True).select_option(label="Forward to Assessment")
    page.get_by_role("button", name="Move", exact=True).click()
    expect(page.get_by_text("Moved to Assessment.")).to_be_visible()

    page.get_by_label("Move", exact=True).select_option(label="Back to Idea")
    page.get_by_role("button", name="Move", exact=True).click()
    expect(page.get_by_role("alert")).to_contain_text("needs a note")
    page.get_by_label("Note").fill("Waiting for the incident feed contract.")
    page.get_by_role("button", name="Move", exact=True).click()
    expect(page.get_by_text("Moved to Idea.")).to_be_visible()
    timeline = page.get_by_role("region", name="Stage timeline")
    expect(timeline).to_contain_text("Waiting for the incident feed contract.")
    page.screenshot(path=screenshots / "initiative-detail.png", full_page=True)

    page.get_by_label("Move", exact=True).select_option(label="Retire (kill)")
    page.get_by_label("Reason for retiring").select_option(label="Data not ready")
    page.get_by_label("Lessons learned").fill("Secure the incident data feed before piloting.")
    page.get_by_role("button", name="Move", exact=True).click()
    expect(page.get_by_text("Moved to Retired.")).to_be_visible()

    page.get_by_role("link", name="Kill log").click()
    page.get_by_role("searchbox", name="Search").fill("incident data feed")
    page.get_by_role("button", name="Search").click()
    entries = page.locator("article.kill")
    expect(entries).to_have_count(1)
    expect(entries.first).to_contain_text("Proactive outage notification agent")
    expect(entries.first).to_contain_text("Data not ready")
    page.screenshot(path=screenshots / "kill-log.png", full_page=True)


def test_pm_cannot_edit_someone_elses_initiative(page, live_server, demo_portfolio):
    sign_in(page, live_server, "pm")
    page.get_by_role("link", name="All initiatives").click()
    page.get_by_role("searchbox", name="Search").fill("Invoice data extraction")
    page.get_by_role("button", name="Apply").click()
    page.get_by_role("link", name="Invoice data extraction").click()

    expect(page.get_by_role("heading", level=1)).to_have_text("Invoice data extraction")
    expect(page.get_by_role("link", name="Edit", exact=True)).to_have_count(0)
    expect(page.get_by_role("heading", name="Post an update")).to_have_count(0)

    response = page.goto(page.url + "edit/")

    assert response.status == 403
    expect(page.get_by_role("heading", level=1)).to_have_text("You can’t change this")


def test_a_stale_second_tab_cannot_overwrite_the_first(page, live_server, demo_portfolio,
                                                       screenshots):
    sign_in(page, live_server, "pm")
    page.get_by_role("link", name="Call summarisation and wrap-up notes").click()
    page.get_by_role("link", name="Edit", exact=True).click()
    edit_url = page.url
    second = page.context.new_page()
    second.goto(edit_url)

    second.get_by_label("Summary").fill("Summaries go straight into the CRM case record.")
    second.get_by_role("button", name="Save changes").click()
    expect(second.get_by_text("Saved.")).to_be_visible()

    page.get_by_label("Title").fill("Call summaries (renamed in a stale tab)")
    page.get_by_role("button", name="Save changes").click()

    expect(page.get_by_role("alert").first).to_contain_text(
        "Someone else changed this initiative")
    changes = page.locator("table.changed-meanwhile")
    expect(changes).to_contain_text("Summaries go straight into the CRM case record.")
    page.screenshot(path=screenshots / "stale-edit-refused.png", full_page=True)
    second.reload()
    expect(second.get_by_role("heading", level=1)).to_have_text(re.compile("Call summarisation"))


@pytest.fixture
def axe_page(browser):
    """A page axe-core can run in: it is an injected script, which the CSP blocks, so this
    context bypasses the CSP (the site's own scripts come from 'self' either way)."""
    context = browser.new_context(bypass_csp=True)
    yield context.new_page()
    context.close()


def test_pm_adds_a_stakeholder_by_typing_part_of_a_name(axe_page, live_server, demo_portfolio,
                                                        screenshots):
    page = axe_page
    sign_in(page, live_server, "pm")
    page.get_by_role("link", name="Proactive outage notification agent").click()
    person = page.get_by_role("combobox", name="Person", exact=True)
    expect(person).to_have_attribute("aria-expanded", "false")

    person.press_sequentially("kenj", delay=30)

    # Suggestions come from the server as the PM types; only people who match are offered.
    suggestions = page.get_by_role("listbox", name="Suggestions")
    expect(person).to_have_attribute("aria-expanded", "true")
    expect(suggestions.get_by_role("option")).to_have_count(1)
    option = suggestions.get_by_role("option", name=re.compile("Kenji Sato"))
    person.press("ArrowDown")
    expect(option).to_have_attribute("aria-selected", "true")
    expect(person).to_have_attribute("aria-activedescendant", option.get_attribute("id"))
    # The open combobox and its suggestions meet WCAG 2.1 AA.
    found = Axe().run(page, context={"include": [["form[aria-label='Add a person']"]]},
                      options={"runOnly": {"type": "tag", "values": [
                          "wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]}})
    assert [v["id"] for v in found.response["violations"]
            if v["impact"] in ("serious", "critical")] == []
    for width in (1440, 390):
        page.set_viewport_size({"width": width, "height": 900})
        person.scroll_into_view_if_needed()
        page.screenshot(path=screenshots / f"people-picker-{width}.png")
    option.click()

    expect(person).to_have_value("Kenji Sato (kenji.sato)")
    expect(person).to_have_attribute("aria-expanded", "false")
    page.get_by_label("Role", exact=True).select_option(label="Consulted")
    page.get_by_role("button", name="Add person").click()

    expect(page.get_by_text("Kenji Sato is now Consulted.")).to_be_visible()
    expect(page.get_by_role("region", name="People (RACI)")).to_contain_text("Kenji Sato")
