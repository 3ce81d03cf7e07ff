"""Sign-in in the admin: the account record is read there and never written; an admin pins a
role on the user's page (given or taken at once, on the record, with the admin named), and
role groups ticked on the user form are on the record too."""

from datetime import timedelta
from html.parser import HTMLParser

import pytest
from django.contrib.auth.models import Group

from portfolio.identity.models import AccountEvent, AccountEventKind, RolePin
from portfolio.identity.rolemap import parse_role_map
from portfolio.identity.services import (
    account_event_record,
    role_pin_add,
    roles_held,
    sign_in_failed,
    signed_in,
    sso_sign_in,
)
from tests.factories import FIXED_NOW, UserFactory

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("frozen_clock")]

ISSUER = "https://id.example.com"
RECORD = "/admin/portfolio/accountevent/"


@pytest.fixture(autouse=True)
def role_map(settings):
    settings.OIDC_ROLE_MAP = parse_role_map(
        "pm=ai-pms;reviewer=ai-governance;staff=portfolio-admins")


@pytest.fixture
def admin_client(client, superuser):
    client.force_login(superuser)
    return client


def sso_user(username="alice", groups=("ai-pms",)):
    return sso_sign_in(issuer=ISSUER, now=FIXED_NOW - timedelta(days=1), claims={
        "sub": f"sub-{username}", "preferred_username": username,
        "email": f"{username}@example.com", "email_verified": True, "groups": list(groups)})


def user_page(user) -> str:
    return f"/admin/auth/user/{user.pk}/change/"


class _FormReader(HTMLParser):
    """What a browser would post from the page's main form, as it stands."""

    def __init__(self):
        super().__init__()
        self.data: dict[str, list[str]] = {}
        self.in_form = False
        self.select: str | None = None
        self.textarea: str | None = None

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "form" and attrs.get("id", "").endswith("_form"):
            self.in_form = True
        if not self.in_form or "name" not in attrs and tag != "option":
            return
        if tag == "input":
            if attrs.get("type") in ("submit", "button", "file"):
                return
            if attrs.get("type") in ("checkbox", "radio") and "checked" not in attrs:
                return
            checkable = attrs.get("type") in ("checkbox", "radio")
            self.data.setdefault(attrs["name"], []).append(
                attrs.get("value") or ("on" if checkable else ""))
        elif tag == "select":
            self.select = attrs["name"]
            self.data.setdefault(self.select, [])
        elif tag == "option" and self.select and "selected" in attrs:
            self.data[self.select].append(attrs.get("value", ""))
        elif tag == "textarea":
            self.textarea = attrs["name"]
            self.data[self.textarea] = [""]

    def handle_data(self, data):
        if self.textarea:
            self.data[self.textarea][0] += data

    def handle_endtag(self, tag):
        if tag == "form":
            self.in_form = False
        elif tag == "select":
            self.select = None
        elif tag == "textarea":
            self.textarea = None


def posted_form(client, url) -> dict:
    response = client.get(url)
    assert response.status_code == 200
    reader = _FormReader()
    reader.feed(response.content.decode())
    return {name: values if len(values) != 1 else values[0]
            for name, values in reader.data.items()}


# --- The account record -----------------------------------------------------------------------

def test_the_account_record_lists_sign_ins_and_failures_with_their_reasons(admin_client, pm):
    signed_in(user=pm, method="password", ip="203.0.113.7", now=FIXED_NOW)
    sign_in_failed(method="sso", reason="The provider's ID token has expired.",
                   username="mallory", ip="198.51.100.2", now=FIXED_NOW)

    page = admin_client.get(RECORD).content.decode()

    assert "owner-pm" in page
    assert "203.0.113.7" in page
    assert "Signed in" in page
    assert "mallory" in page
    assert "Sign-in failed" in page
    assert "The provider&#x27;s ID token has expired." in page
    assert "Account record: sign-ins, failures, sign-outs and role changes" in page


def test_an_events_page_shows_its_details_as_words_not_json(admin_client, pm, superuser):
    event = account_event_record(kind=AccountEventKind.ROLES_CHANGED, now=FIXED_NOW, user=pm,
                                 method="admin", actor=superuser,
                                 details={"added": ["reviewer", "tpm"], "removed": []})

    page = admin_client.get(f"{RECORD}{event.pk}/change/").content.decode()

    assert "<dt>added</dt><dd>reviewer, tpm</dd>" in page
    assert "<dt>removed</dt><dd>none</dd>" in page
    assert "root-admin" in page
    assert "Save" not in page  # read, never changed


def test_the_account_record_cannot_be_added_to_changed_or_deleted(admin_client, pm):
    event = account_event_record(kind=AccountEventKind.SIGNED_IN, now=FIXED_NOW, user=pm,
                                 method="password")

    assert admin_client.get(f"{RECORD}add/").status_code == 403
    assert admin_client.get(f"{RECORD}{event.pk}/delete/").status_code == 403
    admin_client.post(f"{RECORD}{event.pk}/change/", {"reason": "tidied", "kind": "signed_out"})
    admin_client.post(RECORD, {"action": "delete_selected", "_selected_action": [event.pk]})

    event.refresh_from_db()
    assert (event.kind, event.reason) == ("signed_in", "")


