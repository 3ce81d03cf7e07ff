"""Single sign-on in real Chromium (issue 21): through a real OpenID provider on loopback
(``tests/oidc/provider.mjs``), from the "Sign in with …" button to the role's home page,
and the journeys around it: roles that follow the provider's groups, leavers, sign-out at
the provider, password sign-in switched off, and the idle timeout.

Each new browser context starts without a session at the provider, so its sign-in asks
for the provider's login form again.
"""

import re
from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.urls import reverse
from playwright.sync_api import expect

from portfolio import accounts
from portfolio.identity.models import AccountEvent, AccountEventKind, ExternalIdentity
from portfolio.roles import Role
from tests.factories import ADMIN_PERMISSIONS, UserFactory

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

PROVIDER_BUTTON = "Sign in with Loopback IdP"
PASSWORD = "correct-horse-battery"  # UserFactory's
DESKTOP = {"width": 1280, "height": 900}
PHONE = {"width": 390, "height": 844}


@pytest.fixture(autouse=True)
def role_groups(transactional_db):
    """The role groups the data migration makes (a transactional test's flush drops them)."""
    for role in Role:
        Group.objects.get_or_create(name=role.value)


def person(login, *, groups, first="Alice", last="Archer"):
    """One account at the provider, as ``sso.accounts`` takes it."""
    return {login: {"email": f"{login}@example.org", "email_verified": True,
                    "name": f"{first} {last}", "given_name": first, "family_name": last,
                    "groups": groups}}


def sign_in_at_provider(page, live_server, login):
    """From the login page, through the provider's own login form, back to the product."""
    page.goto(f"{live_server.url}/login/")
    page.get_by_role("link", name=PROVIDER_BUTTON).click()
    page.locator("input[name=login]").fill(login)
    page.locator("input[name=password]").fill("any password will do")
    page.locator("button[type=submit]").click()


def sign_in_with_password(page, username, password=PASSWORD):
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Sign in", exact=True).click()


def shoot(page, screenshots, name):
    """The current page at phone and at desktop width."""
    for label, size in (("390", PHONE), ("desktop", DESKTOP)):
        page.set_viewport_size(size)
        page.screenshot(path=screenshots / f"{name}-{label}.png", full_page=True)


def test_pm_signs_in_through_the_provider_and_gets_an_account_from_the_claims(
        page, live_server, sso, screenshots):
    sso.accounts(person("alice", groups=["ai-pms"], first="Alice", last="Archer"))
    page.goto(f"{live_server.url}/login/")
    shoot(page, screenshots, "login-sso")

    sign_in_at_provider(page, live_server, "alice")

    expect(page).to_have_url(re.compile(r"/initiatives/\?mine=true$"))
    expect(page.get_by_text("Product manager")).to_be_visible()
    user = get_user_model().objects.get(email="alice@example.org")
    assert (user.first_name, user.last_name) == ("Alice", "Archer")
    assert set(user.groups.values_list("name", flat=True)) == {"pm"}
    assert ExternalIdentity.objects.filter(user=user, issuer=sso.issuer,
                                           subject="alice").exists()


def test_person_whose_groups_grant_no_role_lands_on_the_no_role_page(page, live_server, sso):
    sso.accounts(person("nobody", groups=["marketing"]))

    sign_in_at_provider(page, live_server, "nobody")

    expect(page).to_have_url(re.compile(r"/no-role/$"))
    expect(page.get_by_role("heading", name="Your account has no role yet")).to_be_visible()


def test_new_groups_at_the_provider_change_the_role_at_the_next_sign_in(
        page, new_context, live_server, sso):
    sso.accounts(person("alice", groups=["ai-pms"]))
    sign_in_at_provider(page, live_server, "alice")
    expect(page.get_by_text("Product manager")).to_be_visible()

    sso.accounts(person("alice", groups=["ai-governance"]))
    later = new_context().new_page()
    sign_in_at_provider(later, live_server, "alice")

    expect(later).to_have_url(re.compile(re.escape(reverse("governance:review-queue")) + "$"))
    expect(later.get_by_text("Governance reviewer")).to_be_visible()
    expect(later.get_by_text("Product manager")).to_have_count(0)
    user = get_user_model().objects.get(email="alice@example.org")
    assert set(user.groups.values_list("name", flat=True)) == {"reviewer"}
    change = AccountEvent.objects.filter(user=user, kind=AccountEventKind.ROLES_CHANGED).first()
    assert change.details == {"added": ["reviewer"], "removed": ["pm"]}


