"""Test configuration: the production settings module, plus test-only speed-ups.

Environment defaults are set before the settings module reads them, so that
``pytest`` works on a bare checkout; CI exports DATABASE_URL and REDIS_URL.
"""

import os

os.environ.setdefault("SECRET_KEY", "test-only-secret-key-not-for-production-0123456789")
os.environ.setdefault("HTTPS", "false")  # live_server and the test client speak plain HTTP
# Each test run keeps its own embedded state (SQLite file, broker folders, mail).
os.environ.setdefault(
    "VAR_DIR", os.path.abspath(os.path.join(os.path.dirname(__file__), "..", "var", "test"))
)

from portfolio.settings import *  # noqa: E402,F403

PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
STORAGES = {
    **STORAGES,  # noqa: F405
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}
# Lockout tests set their own limits; the rest of the suite signs in freely.
AXES_ENABLED = True
# The API's rate limits, at rates no test reaches (the suite, the fuzzer and the generated
# client make many calls as one user from one address); the throttling tests set small ones.
REST_FRAMEWORK = {  # noqa: F405
    **REST_FRAMEWORK,  # noqa: F405
    "DEFAULT_THROTTLE_RATES": {"user": "100000/minute", "token_failure": "100000/minute"},
}

if DATABASES["default"]["ENGINE"].endswith("sqlite3"):  # noqa: F405
    # A file, not memory: live_server threads, the Celery worker thread and the
    # database-outage test all need real connections that can close and reopen.
    # One file per run, so two runs at once (a developer and a helper) never share it;
    # the test database is deleted when the run ends.
    DATABASES["default"]["TEST"] = {  # noqa: F405
        "NAME": str(VAR_DIR / f"test-db-{os.getpid()}.sqlite3"),  # noqa: F405
    }

# Under pytest-xdist the workers share one Redis: each keeps its cache keys (the standings'
# "refresh queued" mark, the API's throttle counts) under its own prefix, so one worker's
# test never sees another's.
CACHES["default"]["KEY_PREFIX"] = os.environ.get("PYTEST_XDIST_WORKER", "")  # noqa: F405
