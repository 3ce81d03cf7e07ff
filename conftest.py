"""Root pytest configuration: real services, real Chromium, shared personas.

Outside CI a test that needs a service this machine lacks is skipped with the
reason; with CI=true it fails instead, so CI can never pass by skipping.
"""

import os
import shutil

import pytest

# Playwright drives Chromium from the test thread while live_server runs Django
# in another; Django's async-safety guard would otherwise refuse ORM calls.
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")

# The loopback OpenID provider's fixtures (``sso``) for the sign-in tests.
pytest_plugins = ["tests.oidc.loopback"]

IN_CI = os.environ.get("CI", "").lower() in {"1", "true", "yes"}
CHROMIUM = os.environ.get("CHROMIUM_PATH") or shutil.which("chromium") or "/usr/bin/chromium"


def require(condition: bool, reason: str) -> None:
    """Skip locally, fail in CI, when a real service a test needs is missing."""
    if condition:
        return
    if IN_CI:
        pytest.fail(f"{reason} (CI must run this test, not skip it)", pytrace=False)
    pytest.skip(reason)


def require_postgresql(reason: str) -> None:
    """A test of PostgreSQL's own behaviour (row locks, writers that really race, its query
    plans). A run on SQLite by choice (``DATABASE_URL=sqlite:///...``) skips it, in CI too:
    there the backend is what the run tests, not a missing service. Without any
    ``DATABASE_URL`` the embedded default is a fallback, so CI fails as for any service."""
    from django.db import connection

    if connection.vendor == "postgresql":
        return
    if os.environ.get("DATABASE_URL", "").startswith("sqlite"):
        pytest.skip(f"{reason} (this run is on SQLite by choice)")
    require(False, reason)


@pytest.fixture(scope="session")
def browser_type_launch_args(browser_type_launch_args):
    require(os.path.exists(CHROMIUM), f"Chromium not found at {CHROMIUM}")
    return {
        **browser_type_launch_args,
        "executable_path": CHROMIUM,
        "args": [
            "--no-sandbox", "--disable-gpu", "--disable-background-networking",
            "--disable-component-update", "--disable-sync", "--no-first-run", "--disable-quic",
        ],
    }


@pytest.fixture(scope="session")
def redis_url():
    from django.conf import settings

    require(bool(settings.REDIS_URL), "REDIS_URL is not set: no Redis to test against")
    return settings.REDIS_URL
