"""CSV import in real Chromium: the upload script, its progress bar, errors in place, and
possible duplicates listed for the importer to drop or import anyway."""

import re

import pytest
from axe_playwright_python.sync_playwright import Axe
from playwright.sync_api import expect

from portfolio.models import Initiative
from portfolio.similarity import index_initiatives
from tests.e2e.test_sign_in import sign_in
from tests.factories import InitiativeFactory, TeamFactory, UserFactory

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


# --- Possible duplicates (issue 17, item 4) --------------------------------------------------

DEMO_TWIN = ("Support ticket triage and routing",
             "Classify inbound tickets by intent, language and urgency and route them to the "
             "right queue, cutting first-response time and misroutes.")
PLANTED_FILE = (
    "Title,Summary,Team\r\n"
    "Canteen menu planner,Weekly canteen menus that follow allergen rules,customer-operations\r\n"
    f'{DEMO_TWIN[0]},"{DEMO_TWIN[1]}",customer-operations\r\n'
    "Parking bay booking,Book a parking bay at the office the day before,customer-operations\r\n"
)
AXE_TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]


def serious_axe_violations(page) -> list[str]:
    results = Axe().run(page, options={"runOnly": {"type": "tag", "values": AXE_TAGS},
                                       "resultTypes": ["violations"]})
    return [f'{violation["id"]}: {violation["help"]}'
            for violation in results.response["violations"]
            if violation["impact"] in ("serious", "critical")]


def test_a_planted_duplicate_of_a_demo_initiative_is_flagged_dropped_and_the_rest_imports(
        page, live_server, demo_portfolio, browser, screenshots):
    demo = Initiative.objects.get(title=DEMO_TWIN[0])
    problems = []   # script errors, and anything the Content Security Policy refused
    page.on("pageerror", lambda error: problems.append(str(error)))
    page.on("console", lambda message: "Content Security Policy" in message.text
            and problems.append(message.text))
    page.set_viewport_size({"width": 1440, "height": 900})
    sign_in(page, live_server, "pm")
    page.goto(f"{live_server.url}/initiatives/import/")

    page.get_by_label("CSV file").set_input_files(csv_file(PLANTED_FILE))
    page.get_by_role("button", name="Import").click()

    review = page.get_by_role("region", name=re.compile("Nothing is imported yet"))
    expect(review).to_contain_text("1 row may duplicate existing work")
    flagged = review.locator("li.suspect")
    expect(flagged).to_have_count(1)
    expect(flagged).to_contain_text(f"Row 3: {DEMO_TWIN[0]}")
    expect(flagged.get_by_role("link", name=DEMO_TWIN[0])).to_have_attribute(
        "href", demo.get_absolute_url())
    expect(flagged).to_contain_text(
        'Why: Both titles mention "triage", "routing", "support" and "ticket"')
    expect(flagged).to_contain_text("Probably the same idea")
    expect(page.get_by_label("The same CSV file")).to_be_hidden()   # the script sends it again
    assert Initiative.objects.count() == 70   # nothing saved before the decision
    page.screenshot(path=screenshots / "csv-import-duplicates-1440.png", full_page=True)
    page.set_viewport_size({"width": 390, "height": 844})
    page.screenshot(path=screenshots / "csv-import-duplicates-390.png", full_page=True)
    review.screenshot(path=screenshots / "csv-import-duplicates-390-report.png")
    assert page.evaluate("document.documentElement.scrollWidth") <= 390

    page.get_by_role("group", name="Row 3: import or drop?").get_by_label("Drop this row").check()
    page.get_by_role("button", name="Import with these choices").click()

    expect(page).to_have_url(re.compile(r"/initiatives/\?owner=me$"))
    expect(page.get_by_text("Imported 2 initiatives. Dropped row 3 (a possible duplicate).")
           ).to_be_visible()
    expect(page.get_by_role("link", name="Canteen menu planner")).to_be_visible()
    assert Initiative.objects.filter(title=DEMO_TWIN[0]).count() == 1
    assert Initiative.objects.count() == 72
    assert problems == []

    # axe-core on the report (it is a script: the CSP is bypassed for it alone).
    context = browser.new_context(bypass_csp=True)
    checker = context.new_page()
    sign_in(checker, live_server, "pm2")
    checker.goto(f"{live_server.url}/initiatives/import/")
    checker.get_by_label("CSV file").set_input_files(csv_file(PLANTED_FILE))
    checker.get_by_role("button", name="Import").click()
    expect(checker.locator("li.suspect")).to_have_count(3)   # now every row is a copy
    assert serious_axe_violations(checker) == []
    context.close()


def test_without_javascript_the_importer_chooses_the_file_again_to_confirm(browser, live_server):
    UserFactory(username="csv-pm", roles=["pm"], password=PASSWORD)
    team = TeamFactory(name="Claims Operations", slug="claims-ops")
    InitiativeFactory(title="Claims triage copilot", summary="Route incoming claims to adjusters.",
                      team=team)
    index_initiatives(Initiative.objects.all())
    context = browser.new_context(java_script_enabled=False)
    page = context.new_page()
    sign_in(page, live_server, "csv-pm", PASSWORD)
    data = csv_file("Title,Summary,Team\r\nClaims triage copilot,Route incoming claims to "
                    "adjusters.,claims-ops\r\nSpend analytics,Where the money goes.,claims-ops\r\n")

    page.goto(f"{live_server.url}/initiatives/import/")
    page.get_by_label("CSV file").set_input_files(data)
    page.get_by_role("button", name="Import").click()
    expect(page.locator("li.suspect")).to_contain_text("Row 2: Claims triage copilot")
    page.get_by_role("group", name="Row 2: import or drop?").get_by_label(
        "Import anyway").check()
    page.get_by_label("The same CSV file").set_input_files(data)
    page.get_by_role("button", name="Import with these choices").click()

    expect(page).to_have_url(re.compile(r"/initiatives/\?owner=me$"))
    expect(page.get_by_text("Imported 2 initiatives.")).to_be_visible()
    assert Initiative.objects.filter(title="Claims triage copilot").count() == 2
    context.close()
