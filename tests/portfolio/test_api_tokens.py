"""Personal API tokens: each reader creates and revokes their own on
/account/tokens/; a key is shown once, only its hash is kept, and ``ApiTokenAuthentication``
signs API requests in with it until it is revoked.

Services get ``now`` passed in; the pages run with time frozen at ``NOW``.
"""

import hashlib
from datetime import timedelta

import pytest
from rest_framework.exceptions import AuthenticationFailed
from rest_framework.request import Request
from rest_framework.test import APIRequestFactory

from portfolio.api.auth import ApiTokenAuthentication, ApiTokenScheme
from portfolio.exceptions import DomainError
from portfolio.models import ApiToken
from portfolio.tokens import (
    MAX_ACTIVE_TOKENS,
    NAME_REQUIRED,
    NOT_YOUR_TOKEN,
    TOO_MANY_TOKENS,
    api_token_authenticate,
    api_token_create,
    api_token_revoke,
)
from tests.factories import FIXED_NOW

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("frozen_clock")]

NOW = FIXED_NOW
PAGE_URL = "/account/tokens/"


def revoke_url(token):
    return f"/account/tokens/{token.pk}/revoke/"


@pytest.fixture(autouse=True)
def utc(settings):
    settings.TIME_ZONE = "UTC"


def api_request(authorization=None, *, method="get", csrf_checks=False):
    """A DRF request as the API views receive it, with an optional Authorization header."""
    factory = APIRequestFactory(enforce_csrf_checks=csrf_checks)
    headers = {"HTTP_AUTHORIZATION": authorization} if authorization is not None else {}
    return Request(getattr(factory, method)("/api/v1/initiatives/", **headers))


def authenticate(authorization, **kwargs):
    return ApiTokenAuthentication().authenticate(api_request(authorization, **kwargs))


def state(token):
    token.refresh_from_db()
    return token.revoked_at, token.last_used_at, token.name


# --- Creating a token --------------------------------------------------------------------------

def test_creating_a_token_shows_its_key_once_and_stores_only_its_hash(client, pm):
    client.force_login(pm)

    created = client.post(PAGE_URL, {"name": "Quarterly report script"})

    token = ApiToken.objects.get(user=pm)
    key = created.context["key"]
    assert created.status_code == 200
    assert "no-store" in created["Cache-Control"]
    assert key.startswith("pt_")
    assert len(key) == 46  # "pt_" and 32 random bytes, URL-safe base64
    assert key in created.content.decode()
    assert "it will not be shown again" in created.content.decode()
    assert token.name == "Quarterly report script"
    assert token.key_hash == hashlib.sha256(key.encode()).hexdigest()
    assert token.key_prefix == key[:8]
    assert token.created_at == NOW
    stored = [str(getattr(token, field.attname)) for field in ApiToken._meta.concrete_fields]
    assert not any(key in value for value in stored)
    assert key not in client.get(PAGE_URL).content.decode()


def test_the_page_lists_only_the_users_own_tokens(client, pm, other_pm):
    api_token_create(user=pm, name="Mine", now=NOW)
    api_token_create(user=other_pm, name="Someone else's", now=NOW)
    client.force_login(pm)

    page = client.get(PAGE_URL)

    assert [token.name for token in page.context["tokens"]] == ["Mine"]
    assert "Someone else" not in page.content.decode()


def test_the_list_page_reads_a_fixed_number_of_queries(client, pm, django_assert_num_queries):
    for number in range(5):
        token, _ = api_token_create(user=pm, name=f"Script {number}", now=NOW)
        if number % 2:
            api_token_revoke(token=token, actor=pm, now=NOW)
    client.force_login(pm)

    # 1 session, 2 the user with their roles (cached for the request), 3 the tokens.
    with django_assert_num_queries(3):
        page = client.get(PAGE_URL)

    assert page.status_code == 200
    assert len(page.context["tokens"]) == 5


@pytest.mark.parametrize("persona", ["pm", "reviewer", "tpm", "leader", "staff"])
def test_every_reader_may_hold_tokens_and_sees_the_link(client, request, persona):
    user = request.getfixturevalue(persona)
    client.force_login(user)

    page = client.get(PAGE_URL)
    created = client.post(PAGE_URL, {"name": "CLI"})

    assert page.status_code == 200
    assert ("API tokens", PAGE_URL) in page.context["nav_items"]
    assert created.status_code == 200
    assert ApiToken.objects.filter(user=user).count() == 1