def test_leaver_is_refused_deactivated_and_signed_out_of_earlier_sessions(
        page, new_context, live_server, sso):
    sso.accounts(person("bob", groups=["ai-pms"], first="Bob", last="Baker"))
    sign_in_at_provider(page, live_server, "bob")
    expect(page.get_by_text("Product manager")).to_be_visible()

    sso.accounts(person("bob", groups=["ai-pms", "leavers"], first="Bob", last="Baker"))
    later = new_context().new_page()
    sign_in_at_provider(later, live_server, "bob")

    expect(later).to_have_url(re.compile(r"/login/$"))
    expect(later.get_by_text("switched off, so it is deactivated here too")).to_be_visible()
    expect(later.get_by_role("button", name="Sign out")).to_have_count(0)
    assert get_user_model().objects.get(email="bob@example.org").is_active is False

    page.goto(f"{live_server.url}/initiatives/")
    expect(page).to_have_url(re.compile(r"/login/\?next="))
    expect(page.get_by_role("button", name="Sign out")).to_have_count(0)


def test_account_an_admin_deactivated_is_refused_at_single_sign_on(page, live_server, sso):
    admin = UserFactory(username="ops-admin", is_staff=True, permissions=ADMIN_PERMISSIONS)
    # The provider vouches for this address, so the sign-in finds this account.
    carol = UserFactory(username="carol", email="carol@example.org", roles=["pm"])
    accounts.user_deactivate(user=carol, actor=admin, now=datetime.now(UTC),
                             reason="left the company")
    sso.accounts(person("carol", groups=["ai-pms"], first="Carol", last="Cole"))

    sign_in_at_provider(page, live_server, "carol")

    expect(page).to_have_url(re.compile(r"/login/$"))
    expect(page.get_by_text("This account is deactivated here")).to_be_visible()
    expect(page.get_by_role("button", name="Sign out")).to_have_count(0)
    carol.refresh_from_db()
    assert carol.is_active is False


def test_signing_out_can_end_the_provider_session_too(page, live_server, sso):
    sso.accounts(person("alice", groups=["ai-pms"]))
    sign_in_at_provider(page, live_server, "alice")
    expect(page.get_by_text("Product manager")).to_be_visible()

    page.get_by_role("button", name="Sign out").click()
    expect(page).to_have_url(re.compile(r"/login/$"))
    page.get_by_role("link", name="sign out there too").click()
    expect(page).to_have_url(re.compile(r"^" + re.escape(sso.issuer)))
    page.get_by_role("button", name="Yes, sign me out").click()

    expect(page).to_have_url(re.compile(r"/login/"))
    expect(page.get_by_role("link", name="sign out there too")).to_have_count(0)
    page.get_by_role("link", name=PROVIDER_BUTTON).click()
    expect(page.locator("input[name=login]")).to_be_visible()


def test_with_password_sign_in_off_only_break_glass_admins_use_a_password(
        page, live_server, sso, settings, screenshots):
    settings.PASSWORD_SIGN_IN = False
    settings.PASSWORD_SIGN_IN_USERS = ["breakglass"]
    UserFactory(username="pat", roles=["pm"])
    UserFactory(username="breakglass", is_staff=True, permissions=ADMIN_PERMISSIONS)
    page.goto(f"{live_server.url}/login/")
    shoot(page, screenshots, "login-password-off")
    page.set_viewport_size(DESKTOP)

    page.get_by_text("Administrator sign-in with a password (break-glass)").click()
    sign_in_with_password(page, "pat")

    expect(page).to_have_url(re.compile(r"/login/$"))
    expect(page.get_by_role("alert")).to_contain_text(f"use “{PROVIDER_BUTTON}”")
    shoot(page, screenshots, "login-password-off-refused")

    sign_in_with_password(page, "breakglass")

    expect(page).to_have_url(re.compile(r"/admin/$"))
    expect(page.get_by_role("button", name=re.compile("Log out|Sign out"))).to_be_visible()


def test_idle_session_ends_with_a_message_at_the_next_visit(page, live_server, settings):
    settings.SESSION_IDLE_MINUTES = 30
    UserFactory(username="pat", roles=["pm"])
    page.goto(f"{live_server.url}/login/")
    sign_in_with_password(page, "pat")
    expect(page.get_by_text("Product manager")).to_be_visible()
    start = datetime.now(UTC)

    with time_machine.travel(start + timedelta(minutes=29)):
        page.goto(f"{live_server.url}/initiatives/")
        expect(page.get_by_text("Product manager")).to_be_visible()
    with time_machine.travel(start + timedelta(minutes=29 + 31)):
        page.goto(f"{live_server.url}/initiatives/")

    expect(page).to_have_url(re.compile(r"/login/"))
    expect(page.get_by_text("You were signed out after 30 minutes without activity")
           ).to_be_visible()
