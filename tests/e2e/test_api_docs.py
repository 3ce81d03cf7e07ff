"""Swagger UI at /api/docs/ in real Chromium, under the site's strict Content-Security-Policy
(no 'unsafe-inline'): the operations render and the browser reports no violation."""

import pytest
from playwright.sync_api import expect

from tests.e2e.test_sign_in import sign_in

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

# Recorded from the first script of every document, before the page's own scripts run.
RECORD_VIOLATIONS = """
window.__cspViolations = [];
document.addEventListener("securitypolicyviolation", (event) => {
  window.__cspViolations.push(event.violatedDirective + " " + (event.blockedURI || "inline"));
});
"""


def test_signed_in_user_sees_the_api_operations_without_csp_violations(page, live_server,
                                                                       tpm, screenshots):
    console_errors, page_errors = [], []
    page.on("console", lambda message: message.type == "error"
            and console_errors.append(message.text))
    page.on("pageerror", lambda error: page_errors.append(str(error)))
    page.add_init_script(RECORD_VIOLATIONS)
    sign_in(page, live_server, tpm.username, password="correct-horse-battery")

    response = page.goto(f"{live_server.url}/api/docs/")

    assert "'unsafe-inline'" not in response.headers["content-security-policy"]
    expect(page.get_by_role("heading", name="AI Initiative Portfolio Tracker API")).to_be_visible()
    operation = page.locator(".opblock-summary-path", has_text="/api/v1/initiatives/").first
    expect(operation).to_be_visible()
    expect(page.locator(".opblock-get").first).to_be_visible()
    page.screenshot(path=screenshots / "api-docs.png", full_page=True)

    page.locator(".opblock-summary-path", has_text="/api/v1/teams/").first.click()
    expect(page.get_by_role("button", name="Try it out").first).to_be_visible()

    assert page.evaluate("window.__cspViolations") == []
    assert [text for text in console_errors if "Content Security Policy" in text] == []
    assert page_errors == []
