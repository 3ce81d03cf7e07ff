"""The API's rate limits: failed token sign-ins per client address, and requests per user.
Past a limit the answer is 429 with ``Retry-After``, in the one error shape, until the
window moves on. Rates are small here (the suite's own are generous, tests/settings.py);
the clock is moved with time-machine, never waited for."""

from datetime import timedelta

import pytest
from django.core.cache import cache, caches
from django.test import RequestFactory
from drf_spectacular.generators import SchemaGenerator
from rest_framework.exceptions import Throttled
from rest_framework.request import Request

from portfolio.api.throttling import TokenFailureThrottle, UserRateThrottle
from portfolio.cache import RedisCache
from portfolio.config import ConfigError, Env
from portfolio.tokens import api_token_create
from tests.clients import client_for
from tests.factories import FIXED_NOW, UserFactory
from tests.threads import in_threads

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("frozen_clock")]

NOW = FIXED_NOW
LIST = "/api/v1/initiatives/"
ADDRESS, OTHER_ADDRESS = "203.0.113.7", "203.0.113.8"
BAD_KEY = "Bearer pt_not-a-real-key"


@pytest.fixture
def rates(settings):
    """Small limits; returns a function clearing what earlier runs counted for idents."""
    settings.REST_FRAMEWORK = {**settings.REST_FRAMEWORK,
                               "DEFAULT_THROTTLE_RATES": {"user": "5/minute",
                                                          "token_failure": "3/minute"}}

    def forget(*, addresses=(), users=()):
        cache.delete_many([f"throttle_token_failure_{address}" for address in addresses]
                          + [f"throttle_user_{user.pk}" for user in users])
    return forget


def _get(authorization=None, *, address=ADDRESS, user=None, **headers):
    client = client_for(user, REMOTE_ADDR=address)
    if authorization:
        headers["HTTP_AUTHORIZATION"] = authorization
    return client.get(LIST, **headers)


def _assert_throttled(response, retry_after: int):
    assert response.status_code == 429
    assert response["Retry-After"] == str(retry_after)
    assert response.json()["code"] == "throttled"
    assert str(retry_after) in response.json()["message"]


def test_failed_token_sign_ins_are_throttled_per_address(rates, pm, frozen_clock):
    # pm's requests count against pm too; on SQLite its id was someone else's in an earlier
    # test at the same frozen moment.
    rates(addresses=[ADDRESS, OTHER_ADDRESS], users=[pm])
    key = api_token_create(user=pm, name="script", now=NOW)[1]

    failed = [_get(BAD_KEY).status_code for _ in range(3)]
    frozen_clock.shift(timedelta(seconds=20))
    guessed_again = _get(BAD_KEY)
    right_key_meanwhile = _get(f"Bearer {key}")
    elsewhere = _get(BAD_KEY, address=OTHER_ADDRESS)

    assert failed == [401, 401, 401]
    _assert_throttled(guessed_again, retry_after=40)
    _assert_throttled(right_key_meanwhile, retry_after=40)  # no guessing past the limit
    assert elsewhere.status_code == 401

    frozen_clock.shift(timedelta(seconds=40))
    assert _get(f"Bearer {key}").status_code == 200
    assert _get(BAD_KEY).status_code == 401


def test_a_right_token_and_a_session_are_not_counted_as_failures(rates, pm):
    viewers = [UserFactory(username=f"viewer-{n}", roles=["leadership"]) for n in range(4)]
    # Ids repeat across tests on SQLite: forget what an earlier test counted for them.
    rates(addresses=[ADDRESS], users=[pm, *viewers])
    key = api_token_create(user=pm, name="script", now=NOW)[1]

    signed_in = [_get(f"Bearer {key}").status_code for _ in range(4)]
    sessions = [_get(user=viewer).status_code for viewer in viewers]

    assert signed_in == [200] * 4
    assert sessions == [200] * 4
    assert _get(BAD_KEY).status_code == 401