def test_a_blank_name_is_a_field_error_and_creates_nothing(client, pm):
    client.force_login(pm)

    response = client.post(PAGE_URL, {"name": "   "})

    assert response.status_code == 400
    assert response.context["form"].errors == {"name": [NAME_REQUIRED]}
    assert response.context["key"] is None
    assert not ApiToken.objects.exists()


@pytest.mark.parametrize(("name", "message"), [
    ("  ", NAME_REQUIRED),
    ("x" * 101, "A token's name is at most 100 characters."),
])
def test_the_service_refuses_a_blank_or_too_long_name(pm, name, message):
    with pytest.raises(DomainError) as refused:
        api_token_create(user=pm, name=name, now=NOW)

    assert (refused.value.message, refused.value.field) == (message, "name")
    assert not ApiToken.objects.exists()


def test_a_user_holds_at_most_twenty_active_tokens(client, pm):
    tokens = [api_token_create(user=pm, name=f"Script {n}", now=NOW)[0]
              for n in range(MAX_ACTIVE_TOKENS)]
    client.force_login(pm)

    refused = client.post(PAGE_URL, {"name": "One too many"})

    assert refused.status_code == 400
    assert refused.context["form"].errors == {
        "name": [TOO_MANY_TOKENS.format(limit=MAX_ACTIVE_TOKENS)]}
    assert refused.context["key"] is None
    assert ApiToken.objects.filter(user=pm).count() == MAX_ACTIVE_TOKENS

    api_token_revoke(token=tokens[0], actor=pm, now=NOW)
    accepted = client.post(PAGE_URL, {"name": "One too many"})

    assert accepted.status_code == 200
    assert ApiToken.objects.filter(user=pm, revoked_at__isnull=True).count() == MAX_ACTIVE_TOKENS


# --- Who may use the page ----------------------------------------------------------------------

def test_outsiders_get_not_found_and_create_nothing(client, outsider, pm):
    token, _ = api_token_create(user=pm, name="Mine", now=NOW)
    client.force_login(outsider)

    assert client.get(PAGE_URL).status_code == 404
    assert client.post(PAGE_URL, {"name": "Sneaky"}).status_code == 404
    assert client.post(revoke_url(token)).status_code == 404
    assert list(ApiToken.objects.values_list("name", "revoked_at")) == [("Mine", None)]


def test_anonymous_visitors_are_sent_to_sign_in(client):
    response = client.get(PAGE_URL)

    assert response.status_code == 302
    assert response["Location"].startswith("/login/")


# --- Revoking ----------------------------------------------------------------------------------

def test_revoking_a_token_keeps_it_listed_as_revoked(client, pm):
    token, key = api_token_create(user=pm, name="Old laptop", now=NOW - timedelta(days=3))
    client.force_login(pm)

    response = client.post(revoke_url(token), follow=True)

    assert response.redirect_chain == [(PAGE_URL, 302)]
    assert state(token)[0] == NOW
    assert "Token “Old laptop” revoked" in response.content.decode()
    assert [(t.name, t.is_active) for t in response.context["tokens"]] == [("Old laptop", False)]
    assert api_token_authenticate(key=key, now=NOW) is None


def test_revoking_twice_changes_nothing(client, pm):
    token, _ = api_token_create(user=pm, name="Old laptop", now=NOW - timedelta(days=3))
    api_token_revoke(token=token, actor=pm, now=NOW - timedelta(days=1))
    client.force_login(pm)

    response = client.post(revoke_url(token))

    assert response.status_code == 302
    assert state(token)[0] == NOW - timedelta(days=1)


def test_revoking_someone_elses_token_is_not_found_and_changes_nothing(client, pm, other_pm):
    token, key = api_token_create(user=other_pm, name="Theirs", now=NOW)
    client.force_login(pm)

    response = client.post(revoke_url(token))

    assert response.status_code == 404
    assert state(token) == (None, None, "Theirs")
    assert api_token_authenticate(key=key, now=NOW) is not None


