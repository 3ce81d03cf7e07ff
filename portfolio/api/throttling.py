"""The API's rate limits: requests per signed-in user, and failed token sign-ins per client.

Both count in Django's default cache (Redis when ``REDIS_URL`` is set, shared by every
process; otherwise each process's local memory), over a sliding window, and answer 429
with ``Retry-After`` in the one error shape. Their rates are
``REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"]`` (``API_USER_RATE`` and
``API_TOKEN_FAILURE_RATE``), read when a request is counted. The client's address is
``REMOTE_ADDR``, or the address the ``PROXY_COUNT``-th proxy saw (DRF's ``NUM_PROXIES``):
an ``X-Forwarded-For`` a client writes itself is never trusted.
"""

from __future__ import annotations

import math

from rest_framework import throttling
from rest_framework.exceptions import Throttled
from rest_framework.settings import api_settings


class _Window:
    """A sliding-window throttle whose rate is read from the settings on every request
    (DRF reads it once, at import) and whose wait is exact, in whole seconds."""

    def get_rate(self):
        return api_settings.DEFAULT_THROTTLE_RATES[self.scope]

    def wait(self) -> int:
        """Seconds until the oldest request that still fills the window leaves it."""
        if len(self.history) < self.num_requests:
            return 0
        oldest_counted = self.history[self.num_requests - 1]
        return max(1, math.ceil(self.duration - (self.now - oldest_counted)))


class UserRateThrottle(_Window, throttling.UserRateThrottle):
    """Every API request of a signed-in user, by user (``API_USER_RATE``)."""

    scope = "user"


class TokenFailureThrottle(_Window, throttling.SimpleRateThrottle):
    """Failed token authentications, by client address (``API_TOKEN_FAILURE_RATE``).

    Only failures count. Once an address has failed as often as the rate allows, every
    token it sends — a right one too — is refused with 429 until the oldest failure
    leaves the window, so keys cannot be guessed faster than the rate.
    """

    scope = "token_failure"

    def __init__(self, request):
        super().__init__()
        self.key = self.cache_format % {"scope": self.scope, "ident": self.get_ident(request)}

    def _load(self) -> None:
        self.history = self.cache.get(self.key, [])
        self.now = self.timer()
        while self.history and self.history[-1] <= self.now - self.duration:
            self.history.pop()

    def refuse_if_exceeded(self) -> None:
        self._load()
        if len(self.history) >= self.num_requests:
            raise Throttled(wait=self.wait())

    def record_failure(self) -> None:
        self._load()
        self.throttle_success()  # DRF's name for "count this one"
