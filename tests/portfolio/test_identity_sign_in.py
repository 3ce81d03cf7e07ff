"""Issue 21's account rules: who the identity provider signs in as whom, with which roles;
who is refused; and the password switch beside single sign-on.

``services.sso_sign_in`` gets the claims a checked ID token carries (the browser journeys
through a real provider are tests/e2e/test_sso.py). The provider here is configured
through ``settings`` as a deployment would be, with a role map in its documented form.
"""

from datetime import timedelta
from functools import partial

import pytest
from django.contrib.auth import SESSION_KEY, get_user_model
from django.contrib.auth.models import Group
from django.test import Client

from conftest import require_postgresql
from portfolio import accounts
from portfolio.identity import services
from portfolio.identity.backends import OIDC_BACKEND, PASSWORD_BACKEND
from portfolio.identity.models import AccountEvent, ExternalIdentity, RolePin
from portfolio.identity.rolemap import parse_role_map
from portfolio.tokens import api_token_create
from tests.factories import FIXED_NOW, UserFactory
from tests.threads import run_together

pytestmark = pytest.mark.django_db

NOW = FIXED_NOW
LATER = FIXED_NOW + timedelta(days=3)
ISSUER = "https://id.example.com"
ROLE_MAP = ("pm=ai-pms,product;reviewer=ai-governance;tpm=tpms;leadership=execs;"
            "staff=portfolio-admins")
PASSWORD = "correct-horse-battery"  # tests.factories.UserFactory's
PAGE = "/initiatives/"
API = "/api/v1/initiatives/"
ROUNDS = 20  # races run behind a barrier, many times, so both are in flight together


@pytest.fixture(autouse=True)
def provider(settings):
    settings.OIDC_ISSUER = ISSUER
    settings.SSO_ENABLED = True
    settings.OIDC_PROVIDER_NAME = "Example ID"
    settings.OIDC_ROLE_MAP = parse_role_map(ROLE_MAP)
    settings.OIDC_DEACTIVATE_GROUPS = ["leavers"]
    settings.PASSWORD_SIGN_IN = True
    settings.PASSWORD_SIGN_IN_USERS = []


def alice(**changes):
    """Alice's claims as the provider sends them; ``changes`` replace or add claims."""
    return {"sub": "00u-alice", "preferred_username": "alice", "email": "alice@example.com",
            "email_verified": True, "given_name": "Alice", "family_name": "Archer",
            "groups": ["ai-pms"], **changes}


def sign_in(claims, *, now=NOW, issuer=ISSUER):
    return services.sso_sign_in(issuer=issuer, claims=claims, now=now, ip="192.0.2.7")


def roles(user) -> set[str]:
    """The roles the account holds, as stored."""
    return services.roles_held(get_user_model().objects.get(pk=user.pk))


def events(user, kind=None):
    found = AccountEvent.objects.filter(user=user).order_by("id")
    return list(found.filter(kind=kind) if kind else found)


def kinds(user) -> list[str]:
    return [event.kind for event in events(user)]


def pin(user, role, *, by=None):
    return RolePin.objects.create(user=user, role=role, pinned_by=by, pinned_at=NOW,
                                  note="Set up by a test.")


# --- Just-in-time accounts --------------------------------------------------------------------

def test_first_sign_in_creates_an_account_from_the_claims():
    user = sign_in(alice())

    user.refresh_from_db()
    assert (user.username, user.email) == ("alice", "alice@example.com")
    assert (user.first_name, user.last_name) == ("Alice", "Archer")
    assert user.is_active
    assert not user.is_staff
    assert not user.has_usable_password()
    identity = ExternalIdentity.objects.get(user=user)
    assert (identity.issuer, identity.subject, identity.groups) == (
        ISSUER, "00u-alice", ["ai-pms"])
    assert identity.first_signed_in_at == identity.last_signed_in_at == NOW
    assert kinds(user) == ["account_created", "roles_changed"]
    created, roles_changed = events(user)
    assert (created.method, created.at, created.ip_address) == ("sso", NOW, "192.0.2.7")
    assert created.details == {"issuer": ISSUER, "subject": "00u-alice"}
    assert roles_changed.details == {"added": ["pm"], "removed": []}


def test_a_name_claim_is_split_when_given_and_family_names_are_missing():
    claims = alice(name="Ada King Lovelace")
    del claims["given_name"], claims["family_name"]

    user = sign_in(claims)

    user.refresh_from_db()
    assert (user.first_name, user.last_name) == ("Ada", "King Lovelace")


