"""CSV import in real Chromium: the upload script, its progress bar, errors in place."""

import re

import pytest
from playwright.sync_api import expect

from tests.e2e.test_sign_in import sign_in
from tests.factories import TeamFactory, UserFactory

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

PASSWORD = "correct-horse-battery"


def csv_file(text: str) -> dict:
    return {"name": "initiatives.csv", "mimeType": "text/csv", "buffer": text.encode()}


def test_pm_uploads_a_bad_file_sees_each_problem_then_imports_a_good_one(page, live_server,
                                                                         screenshots):
    UserFactory(username="csv-pm", roles=["pm"], password=PASSWORD)
    TeamFactory(name="Claims Operations", slug="claims-ops")
    problems = []   # script errors, and anything the Content Security Policy refused
    page.on("pageerror", lambda error: problems.append(str(error)))
    page.on("console", lambda message: "Content Security Policy" in message.text
            and problems.append(message.text))
    sign_in(page, live_server, "csv-pm", PASSWORD)

    page.get_by_role("link", name="Import CSV").click()
    expect(page.get_by_role("heading", name="Import initiatives from CSV")).to_be_visible()
    page.get_by_label("CSV file").set_input_files(csv_file(
        "Title,Team,Impact\r\nGood,claims-ops,1\r\nBad,nowhere,7\r\n"))
    with page.expect_response(re.compile(r"/initiatives/import/$")) as answer:
        page.get_by_role("button", name="Import").click()

    assert answer.value.request.headers.get("x-requested-with") == "XMLHttpRequest"
    errors = page.get_by_role("region", name=re.compile("Nothing was imported"))
    expect(errors).to_contain_text("2 problems in 1 row")
    expect(errors.locator("tbody tr")).to_have_count(2)
    expect(errors).to_contain_text('No team is called "nowhere".')
    page.screenshot(path=screenshots / "csv-import-errors.png", full_page=True)

    # The page came back in place: its form works again, through the script.
    page.get_by_label("CSV file").set_input_files(csv_file(
        "Title,Team\r\nClaims triage copilot,claims-ops\r\nSpend analytics,claims-ops\r\n"))
    page.get_by_role("button", name="Import").click()

    expect(page).to_have_url(re.compile(r"/initiatives/\?owner=me$"))
    expect(page.get_by_text("Imported 2 initiatives.")).to_be_visible()
    expect(page.get_by_role("link", name="Spend analytics")).to_be_visible()
    expect(page.get_by_role("link", name="Export CSV")).to_have_attribute(
        "href", "/initiatives/export.csv?owner=me")
    page.screenshot(path=screenshots / "csv-imported-list.png")
    assert problems == []


def test_without_javascript_the_form_posts_as_a_page(browser, live_server):
    UserFactory(username="csv-pm", roles=["pm"], password=PASSWORD)
    TeamFactory(name="Claims Operations", slug="claims-ops")
    context = browser.new_context(java_script_enabled=False)
    page = context.new_page()
    sign_in(page, live_server, "csv-pm", PASSWORD)

    page.goto(f"{live_server.url}/initiatives/import/")
    page.get_by_label("CSV file").set_input_files(csv_file("Title,Team\r\nOne,claims-ops\r\n"))
    page.get_by_role("button", name="Import").click()

    expect(page).to_have_url(re.compile(r"/initiatives/\?owner=me$"))
    expect(page.get_by_text("Imported 1 initiative.")).to_be_visible()
    context.close()
