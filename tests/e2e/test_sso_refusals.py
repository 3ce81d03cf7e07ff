"""Real Chromium against the loopback OpenID provider (tests/oidc): bad answers from the
provider are refused. A spoilt ID token, a replayed sign-in answer or an error from the
provider leaves nobody signed in, creates no account, and is on the account record."""

import re
from urllib.parse import parse_qs, urlencode, urlsplit

import pytest
from django.contrib.auth.models import Group
from playwright.sync_api import expect

from portfolio.identity.models import AccountEvent, ExternalIdentity
from portfolio.roles import Role

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

ALICE = {"alice": {"email": "alice@example.com", "name": "Alice Example",
                   "given_name": "Alice", "family_name": "Example",
                   "groups": ["ai-pms"], "email_verified": True}}
ALREADY_USED = "does not belong to a sign-in started here, or it was already used"


def sign_in_with_provider(page, live_server, login="alice"):
    page.goto(f"{live_server.url}/login/")
    page.get_by_role("link", name="Sign in with Loopback IdP").click()
    page.locator("input[name=login]").fill(login)
    page.locator("input[name=password]").fill("any password")
    page.locator("button[type=submit]").click()


def expect_refused(page, live_server, why):
    """Back on the login page saying why, and nobody signed in."""
    expect(page).to_have_url(re.compile(r"/login/$"))
    expect(page.locator(".messages")).to_contain_text(why)
    page.goto(f"{live_server.url}/")
    expect(page).to_have_url(re.compile(r"/login/\?next=/$"))


@pytest.fixture
def role_groups(transactional_db):
    """The role groups the data migration makes (a transactional test's flush drops them)."""
    for role in Role:
        Group.objects.get_or_create(name=role.value)


def sso_failures():
    return list(AccountEvent.objects.filter(kind="sign_in_failed", method="sso")
                .values_list("reason", flat=True))


@pytest.mark.parametrize(("spoilt", "why"), [
    ("tampered", "its signature does not match its content."),
    ("wrong-audience", "it was issued for another application."),
    ("expired", "it has expired."),
    ("wrong-issuer", "it was issued by another provider."),
    ("wrong-nonce", "it belongs to another sign-in (nonce)."),
])
def test_a_spoilt_id_token_is_refused_and_creates_no_account(page, live_server, sso,
                                                              spoilt, why):
    sso.accounts(ALICE)
    sso.spoil_next_id_token(spoilt)

    sign_in_with_provider(page, live_server)

    expect_refused(page, live_server, f"The provider's ID token was refused: {why}")
    assert ExternalIdentity.objects.count() == 0
    assert sso_failures() == [f"The provider's ID token was refused: {why}"]
    assert not AccountEvent.objects.filter(kind__in=["signed_in", "account_created"]).exists()


def test_a_replayed_sign_in_answer_is_refused_here_and_in_another_browser(page, browser,
                                                                          live_server, sso,
                                                                          role_groups):
    sso.accounts(ALICE)
    callbacks = []
    page.on("request", lambda request: callbacks.append(request.url)
            if "/sso/callback/" in request.url else None)
    sign_in_with_provider(page, live_server)
    expect(page).to_have_url(re.compile(r"/initiatives/\?mine=true$"))
    [callback] = callbacks
    assert set(parse_qs(urlsplit(callback).query)) >= {"code", "state"}

    page.goto(callback)  # still signed in: the answer was used once already
    expect(page.locator(".messages")).to_contain_text(ALREADY_USED)
    page.get_by_role("button", name="Sign out").click()
    expect(page).to_have_url(re.compile(r"/login/"))

    page.goto(callback)

    expect_refused(page, live_server, ALREADY_USED)
    assert sso_failures() == 2 * [
        "This sign-in answer does not belong to a sign-in started here, or it was already "
        "used. Start again with “Sign in with Loopback IdP”."]

    other = browser.new_context()
    try:
        other_page = other.new_page()
        other_page.goto(callback)
        expect_refused(other_page, live_server, ALREADY_USED)
    finally:
        other.close()
    assert len(sso_failures()) == 3
    assert AccountEvent.objects.filter(kind="signed_in").count() == 1


def test_an_error_from_the_provider_shows_its_reason_and_signs_nobody_in(page, live_server,
                                                                         sso):
    sso.accounts(ALICE)
    # Start a sign-in in this browser (its session keeps the state), without going there.
    start = page.request.get(f"{live_server.url}/sso/start/", max_redirects=0)
    assert start.status == 302
    [state] = parse_qs(urlsplit(start.headers["location"]).query)["state"]
    answer = urlencode({"error": "access_denied", "state": state,
                        "error_description": "Alice declined <b>consent</b>"})

    page.goto(f"{live_server.url}/sso/callback/?{answer}")

    expect_refused(page, live_server,
                   "Loopback IdP did not sign you in: Alice declined <b>consent</b>")
    assert ExternalIdentity.objects.count() == 0
    assert sso_failures() == ["Loopback IdP did not sign you in: Alice declined <b>consent</b>"]


def test_an_error_answer_for_no_sign_in_started_here_does_not_show_its_text(page, live_server,
                                                                            sso):
    # A crafted link must not put its words on our login page.
    answer = urlencode({"error": "access_denied", "state": "made-up",
                        "error_description": "Your account is locked: call +1 555 0100"})

    page.goto(f"{live_server.url}/sso/callback/?{answer}")

    expect(page).to_have_url(re.compile(r"/login/$"))
    expect(page.locator(".messages")).to_contain_text(ALREADY_USED)
    expect(page.locator(".messages")).not_to_contain_text("call +1 555 0100")
    assert len(sso_failures()) == 1