def test_a_user_name_already_taken_gets_a_suffix():
    UserFactory(username="alice", email="another.alice@example.com")
    UserFactory(username="Alice-2", email="a-third-alice@example.com")

    user = sign_in(alice())

    assert user.username == "alice-3"
    assert get_user_model().objects.filter(username__iexact="alice").count() == 1


def test_a_returning_person_is_found_by_subject_though_email_and_user_name_changed():
    first = sign_in(alice())

    again = sign_in(alice(preferred_username="alice.baker", email="alice.baker@example.com",
                          family_name="Baker"), now=LATER)

    assert again.pk == first.pk
    again.refresh_from_db()
    assert again.username == "alice"  # a user name, once given, stays
    assert (again.email, again.first_name, again.last_name) == (
        "alice.baker@example.com", "Alice", "Baker")
    identity = ExternalIdentity.objects.get(user=again)
    assert (identity.first_signed_in_at, identity.last_signed_in_at) == (NOW, LATER)
    assert get_user_model().objects.count() == 1
    assert kinds(again).count("account_created") == 1


def test_the_same_subject_at_another_issuer_is_someone_else():
    first = sign_in(alice())

    other = sign_in(alice(), issuer="https://other-id.example.com")

    assert other.pk != first.pk
    assert other.username == "alice-2"


def test_an_existing_local_account_is_linked_when_the_email_is_verified():
    local = UserFactory(username="a.archer", email="Alice@Example.com", first_name="Al")

    user = sign_in(alice())

    assert user.pk == local.pk
    user.refresh_from_db()
    assert (user.username, user.first_name, user.email) == ("a.archer", "Alice",
                                                            "alice@example.com")
    assert ExternalIdentity.objects.get(user=local).subject == "00u-alice"
    assert "account_created" not in kinds(local)
    assert get_user_model().objects.count() == 1


@pytest.mark.parametrize("verified", [False, None, "true"], ids=["false", "absent", "string"])
def test_an_unverified_email_never_links_a_local_account(verified):
    local = UserFactory(username="a.archer", email="alice@example.com")
    claims = alice(email_verified=verified)
    if verified is None:
        del claims["email_verified"]

    user = sign_in(claims)

    assert user.pk != local.pk
    assert user.username == "alice"
    assert not ExternalIdentity.objects.filter(user=local).exists()
    assert kinds(user)[0] == "account_created"


# --- Roles --------------------------------------------------------------------------------

def test_the_roles_are_exactly_those_the_groups_grant():
    local = UserFactory(username="a.archer", email="alice@example.com", roles=["tpm"])

    sign_in(alice(groups=["product", "execs", "coffee-club"]))

    assert roles(local) == {"pm", "leadership"}
    assert events(local, "roles_changed")[-1].details == {
        "added": ["leadership", "pm"], "removed": ["tpm"]}


def test_a_group_removed_at_the_provider_removes_its_role_at_the_next_sign_in():
    user = sign_in(alice(groups=["ai-pms", "ai-governance"]))
    assert roles(user) == {"pm", "reviewer"}

    sign_in(alice(groups=["ai-pms"]), now=LATER)

    assert roles(user) == {"pm"}
    last = events(user, "roles_changed")[-1]
    assert (last.details, last.at, last.method) == (
        {"added": [], "removed": ["reviewer"]}, LATER, "sso")
    assert ExternalIdentity.objects.get(user=user).groups == ["ai-pms"]


def test_a_single_group_claim_given_as_a_string_grants_its_role():
    user = sign_in(alice(groups="ai-governance"))

    assert roles(user) == {"reviewer"}


def test_a_pin_keeps_a_role_the_groups_do_not_grant():
    user = sign_in(alice(groups=["ai-pms", "ai-governance"]))
    pin(user, "reviewer")

    sign_in(alice(groups=["ai-pms"]), now=LATER)

    assert roles(user) == {"pm", "reviewer"}


def test_a_pin_never_removes_a_role_the_groups_grant():
    user = sign_in(alice(groups=["ai-pms"]))
    pin(user, "reviewer")

    sign_in(alice(groups=["ai-pms"]), now=LATER)

    assert roles(user) == {"pm", "reviewer"}


def test_the_staff_group_opens_the_admin_and_leaving_it_closes_it():
    user = sign_in(alice(groups=["portfolio-admins"]))
    user.refresh_from_db()
    assert user.is_staff
    assert roles(user) == {"staff"}

    sign_in(alice(groups=[]), now=LATER)

    user.refresh_from_db()
    assert not user.is_staff
    assert events(user, "roles_changed")[-1].details == {"added": [], "removed": ["staff"]}


