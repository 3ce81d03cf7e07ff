"""The demo portfolio for the tests that need it (``demo_portfolio`` in tests/conftest.py):
seeded by ``seed_demo`` once per test process, then put back before every later test from
a copy of its rows.

``seed_demo`` goes through the services (tens of thousands of statements, ~20 s); a test
that needs the demo runs on a transactional database, which is emptied after it. So the
first such test in a process seeds, and its rows — every table the test runner empties,
including the ones the database's triggers keep — are copied out (``COPY … TO STDOUT``,
binary) before the test starts; each later test empties those tables and copies the rows
back in with the triggers off (``session_replication_role = replica``: the rows copied
already hold what the triggers wrote). Sequences only grow, so new rows never reuse an
id. This process's cache keys are dropped too, since ids repeat from test to test.

On SQLite (a bare checkout without PostgreSQL) every test seeds.
"""

from __future__ import annotations

from django.core.cache import caches
from django.core.cache.backends.redis import RedisCache
from django.core.management import call_command
from django.db import connection

_copied: dict[str, bytes] | None = None


def load_demo() -> None:
    global _copied
    if connection.vendor != "postgresql" or not _may_skip_triggers():
        call_command("seed_demo", verbosity=0)
        return
    if _copied is None:
        call_command("seed_demo", verbosity=0)
        _copied = _copy_out()
        return
    _drop_cached()
    _copy_in(_copied)


def _tables() -> list[str]:
    return sorted(connection.introspection.django_table_names(only_existing=True,
                                                              include_views=False))


def _may_skip_triggers() -> bool:
    with connection.cursor() as cursor:
        cursor.execute("SELECT rolsuper FROM pg_roles WHERE rolname = current_user")
        return bool(cursor.fetchone()[0])


def _copy_out() -> dict[str, bytes]:
    copied = {}
    with connection.cursor() as cursor:
        for table in _tables():
            data = bytearray()
            with cursor.cursor.copy(f'COPY "{table}" TO STDOUT (FORMAT BINARY)') as copy:
                for chunk in copy:
                    data += chunk
            copied[table] = bytes(data)
    return copied


def _copy_in(copied: dict[str, bytes]) -> None:
    with connection.cursor() as cursor:
        cursor.execute("BEGIN")
        try:
            cursor.execute("SET LOCAL session_replication_role = replica")
            cursor.execute("TRUNCATE " + ", ".join(f'"{table}"' for table in copied))
            for table, data in copied.items():
                with cursor.cursor.copy(f'COPY "{table}" FROM STDIN (FORMAT BINARY)') as copy:
                    copy.write(data)
            cursor.execute("COMMIT")
        except BaseException:
            cursor.execute("ROLLBACK")
            raise


def _drop_cached() -> None:
    """This process's cache keys: Redis keys under this process's prefix (tests/settings.py
    gives each pytest-xdist worker its own), not ``cache.clear()``, which would empty the
    other workers' too; the in-memory cache is this process's alone."""
    cache = caches["default"]
    if not isinstance(cache, RedisCache):
        cache.clear()
        return
    client = cache._cache.get_client(write=True)
    keys = list(client.scan_iter(match=f"{cache.key_prefix}:*", count=1000))
    if keys:
        client.delete(*keys)
