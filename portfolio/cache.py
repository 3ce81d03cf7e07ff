"""Django's Redis cache backend, with one Redis client per connection pool.

Django's ``RedisCacheClient.get_client`` builds a new ``redis.Redis`` for every call, and
each builds its table of some 170 response callbacks: about a third of a millisecond on
every request that reads and writes the cache. A ``redis.Redis`` holds no connection of
its own — it borrows one from the pool per command — and is safe to share between
threads, so one per pool serves every call.

``RedisCache.redis()`` hands that shared client to code that needs a command Django's
cache API lacks (the API's rate limits run a script: ``portfolio/api/throttling.py``).
"""

from __future__ import annotations

import redis
from django.core.cache.backends.redis import RedisCache as DjangoRedisCache
from django.core.cache.backends.redis import RedisCacheClient


class _Client(RedisCacheClient):
    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self._clients = {}

    def get_client(self, key=None, *, write=False):
        pool = self._get_connection_pool(write)
        client = self._clients.get(pool)
        if client is None:
            client = self._clients[pool] = self._client(connection_pool=pool)
        return client


class RedisCache(DjangoRedisCache):
    def __init__(self, server, params):
        super().__init__(server, params)
        self._class = _Client

    def redis(self) -> redis.Redis:
        """The shared client of the primary (the first ``LOCATION``), where writes go.
        Keys written through it bypass Django's: name them with ``make_key``
        so the cache's prefix and version apply (and ``delete`` finds them)."""
        return self._cache.get_client(write=True)