def test_a_superuser_keeps_the_admin_whatever_the_groups_say(superuser):
    superuser.email = "alice@example.com"
    superuser.save()

    sign_in(alice(groups=["ai-pms"]))

    superuser.refresh_from_db()
    assert superuser.is_staff
    assert superuser.is_superuser
    assert roles(superuser) == {"pm", "staff"}


def test_django_groups_that_are_not_roles_are_left_alone():
    auditors = Group.objects.create(name="Auditors")
    local = UserFactory(username="a.archer", email="alice@example.com", roles=["reviewer"])
    local.groups.add(auditors)

    sign_in(alice(groups=["ai-pms"]))

    assert set(local.groups.values_list("name", flat=True)) == {"Auditors", "pm"}


def test_no_roles_event_when_the_roles_did_not_change():
    user = sign_in(alice())

    sign_in(alice(), now=LATER)
    sign_in(alice(groups=["ai-pms", "coffee-club"]), now=LATER)

    assert len(events(user, "roles_changed")) == 1


def test_pins_changed_recomputes_a_single_sign_on_account_at_once(staff):
    user = sign_in(alice(groups=["ai-pms"]))
    # Groups changed at the provider since; they count only from the next sign-in.
    pin(user, "reviewer", by=staff)

    services.role_pins_changed(user=user, now=LATER, actor=staff)

    assert roles(user) == {"pm", "reviewer"}
    last = events(user, "roles_changed")[-1]
    assert (last.details, last.method, last.actor) == (
        {"added": ["reviewer"], "removed": []}, "admin", staff)

    RolePin.objects.filter(user=user).delete()
    services.role_pins_changed(user=user, now=LATER, actor=staff)

    assert roles(user) == {"pm"}


def test_pins_changed_removes_roles_the_groups_at_the_last_sign_in_did_not_grant(staff):
    user = sign_in(alice(groups=["ai-pms"]))
    user.groups.add(Group.objects.get_or_create(name="tpm")[0])  # by hand, not the provider

    services.role_pins_changed(user=user, now=LATER, actor=staff)

    assert roles(user) == {"pm"}


def test_pins_changed_keeps_the_hand_set_roles_of_a_local_account(staff):
    local = UserFactory(username="local-lee", roles=["pm", "tpm"])
    pin(local, "reviewer", by=staff)

    services.role_pins_changed(user=local, now=LATER, actor=staff)

    assert roles(local) == {"pm", "tpm", "reviewer"}


# --- Leaving ------------------------------------------------------------------------------

def test_a_member_of_a_deactivate_group_is_refused_and_deactivated():
    user = sign_in(alice())

    with pytest.raises(services.SignInRefused) as refusal:
        sign_in(alice(groups=["ai-pms", "leavers"]), now=LATER)

    assert refusal.value.reason == services.DEACTIVATED_BY_PROVIDER
    user.refresh_from_db()
    assert not user.is_active
    assert roles(user) == {"pm"}  # kept, marked as left
    deactivated = events(user, "deactivated")
    assert [(e.method, e.actor, e.at) for e in deactivated] == [("sso", None, LATER)]
    assert "leavers" in deactivated[0].reason
    failed = events(user, "sign_in_failed")
    assert [(e.method, e.reason) for e in failed] == [("sso", services.DEACTIVATED_BY_PROVIDER)]


def test_someone_in_a_deactivate_group_at_first_sign_in_never_gets_in():
    with pytest.raises(services.SignInRefused):
        sign_in(alice(groups=["leavers"]))

    user = get_user_model().objects.get(username="alice")
    assert not user.is_active
    assert kinds(user) == ["account_created", "deactivated", "sign_in_failed"]


def test_an_account_an_admin_deactivated_stays_deactivated(staff):
    user = sign_in(alice())
    accounts.user_deactivate(user=user, actor=staff, now=NOW)

    with pytest.raises(services.SignInRefused) as refusal:
        sign_in(alice(), now=LATER)

    assert refusal.value.reason == services.ACCOUNT_DEACTIVATED
    user.refresh_from_db()
    assert not user.is_active
    assert kinds(user)[-2:] == ["deactivated", "sign_in_failed"]
    assert "reactivated" not in kinds(user)


def test_an_account_without_a_subject_is_refused():
    with pytest.raises(services.SignInRefused) as refusal:
        sign_in(alice(sub=""))

    assert refusal.value.reason == services.NO_SUBJECT
    assert not get_user_model().objects.exists()


@pytest.mark.parametrize("backend", [PASSWORD_BACKEND, OIDC_BACKEND],
                         ids=["password-session", "sso-session"])