def test_the_service_lets_only_the_owner_revoke(pm, other_pm, staff):
    token, _ = api_token_create(user=other_pm, name="Theirs", now=NOW)

    for actor in (pm, staff):
        with pytest.raises(DomainError, match=NOT_YOUR_TOKEN):
            api_token_revoke(token=token, actor=actor, now=NOW)

    assert state(token)[0] is None


def test_revoking_is_a_post(client, pm):
    token, _ = api_token_create(user=pm, name="Mine", now=NOW)
    client.force_login(pm)

    assert client.get(revoke_url(token)).status_code == 405
    assert state(token)[0] is None


# --- Authenticating API requests ---------------------------------------------------------------

@pytest.mark.parametrize("scheme", ["Bearer", "bearer", "Token"])
def test_the_key_authenticates_an_api_request_as_its_user(pm, scheme):
    token, key = api_token_create(user=pm, name="CLI", now=NOW)

    user, auth = authenticate(f"{scheme} {key}")

    assert user == pm
    assert auth == token


def test_a_token_request_needs_no_csrf_token(pm):
    _, key = api_token_create(user=pm, name="CLI", now=NOW)

    user, _ = authenticate(f"Bearer {key}", method="post", csrf_checks=True)

    assert user == pm


@pytest.mark.parametrize("case", ["revoked", "unknown", "inactive user", "not ascii"])
def test_revoked_unknown_and_deactivated_users_keys_are_refused(pm, case):
    token, key = api_token_create(user=pm, name="CLI", now=NOW)
    if case == "revoked":
        api_token_revoke(token=token, actor=pm, now=NOW)
    elif case == "unknown":
        key = key[:-4] + ("AAAA" if not key.endswith("AAAA") else "BBBB")
    elif case == "inactive user":
        pm.is_active = False
        pm.save(update_fields=["is_active"])
    else:
        key = key[:-1] + "é"

    with pytest.raises(AuthenticationFailed, match="Invalid or revoked token."):
        authenticate(f"Bearer {key}")

    assert state(token)[1] is None


@pytest.mark.parametrize("header", [None, "", "Basic dXNlcjpwYXNz", "Digest abc"])
def test_requests_without_a_token_fall_through_to_session_auth(header):
    assert authenticate(header) is None


@pytest.mark.parametrize("header", ["Bearer", "Bearer one two"])
def test_a_malformed_token_header_is_refused(header):
    with pytest.raises(AuthenticationFailed, match="Malformed Authorization header"):
        authenticate(header)


def test_unauthenticated_api_requests_are_challenged_for_a_bearer_token():
    assert ApiTokenAuthentication().authenticate_header(api_request()) == 'Bearer realm="api"'


def test_the_schema_describes_tokens_as_http_bearer():
    definition = ApiTokenScheme(ApiTokenAuthentication).get_security_definition(None)

    assert ApiTokenScheme.name == "tokenAuth"
    assert (definition["type"], definition["scheme"]) == ("http", "bearer")


def test_last_used_is_recorded_at_most_once_a_minute(pm, django_assert_num_queries):
    token, key = api_token_create(user=pm, name="CLI", now=NOW)

    # 1 the token with its user, 2 the conditional UPDATE of last_used_at.
    with django_assert_num_queries(2):
        assert api_token_authenticate(key=key, now=NOW).last_used_at == NOW
    # Within the minute: only the read.
    with django_assert_num_queries(1):
        api_token_authenticate(key=key, now=NOW + timedelta(seconds=59))
    assert state(token)[1] == NOW

    api_token_authenticate(key=key, now=NOW + timedelta(seconds=61))

    assert state(token)[1] == NOW + timedelta(seconds=61)


# --- The admin ---------------------------------------------------------------------------------

def test_the_admin_lists_tokens_read_only_without_their_hash(client, pm, superuser):
    token, key = api_token_create(user=pm, name="CLI", now=NOW)
    client.force_login(superuser)

    listing = client.get("/admin/portfolio/apitoken/").content.decode()
    detail = client.get(f"/admin/portfolio/apitoken/{token.pk}/change/")

    assert "CLI" in listing
    assert token.key_prefix in listing
    assert detail.status_code == 200
    for page in (listing, detail.content.decode()):
        assert token.key_hash not in page
        assert key not in page
    assert client.get("/admin/portfolio/apitoken/add/").status_code == 403
