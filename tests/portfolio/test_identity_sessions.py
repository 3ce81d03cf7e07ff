"""Session timeouts (issue 21): a session ends ``SESSION_IDLE_MINUTES`` after its last request
and ``SESSION_MAX_HOURS`` after sign-in, whichever comes first; the person finds out why on
the login page, and the account record says so. API tokens have no session to time out.

The clock is time-machine's (``frozen_clock``), moved between requests.
"""

from datetime import timedelta

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from portfolio.identity.backends import OIDC_BACKEND, PASSWORD_BACKEND
from portfolio.identity.models import AccountEvent
from portfolio.identity.sessions import SEEN_AT, SIGNED_IN_AT
from portfolio.tokens import api_token_create
from tests.factories import FIXED_NOW, UserFactory

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("frozen_clock")]

PAGE = "/initiatives/"
API = "/api/v1/initiatives/"
IDLE_MINUTES = 30
MAX_HOURS = 2
IDLE_MESSAGE = "You were signed out after 30 minutes without activity."
TOO_OLD_MESSAGE = "Your session reached its 2-hour limit."


@pytest.fixture(autouse=True)
def timeouts(settings):
    settings.SESSION_IDLE_MINUTES = IDLE_MINUTES
    settings.SESSION_MAX_HOURS = MAX_HOURS


@pytest.fixture
def user(db):
    return UserFactory(username="busy-pm", roles=["pm"])


def signed_in(user, backend=PASSWORD_BACKEND) -> Client:
    client = Client()
    client.force_login(user, backend=backend)
    return client


def expiries(user):
    return list(AccountEvent.objects.filter(user=user, kind="session_expired")
                .values_list("reason", "at"))


def assert_sent_to_sign_in(response):
    assert response.status_code == 302
    assert response["Location"] == f"/login/?next={PAGE}"


@pytest.mark.parametrize("backend", [PASSWORD_BACKEND, OIDC_BACKEND],
                         ids=["password-session", "sso-session"])
def test_an_idle_session_is_signed_out_on_its_next_request(user, frozen_clock, backend):
    client = signed_in(user, backend)
    assert client.get(PAGE).status_code == 200

    frozen_clock.shift(timedelta(minutes=IDLE_MINUTES, seconds=1))
    response = client.get(PAGE)

    assert_sent_to_sign_in(response)
    login_page = client.get(response["Location"])
    assert IDLE_MESSAGE in login_page.content.decode()
    ended_at = FIXED_NOW + timedelta(minutes=IDLE_MINUTES, seconds=1)
    assert expiries(user) == [("idle", ended_at)]
    assert not AccountEvent.objects.filter(user=user, kind="signed_out").exists()
    assert_sent_to_sign_in(client.get(PAGE))  # signed out for good, recorded once
    assert len(expiries(user)) == 1


def test_a_session_idle_exactly_the_allowed_time_is_still_signed_in(user, frozen_clock):
    client = signed_in(user)

    frozen_clock.shift(timedelta(minutes=IDLE_MINUTES))

    assert client.get(PAGE).status_code == 200


def test_activity_within_the_idle_window_keeps_the_session_alive(user, frozen_clock):
    client = signed_in(user)

    for _ in range(3):  # 87 minutes in all, never 30 without a request
        frozen_clock.shift(timedelta(minutes=IDLE_MINUTES - 1))
        assert client.get(PAGE).status_code == 200

    assert expiries(user) == []


def test_an_active_session_ends_when_it_reaches_its_maximum_age(user, frozen_clock):
    client = signed_in(user)
    step = timedelta(minutes=20)
    for _ in range(MAX_HOURS * 3):  # a request every 20 minutes, up to the limit
        frozen_clock.shift(step)
        assert client.get(PAGE).status_code == 200

    frozen_clock.shift(timedelta(seconds=1))
    response = client.get(PAGE)

    assert_sent_to_sign_in(response)
    assert TOO_OLD_MESSAGE in client.get(response["Location"]).content.decode()
    assert expiries(user) == [("absolute", FIXED_NOW + timedelta(hours=MAX_HOURS, seconds=1))]


def test_signing_in_again_starts_a_new_session_clock(user, frozen_clock):
    client = signed_in(user)
    frozen_clock.shift(timedelta(hours=1, minutes=50))
    client.force_login(user, backend=PASSWORD_BACKEND)

    frozen_clock.shift(timedelta(minutes=20))  # 2 h 10 after the first sign-in

    assert client.get(PAGE).status_code == 200


def test_a_session_from_before_timeouts_starts_counting_at_its_next_request(user, frozen_clock):
    client = signed_in(user)
    session = client.session
    del session[SIGNED_IN_AT], session[SEEN_AT]
    session.save()
    frozen_clock.shift(timedelta(hours=MAX_HOURS + 1))  # what it was before is unknown

    assert client.get(PAGE).status_code == 200
    assert client.session[SIGNED_IN_AT] == client.session[SEEN_AT] == (
        FIXED_NOW + timedelta(hours=MAX_HOURS + 1)).timestamp()

    frozen_clock.shift(timedelta(minutes=IDLE_MINUTES, seconds=1))
    assert_sent_to_sign_in(client.get(PAGE))


def session_updates(queries) -> int:
    return sum(query["sql"].startswith('UPDATE "django_session"') for query in queries)


def test_the_session_is_rewritten_at_most_once_a_minute(user, frozen_clock):
    client = signed_in(user)

    with CaptureQueriesContext(connection) as within_the_minute:
        for _ in range(5):  # at 10, 20, ... 50 seconds
            frozen_clock.shift(timedelta(seconds=10))
            assert client.get(PAGE).status_code == 200
    assert session_updates(within_the_minute.captured_queries) == 0
    assert client.session[SEEN_AT] == FIXED_NOW.timestamp()

    frozen_clock.shift(timedelta(seconds=10))  # a minute after sign-in
    with CaptureQueriesContext(connection) as a_minute_on:
        assert client.get(PAGE).status_code == 200
        frozen_clock.shift(timedelta(seconds=30))
        assert client.get(PAGE).status_code == 200
    assert session_updates(a_minute_on.captured_queries) == 1
    assert client.session[SEEN_AT] == (FIXED_NOW + timedelta(minutes=1)).timestamp()


def test_api_requests_with_a_token_are_not_timed_out(user, frozen_clock):
    _token, key = api_token_create(user=user, name="nightly export", now=FIXED_NOW)
    api = Client(HTTP_AUTHORIZATION=f"Bearer {key}")

    for _ in range(3):  # hours apart: longer than both limits
        assert api.get(API).status_code == 200
        frozen_clock.shift(timedelta(hours=MAX_HOURS + 1))

    assert api.get(API).status_code == 200
    assert expiries(user) == []