def test_a_deactivated_users_session_and_api_token_stop_on_their_next_request(backend, staff):
    user = UserFactory(username="leaving-pm", roles=["pm"])
    browser = Client()
    browser.force_login(user, backend=backend)
    _token, key = api_token_create(user=user, name="laptop", now=NOW)
    api = Client(HTTP_AUTHORIZATION=f"Bearer {key}")
    assert browser.get(PAGE).status_code == 200
    assert api.get(API).status_code == 200

    accounts.user_deactivate(user=user, actor=staff, now=NOW)

    page = browser.get(PAGE)
    assert page.status_code == 302
    assert page["Location"].startswith("/login/")
    assert api.get(API).status_code == 401


# --- Password sign-in ------------------------------------------------------------------------

def post_login(client, username, password=PASSWORD):
    return client.post("/login/", {"username": username, "password": password})


def signed_in_as(client):
    return client.session.get(SESSION_KEY)


@pytest.fixture
def password_off(settings):
    settings.PASSWORD_SIGN_IN = False
    settings.PASSWORD_SIGN_IN_USERS = ["breakglass"]


@pytest.mark.usefixtures("password_off")
def test_with_password_sign_in_off_a_normal_user_is_sent_to_single_sign_on(client):
    user = UserFactory(username="plain-pm", roles=["pm"])

    response = post_login(client, "plain-pm")

    assert response.status_code == 200
    assert signed_in_as(client) is None
    errors = response.context["form"].non_field_errors()
    assert errors == [services.password_sign_in_refusal()]
    assert "use “Sign in with Example ID”" in errors[0]
    assert "Sign in with Example ID" in response.content.decode()
    failed = AccountEvent.objects.get(kind="sign_in_failed")
    assert (failed.username, failed.method, failed.reason) == (
        "plain-pm", "password", "password sign-in is off")
    assert not events(user, "signed_in")


@pytest.mark.usefixtures("password_off")
def test_with_password_sign_in_off_a_listed_staff_account_still_signs_in(client):
    breakglass = UserFactory(username="breakglass", is_staff=True)

    response = post_login(client, "breakglass")

    assert response.status_code == 302
    assert signed_in_as(client) == str(breakglass.pk)
    assert [e.method for e in events(breakglass, "signed_in")] == ["password"]


@pytest.mark.usefixtures("password_off")
def test_with_password_sign_in_off_a_listed_account_that_is_not_staff_is_refused(client):
    UserFactory(username="breakglass", is_staff=False)

    response = post_login(client, "breakglass")

    assert response.status_code == 200
    assert signed_in_as(client) is None
    assert response.context["form"].non_field_errors()
    assert AccountEvent.objects.filter(kind="sign_in_failed", username="breakglass").exists()


def test_with_password_sign_in_on_everyone_signs_in_with_a_password(client):
    user = UserFactory(username="plain-pm", roles=["pm"])

    response = post_login(client, "plain-pm")

    assert response.status_code == 302
    assert signed_in_as(client) == str(user.pk)
    signed = events(user, "signed_in")
    assert [(e.method, e.ip_address) for e in signed] == [("password", "127.0.0.1")]


def test_a_wrong_password_is_recorded_as_a_failed_sign_in(client):
    UserFactory(username="plain-pm")

    response = post_login(client, "plain-pm", password="not-the-password")

    assert response.status_code == 200
    assert signed_in_as(client) is None
    failed = AccountEvent.objects.get(kind="sign_in_failed")
    assert (failed.username, failed.method) == ("plain-pm", "password")
    assert failed.reason


def test_signing_out_is_recorded(client):
    user = UserFactory(username="plain-pm", roles=["pm"])
    post_login(client, "plain-pm")

    response = client.post("/logout/")

    assert response.status_code == 302
    assert signed_in_as(client) is None
    assert kinds(user) == ["signed_in", "signed_out"]


# --- Two first sign-ins at once ------------------------------------------------------------

@pytest.mark.django_db(transaction=True)
def test_two_first_sign_ins_at_once_end_in_one_account():
    require_postgresql("needs PostgreSQL: SQLite serialises writers, so nothing races")
    for round_ in range(ROUNDS):
        claims = alice(sub=f"00u-racer-{round_}", preferred_username=f"racer-{round_}",
                       email=f"racer-{round_}@example.com")

        first, second = run_together(partial(sign_in, claims), partial(sign_in, claims))

        assert first.pk == second.pk
        assert first.username == f"racer-{round_}"
    assert get_user_model().objects.count() == ROUNDS
    assert AccountEvent.objects.filter(kind="account_created").count() == ROUNDS