@pytest.mark.parametrize(("proxies", "forwarded_for", "counted_as"), [
    # No proxy in front: what a client writes in X-Forwarded-For is not believed.
    (0, "198.51.100.1", ADDRESS),
    # One proxy: the address it saw, the last one it appended.
    (1, "192.0.2.99, 198.51.100.1", "198.51.100.1"),
])
def test_the_address_counted_is_the_one_the_trusted_proxy_saw(rates, settings, proxies,
                                                               forwarded_for, counted_as):
    settings.REST_FRAMEWORK = {**settings.REST_FRAMEWORK, "NUM_PROXIES": proxies}
    rates(addresses=[ADDRESS, "198.51.100.1", "192.0.2.99", "192.0.2.1"])

    for _ in range(3):
        assert _get(BAD_KEY, HTTP_X_FORWARDED_FOR=forwarded_for).status_code == 401
    spoofed = _get(BAD_KEY, HTTP_X_FORWARDED_FOR="192.0.2.99")
    direct = _get(BAD_KEY, address="192.0.2.1")
    from_the_counted_address = _get(BAD_KEY, address=counted_as)

    # Behind no proxy, another X-Forwarded-For does not escape the count.
    assert spoofed.status_code == (429 if proxies == 0 else 401)
    assert direct.status_code == 401
    _assert_throttled(from_the_counted_address, retry_after=60)


def test_each_user_has_a_rate_for_the_api(rates, pm, leader, frozen_clock):
    rates(users=[pm, leader])

    allowed = [_get(user=pm).status_code for _ in range(5)]
    frozen_clock.shift(timedelta(seconds=15))
    over = _get(user=pm)
    other_user = _get(user=leader)

    assert allowed == [200] * 5
    _assert_throttled(over, retry_after=45)
    assert other_user.status_code == 200

    frozen_clock.shift(timedelta(seconds=45))
    assert _get(user=pm).status_code == 200


def test_a_refused_request_is_not_counted(rates, pm, frozen_clock):
    rates(users=[pm])

    allowed = [_get(user=pm).status_code for _ in range(5)]
    frozen_clock.shift(timedelta(seconds=30))
    refused = [_get(user=pm) for _ in range(3)]
    frozen_clock.shift(timedelta(seconds=30))  # the first five leave the window
    again = [_get(user=pm).status_code for _ in range(5)]
    over = _get(user=pm)

    assert allowed == again == [200] * 5
    for response in refused:
        _assert_throttled(response, retry_after=30)
    _assert_throttled(over, retry_after=60)


def _api_request(user) -> Request:
    request = Request(RequestFactory().get(LIST, REMOTE_ADDR=ADDRESS))
    request.user = user
    return request


def test_requests_arriving_together_never_pass_the_rate(rates, pm):
    """The check and the count are one step (in Redis, one script): of 40 requests at
    once, exactly the rate's 5 pass, however they interleave."""
    rates(users=[pm])
    request = _api_request(pm)

    passed = in_threads(lambda: UserRateThrottle().allow_request(request, None), 40)

    assert passed.count(True) == 5
    assert not UserRateThrottle().allow_request(request, None)


def test_failures_arriving_together_are_all_counted(rates):
    rates(addresses=[ADDRESS])
    request = _api_request(None)

    in_threads(lambda: TokenFailureThrottle(request).record_failure(), 3)

    with pytest.raises(Throttled) as refused:
        TokenFailureThrottle(request).refuse_if_exceeded()
    assert refused.value.wait == 60


@pytest.mark.skipif(not isinstance(caches["default"], RedisCache), reason="Redis only")
def test_a_count_of_the_previous_format_is_started_afresh(rates, pm):
    # Before the script, a window was a pickled list of times under the same key.
    rates(users=[pm])
    cache.set(f"throttle_user_{pm.pk}", [FIXED_NOW.timestamp()] * 5, 60)

    assert [_get(user=pm).status_code for _ in range(6)] == [200] * 5 + [429]


@pytest.mark.parametrize(("value", "rate"), [
    ("120/minute", "120/minute"), (" 5 / second ", "5/second"), ("", "600/minute")])
def test_a_rate_is_read_from_the_environment(value, rate):
    assert Env({"API_USER_RATE": value}).rate("API_USER_RATE", default="600/minute") == rate


@pytest.mark.parametrize("value", ["0/minute", "ten/minute", "10/fortnight", "10", "²/hour",
                                   "-1/day", "10/minute/2"])
def test_a_malformed_rate_stops_start_up_naming_the_variable(value):
    with pytest.raises(ConfigError, match="API_TOKEN_FAILURE_RATE"):
        Env({"API_TOKEN_FAILURE_RATE": value}).rate("API_TOKEN_FAILURE_RATE",
                                                     default="10/minute")


def test_the_schema_documents_429_with_retry_after_on_every_operation():
    schema = SchemaGenerator().get_schema(request=None, public=True)
    operations = [operation for path in schema["paths"].values() for operation in path.values()]

    assert len(operations) >= 24
    for operation in operations:
        assert "Retry-After" in operation["responses"]["429"]["headers"]