@pytest.mark.parametrize("events", [5, 40])
def test_the_account_record_list_reads_a_fixed_number_of_queries(
        admin_client, superuser, events, django_assert_num_queries):
    for number in range(events):
        account_event_record(kind=AccountEventKind.ROLES_CHANGED, method="admin",
                             user=UserFactory(username=f"person-{number}"), actor=superuser,
                             now=FIXED_NOW - timedelta(minutes=number))

    # The session; its user with their role groups (the navigation reads them); the count,
    # filtered and not; the page of events with their user and actor joined; the date hierarchy's
    # first and last day, and its days.
    with django_assert_num_queries(7):
        response = admin_client.get(RECORD)

    assert response.status_code == 200


# --- Pins and roles on the user's page ----------------------------------------------------

def test_pinning_a_role_gives_it_at_once_to_an_account_that_signs_in_by_sso(admin_client,
                                                                         superuser):
    alice = sso_user()
    form = posted_form(admin_client, user_page(alice))
    form.update({"role_pins-TOTAL_FORMS": "1", "role_pins-0-role": "reviewer",
                 "role_pins-0-note": "interim reviewer until the group exists",
                 "role_pins-0-user": str(alice.pk)})

    response = admin_client.post(user_page(alice), form)

    assert response.status_code == 302
    assert roles_held(alice) == {"pm", "reviewer"}
    pin = RolePin.objects.get(user=alice)
    assert (pin.pinned_by, pin.pinned_at) == (superuser, FIXED_NOW)
    change = AccountEvent.objects.filter(user=alice, kind="roles_changed").first()
    assert (change.actor, change.method, change.details) == (
        superuser, "admin", {"added": ["reviewer"], "removed": []})


def test_unpinning_takes_the_role_away_unless_the_providers_groups_grant_it(admin_client,
                                                                           superuser):
    alice = sso_user(groups=["ai-pms"])
    role_pin_add(user=alice, role="reviewer", note="", actor=superuser, now=FIXED_NOW)
    role_pin_add(user=alice, role="pm", note="", actor=superuser, now=FIXED_NOW)
    pins = {pin.role: pin for pin in RolePin.objects.filter(user=alice)}
    form = posted_form(admin_client, user_page(alice))
    for index in range(2):  # both removed
        form[f"role_pins-{index}-DELETE"] = "on"

    admin_client.post(user_page(alice), form)

    assert not RolePin.objects.filter(pk__in=[pin.pk for pin in pins.values()]).exists()
    assert roles_held(alice) == {"pm"}  # the provider's group still grants it
    change = AccountEvent.objects.filter(user=alice, kind="roles_changed").first()
    assert (change.actor, change.details) == (superuser, {"added": [], "removed": ["reviewer"]})


def test_ticking_role_groups_on_the_user_form_is_on_the_account_record(admin_client, superuser):
    bob = UserFactory(username="bob", roles=["pm"])
    form = posted_form(admin_client, user_page(bob))
    form["groups"] = [str(Group.objects.get(name="reviewer").pk)]
    form["is_staff"] = "on"

    response = admin_client.post(user_page(bob), form)

    assert response.status_code == 302
    bob.refresh_from_db()
    assert roles_held(bob) == {"reviewer", "staff"}
    change = AccountEvent.objects.get(user=bob, kind="roles_changed")
    assert (change.actor, change.method, change.details) == (
        superuser, "admin", {"added": ["reviewer", "staff"], "removed": ["pm"]})


def test_saving_the_user_form_without_touching_roles_records_nothing(admin_client):
    bob = UserFactory(username="bob", roles=["pm"])
    form = posted_form(admin_client, user_page(bob))
    form["first_name"] = "Bobby"

    admin_client.post(user_page(bob), form)

    assert not AccountEvent.objects.filter(user=bob, kind="roles_changed").exists()


def test_the_user_page_shows_the_identity_the_pins_the_record_and_how_roles_are_decided(
        admin_client, superuser):
    alice = sso_user(groups=["ai-pms", "everyone"])
    role_pin_add(user=alice, role="reviewer", note="covering for Sam", actor=superuser,
                 now=FIXED_NOW)

    page = admin_client.get(user_page(alice)).content.decode()

    assert ISSUER in page
    assert "sub-alice" in page
    assert "ai-pms, everyone" in page
    assert "covering for Sam" in page
    assert "Account created at first sign-in" in page
    assert "Roles changed" in page
    assert "added: reviewer" in page
    assert f"{RECORD}?user__id__exact={alice.pk}" in page
    assert "replaced at its next sign-in" in page


def test_the_user_list_says_who_signs_in_by_sso(admin_client, pm):
    sso_user()

    response = admin_client.get("/admin/auth/user/")

    rows = {row.username: row for row in response.context["cl"].result_list}
    assert hasattr(rows["alice"], "external_identity")
    assert not hasattr(rows["owner-pm"], "external_identity")
    assert "single sign-on" in response.content.decode().lower()
