"""The API's rate limits: requests per signed-in user, and failed token sign-ins per client.

Both count over a sliding window and answer 429 with ``Retry-After`` in the one error
shape; a refused request is not counted. Their rates are
``REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"]`` (``API_USER_RATE`` and
``API_TOKEN_FAILURE_RATE``), read when a request is counted. The client's address is
``REMOTE_ADDR``, or the address the ``PROXY_COUNT``-th proxy saw (DRF's ``NUM_PROXIES``):
an ``X-Forwarded-For`` a client writes itself is never trusted.

Where the counts live: with ``REDIS_URL``, in Redis, shared by every process: a list of
the counted requests' times per key, newest first, checked and counted by one script
(``_WINDOW_SCRIPT``): one round trip, and atomic, so requests arriving together never
pass the rate between them. Without it, in each process's local memory (DRF's cache
read and write, under a lock).
"""

from __future__ import annotations

import math
import threading

from django.core.cache import caches
from rest_framework import throttling
from rest_framework.exceptions import Throttled
from rest_framework.settings import api_settings

from portfolio.cache import RedisCache

# What a hit does: only look (a sign-in that may still fail), count it if the window has
# room (a request), or count it whatever the window holds (a failure that happened).
CHECK, TAKE, ADD = "check", "take", "add"

# KEYS[1]: the window's list, newest first. ARGV: now, duration (s), limit, mode.
# Drops the times that left the window (from the oldest end); when the window is full
# (and mode is not "add") answers the time of the ``limit``-th newest request — the one
# whose leaving frees a place — as text; otherwise, unless mode is "check", pushes ``now``
# and answers nil. A key of another type (the pickled list of before) starts afresh.
_WINDOW_SCRIPT = """
local key = KEYS[1]
local now, duration, limit = tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3])
local kind = redis.call('TYPE', key)['ok']
if kind ~= 'list' and kind ~= 'none' then redis.call('DEL', key) end
local oldest = redis.call('LINDEX', key, -1)
while oldest and tonumber(oldest) <= now - duration do
  redis.call('RPOP', key)
  oldest = redis.call('LINDEX', key, -1)
end
if ARGV[4] ~= 'add' and redis.call('LLEN', key) >= limit then
  return redis.call('LINDEX', key, limit - 1)
end
if ARGV[4] ~= 'check' then
  redis.call('LPUSH', key, ARGV[1])
  redis.call('EXPIRE', key, math.ceil(duration))
end
return false
"""
_scripts = {}  # one registered script per Redis client (its SHA is loaded on first use)
_local_lock = threading.Lock()  # the local-memory windows' check-and-count, per process


class _Window:
    """A sliding-window throttle whose rate is read from the settings on every request
    (DRF reads it once, at import) and whose wait is exact, in whole seconds."""

    def get_rate(self):
        return api_settings.DEFAULT_THROTTLE_RATES[self.scope]

    def _hit(self, mode: str) -> bool:
        """Applies ``mode`` to the window of ``self.key`` at ``self.timer()``; whether the
        window had room. When it had none, ``wait()`` says for how long."""
        self.now = self.timer()
        cache = caches["default"]
        if isinstance(cache, RedisCache):
            client = cache.redis()
            script = _scripts.get(client)
            if script is None:
                script = _scripts[client] = client.register_script(_WINDOW_SCRIPT)
            oldest = script(keys=[cache.make_key(self.key)],
                            args=[repr(self.now), self.duration, self.num_requests, mode])
        else:
            oldest = self._hit_locally(cache, mode)
        self.oldest_counted = None if oldest is None else float(oldest)
        return self.oldest_counted is None

    def _hit_locally(self, cache, mode: str) -> float | None:
        """``_WINDOW_SCRIPT`` on a list in a cache of this process."""
        with _local_lock:
            history = cache.get(self.key, [])
            while history and history[-1] <= self.now - self.duration:
                history.pop()
            if mode != ADD and len(history) >= self.num_requests:
                return history[self.num_requests - 1]
            if mode != CHECK:
                history.insert(0, self.now)
                cache.set(self.key, history, self.duration)
            return None

    def wait(self) -> int:
        """Seconds until the oldest request that still fills the window leaves it."""
        if self.oldest_counted is None:
            return 0
        return max(1, math.ceil(self.duration - (self.now - self.oldest_counted)))


class UserRateThrottle(_Window, throttling.UserRateThrottle):
    """Every API request of a signed-in user, by user (``API_USER_RATE``)."""

    scope = "user"

    def allow_request(self, request, view) -> bool:
        self.key = self.get_cache_key(request, view)
        return self._hit(TAKE)


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

    def refuse_if_exceeded(self) -> None:
        if not self._hit(CHECK):
            raise Throttled(wait=self.wait())

    def record_failure(self) -> None:
        self._hit(ADD)
